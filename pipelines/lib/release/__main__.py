"""`python -m pipelines.lib.release withdraw VERSION --reason "..."`: withdraw a published release.

The release stays on disk and in releases.json, marked withdrawn with the reason; the server
answers 410 Gone for its files; `latest` moves to the newest release not withdrawn.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from pipelines.lib.release.versioning import withdraw
from pipelines.settings import TIMEZONE, open_data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.lib.release")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("withdraw", help="mark a release withdrawn and move latest off it")
    command.add_argument("version")
    command.add_argument("--reason", required=True, help="shown to users, e.g. 'wrong figures for 000.00.00.H01'")
    args = parser.parse_args(argv)
    now = datetime.now(TIMEZONE).isoformat(timespec="seconds")
    current = withdraw(open_data_dir(), args.version, args.reason, now)
    print(f"release {args.version} withdrawn; latest is now {current or 'nothing (no release left)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
