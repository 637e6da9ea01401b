"""Run the gateway under uvicorn (``media-stream gateway``)."""

from __future__ import annotations

import logging

from media_stream.config import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str | None = None, port: int | None = None, bootstrap: str | None = None, log_level: str = "info") -> None:
    import uvicorn

    from media_stream.gateway.app import create_app
    from media_stream.kafka.connection import refuse_misconfigured_security

    refuse_misconfigured_security(settings, bootstrap)  # wrong credentials: one clear error at startup
    app = create_app(settings, bootstrap)
    host = host or settings.gateway.host
    port = settings.gateway.port if port is None else port
    if not settings.gateway.tokens:
        log.warning("gateway: no tokens configured (MEDIA_STREAM_GATEWAY__TOKENS): every /api route answers 401")
    log.info("gateway on http://%s:%d (%d tokens configured)", host, port, len(settings.gateway.tokens))
    # access_log off: uvicorn's access log prints request lines, never headers; kept off to be sure
    # nothing of an Authorization header can reach a log line.
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False, proxy_headers=True)
