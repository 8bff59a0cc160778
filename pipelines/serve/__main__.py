"""`python -m pipelines.serve` (`make serve`): the open-data server, loopback by default.

`python -m pipelines.serve docs` serves the engineers' docs (Data Docs, dbt docs) instead."""

from __future__ import annotations

import argparse

import uvicorn

from pipelines.serve.docs import DOCS_PORT, docs_app
from pipelines.serve.server import compressed, reads_only, run_config
from pipelines.settings import data_dir, open_data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.serve")
    parser.add_argument("what", nargs="?", choices=["open-data", "docs"], default="open-data")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=None, help=f"default 8000 (open data), {DOCS_PORT} (docs)")
    parser.add_argument("--root", default=None, help="the open-data directory (default: <data dir>/open)")
    args = parser.parse_args(argv)
    if args.what == "docs":
        port = args.port or DOCS_PORT
        config = uvicorn.Config(reads_only(compressed(docs_app(data_dir()))), host=args.host, port=port, server_header=False)
    else:
        port = args.port or 8000
        config = run_config(args.root or open_data_dir(), args.host, port)
    print(f"Serving {args.what} at http://{args.host}:{port}/ (Ctrl-C to stop)")
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
