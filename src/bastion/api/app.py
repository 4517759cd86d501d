"""The FastAPI application: ``create_app(settings)`` builds one server - its pipeline, store, key verifier,
routes (API under ``/v1``, the HMA subset under ``/h``, ``/m``, ``/c``, the review UI under ``/ui``) and the
middleware that limits body sizes and sets security headers.

One pipeline per app, guarded by a lock: detectors keep state (account windows, campaign clocks), so
verdicts are computed one batch at a time, exactly as a file scan would compute them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from bastion.api import errors
from bastion.api.batcher import Batcher
from bastion.api.keys import KeyVerifier
from bastion.api.security import BodyLimit, SecurityHeaders
from bastion.api.state import ApiConfig, AppState, utc_now
from bastion.pipeline.runtime import Pipeline
from bastion.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """Bastion's API: ingest with synchronous verdicts, decisions, review queues and jobs, appeals,
security cases, media hash look-up (HMA-compatible subset), trends, audit export and transparency.

Every route needs `Authorization: Bearer <API key>`; the roles a route admits are listed in its
`x-bastion-roles`. Errors are `{"error": {"status", "code", "message", "details"?}}`."""


API_NETWORK_REFRESH_BATCHES = 32


def create_app(settings: Settings | None = None, *, config: ApiConfig | None = None,
               pipeline: Pipeline | None = None, detectors: list[str] | None = None,
               clock: Callable[[], datetime] = utc_now) -> FastAPI:
    settings = settings or Settings.load()
    config = config or ApiConfig.from_env()
    if pipeline is None:
        from bastion.pipeline.build import build_pipeline

        # verdict batches hold a post or two: re-propagate the account network every 32 of them (a fraction
        # of a second at load), not after each one; a suspension still re-propagates at once
        pipeline, detectors = build_pipeline(replace(settings, network_refresh_batches=API_NETWORK_REFRESH_BATCHES))
    engine = pipeline.store.engine
    pipeline.clock = clock
    state = AppState(settings=settings, config=config, engine=engine, pipeline=pipeline,
                     detectors=list(detectors or []), verifier=KeyVerifier(engine), clock=clock)
    state.batcher = Batcher(state.process)
    pipeline.restore_state()
    pipeline.store.start_run(state.stats.run_id, ["api"], clock())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.batcher.close()
        with state.lock:
            pipeline.save_state()
            pipeline.store.finish_run(state.stats.run_id, state.stats.to_json(), clock())

    app = FastAPI(title="Bastion", version=_version(), description=DESCRIPTION, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.bastion = state

    from bastion.api.routes import admin, hma, ingest, people, review, trends
    from bastion.ui import pages
    from bastion.ui import routes as ui

    errors.install(app, html=ui.error_page)
    ui.install_handlers(app)
    for module in (ingest, review, people, trends, hma, admin):
        app.include_router(module.router)
    app.include_router(ui.router)
    app.include_router(pages.router)
    app.mount("/ui/static", StaticFiles(packages=[("bastion.ui", "static")]), name="ui-static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        import resource

        b = state.batcher
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {"ok": True, "detectors": state.detectors, "batches": b.batches, "requests": b.items,
                "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                "stage_seconds": {k: round(v, 3) for k, v in state.stats.stage_seconds.items()},
                "posts": state.stats.posts}

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    from bastion.api.fastpath import VerdictFastPath

    app.add_middleware(VerdictFastPath, state=state)  # innermost: inside the size limit and the headers
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_body=config.max_body_bytes, max_upload=config.max_upload_bytes)
    return app


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("bastion")
    except Exception:
        return "0"
