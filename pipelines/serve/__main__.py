"""`python -m pipelines.serve` (`make serve`): the open-data download server, loopback by default."""

from __future__ import annotations

import argparse

from pipelines.serve.server import make_server
from pipelines.settings import open_data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", default=None, help="the open-data directory (default: <data dir>/open)")
    args = parser.parse_args(argv)
    server = make_server(args.root or open_data_dir(), args.host, args.port)
    print(f"Open data at http://{args.host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
