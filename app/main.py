"""The ASGI application, built by a factory so tests and workers make their own."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.api import (
    account,
    admin,
    auth,
    health,
    imports,
    interviews,
    item_stats,
    marks,
    me,
    practice,
    questions,
    rounds,
    scheduler,
)
from app.api.deps import csrf_guard, fair_turn
from app.content.loader import Content, load_content
from app.db import code_heads, make_engine, migrate_under_lock, require_head
from app.errors import install_error_handlers
from app.fair_turns import FairTurns
from app.judge import client as judge_client
from app.judge.client import JudgeConfig
from app.limits import RequestLimits, RequestShapeLimits
from app.practice import scheduler_fits
from app.practice.scheduler_fits import FitPolicy
from app.rate_limits import Limits
from app.runtime.grader import WithJudge, grader_from_settings
from app.runtime.publishing import publish_at_start
from app.runtime.store import ContentStore
from app.runtime.sync import follow_forever
from app.settings import Settings, get_settings
from app.write_quotas import WriteQuotas

log = logging.getLogger("mianjing")


def create_app(settings: Settings | None = None, *, content: Content | None = None) -> FastAPI:
    """Build the app. Broken content raises ContentInvalid here, so the service refuses to start."""
    settings = settings or get_settings()
    content = content or load_content(settings.content_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # A reload or a warm-up runs beside the requests; hand the GIL over every 0.5 ms instead of 5 ms so
        # that requests wait behind it for less (measured in bench/bench_reload.py).
        sys.setswitchinterval(0.0005)
        # Plain-def routes run in anyio's thread pool; its default of 40 threads makes them queue for the GIL.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size
        # Every way of starting (uvicorn app.main:app, mianjing serve, a TestClient) brings the schema to
        # head first, under a lock so that workers starting together migrate once; MigrationFailed stops
        # the process (uvicorn exits non-zero) instead of serving 500s from missing tables.
        migrate = migrate_under_lock if settings.migrate_on_start else require_head
        await asyncio.to_thread(migrate, settings.database_url)
        # A first start publishes the folder; a later one serves it only if it is the published version (or
        # the folder is declared the truth); ContentNotPublished stops the process. Then follow publications.
        await asyncio.to_thread(publish_at_start, app.state.engine, app.state.store,
                                folder_is_truth=settings.publish_on_start)
        task = asyncio.create_task(follow_forever(
            app.state.engine, app.state.store, settings.content_dir,
            poll_s=settings.content_poll_s, backoff_max_s=settings.content_poll_backoff_max_s))
        # The write quotas' counts, shared with the other workers through the database (app/write_quotas.py).
        stop_sync = threading.Event()
        sync = threading.Thread(target=app.state.write_quotas.run_sync, name="write-quotas-sync", daemon=True,
                                args=(app.state.engine, lambda: app.state.clock(), stop_sync))
        sync.start()
        try:
            yield
        finally:
            task.cancel()
            stop_sync.set()
            await asyncio.to_thread(sync.join)

    app = FastAPI(
        lifespan=lifespan,
        dependencies=[Depends(csrf_guard), Depends(fair_turn, scope="function")],
        # The title names the package a client generator makes of /openapi.json (openapi-python-client:
        # mianjing-api-client, package mianjing_api_client), so it stays ASCII.
        title="Mianjing API",
        version="1",
        description="面经 (Mianjing): question banks, answer checking and timed mock interviews for DL/CV "
                    "algorithm interviews.",
        # An operation's id is its route's name (the endpoint function's, unless the route gives one), so
        # generated clients get get_question and start_interview, not get_question_api_v1_questions__...
        generate_unique_id_function=_operation_id,
        # /docs and /redoc load their assets from static/vendor/ (app/web/api_docs.py), never from a CDN.
        docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = ContentStore(content)
    app.state.engine = make_engine(settings.database_url)
    app.state.schema_heads = code_heads()  # what /readyz compares the database's revision with
    app.state.clock = lambda: datetime.now(UTC)
    app.state.limits = Limits.from_settings(settings)
    app.state.judge = JudgeConfig.from_settings(settings)  # the machine's code judge (started on first use)
    # open answers: built-in, or a model when configured; code items: the machine's judge beside it
    app.state.grader = WithJudge(grader_from_settings(settings), judge_client.scorer(app.state.judge, "submit"))
    app.state.write_quotas = WriteQuotas.from_settings(settings)
    # Reviews recorded through this engine may start a fit of the candidate's scheduler (in its own process).
    app.state.fit_policy = FitPolicy.from_settings(settings)
    scheduler_fits.configure(app.state.engine, app.state.fit_policy)
    app.state.fair_turns = FairTurns(settings.fair_turns)  # one per worker process, used on its event loop
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(questions.router)
    app.include_router(rounds.router)
    app.include_router(auth.router)
    app.include_router(interviews.router)
    app.include_router(admin.router)
    app.include_router(imports.router)
    app.include_router(item_stats.admin_router)
    app.include_router(item_stats.router)
    app.include_router(me.router)
    app.include_router(scheduler.router)
    app.include_router(account.router)
    app.include_router(marks.router)
    app.include_router(practice.router)
    app.mount("/static", StaticFiles(directory=_static_dir()), name="static")
    app.add_middleware(RequestShapeLimits, limits=RequestLimits.of(settings))
    # --- web pages and security headers (app/web) ---
    from app.web import account as account_pages
    from app.web import api_docs, content_assets
    from app.web import imports as import_pages
    from app.web import item_stats as item_stats_pages
    from app.web import marks as mark_pages
    from app.web import mistakes as mistake_pages
    from app.web import practice as practice_pages
    from app.web import routes as web_routes
    from app.web import scheduler as scheduler_pages
    from app.web.security import SecurityHeaders

    app.include_router(api_docs.router)
    app.include_router(web_routes.router)
    app.include_router(account_pages.router)
    app.include_router(practice_pages.router)
    app.include_router(mistake_pages.router)
    app.include_router(scheduler_pages.router)
    app.include_router(mark_pages.router)
    app.include_router(item_stats_pages.router)
    app.include_router(import_pages.router)
    app.include_router(content_assets.router)
    app.add_middleware(SecurityHeaders)
    # --- end web ---
    log.info("content %s: %s", content.version, content.counts())
    return app


def _operation_id(route: APIRoute) -> str:
    return route.name


def _static_dir() -> str:
    from pathlib import Path

    for candidate in (Path.cwd() / "static", Path(__file__).resolve().parent.parent / "static"):
        if candidate.is_dir():
            return str(candidate)
    raise FileNotFoundError("static/ not found")


def __getattr__(name: str) -> FastAPI:
    # `app.main:app` for uvicorn, built on first access so importing this module stays cheap in tests.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
