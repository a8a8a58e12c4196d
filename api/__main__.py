"""``python -m api``: serve the HTTP API (the embedded default runs the workers in-process too)."""

from __future__ import annotations

from api.app import admin_token
from api.server import serve
from service.settings import get_settings

#: How long an idle keep-alive connection stays open, in seconds. Longer than the idle timeout
#: of common load balancers (60 s) and clients' pools: with uvicorn's 5 s default, a client
#: reusing a connection just as the server closed it gets "disconnected without a response".
KEEP_ALIVE_S = 75


def main() -> None:
    settings = get_settings()
    mode = "distributed" if settings.distributed else f"embedded (SQLite in {settings.data_dir}/)"
    print(f"agentq: {mode} API on http://{settings.host}:{settings.port}", flush=True)
    admin_token(settings)  # generated now if it is the first run
    # Where the operator token is, never the token: this output ends up in logs.
    where = "AGENTQ_ADMIN_TOKEN" if settings.admin_token else settings.data_dir / "admin_token"
    print(f"agentq: operator token in {where}", flush=True)
    serve(
        "api.app:create_app",
        settings,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
