"""``create_app(settings)``: the reference server of the standard as a FastAPI application."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .api import State, routes
from .auth import Principal, TokenRegistry, load_tokens
from .demo import demo_tokens, seed
from .errors import install_handlers
from .http import json_response
from .openapi import bundled
from .service import Service
from .settings import Settings
from .storage import Store

__all__ = ["SETTINGS_ENV", "app_from_env", "create_app", "principals_for"]

#: environment variable carrying the settings (JSON) to worker processes
SETTINGS_ENV = "SMARTCOMMUNITY_SERVER_SETTINGS"


def principals_for(settings: Settings) -> dict[str, Principal]:
    """The tokens the server accepts: the tokens file and given tokens, else the demo's."""
    found: dict[str, Principal] = {}
    if settings.tokens_file is not None:
        found.update(load_tokens(Path(settings.tokens_file), settings.spec_version))
    if settings.tokens:
        found.update(load_tokens(settings.tokens, settings.spec_version))
    if not found or settings.demo:
        found = {**load_tokens(demo_tokens(), settings.spec_version), **found}
    return found


def create_app(settings: Settings) -> FastAPI:
    """The application over ``settings.database_url``; migrates (and seeds) the database."""
    store = Store(settings.database_url, **settings.engine_options)
    store.migrate()
    service = Service(settings, store)
    if settings.demo:
        seed(service)
    tokens = TokenRegistry(principals_for(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.dispose()

    spec = service.spec
    app = FastAPI(
        title=str(spec.openapi["info"]["title"]), version=str(spec.openapi["info"]["version"]),
        openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # only the paths of the OpenAPI are served
    app.state.sc = State(settings, service, tokens)
    install_handlers(app)
    # The API's routes take the Request and return a Response themselves, so they are served
    # as plain Starlette routes in one flat list: no dependency solving, no response models.
    app.router.routes.extend(routes(settings.spec_version))
    api_document = json.dumps(bundled(settings.spec_version), ensure_ascii=False).encode()

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json(request: Request) -> Response:
        return json_response(api_document)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title)

    # The spec, its compiled schemas and plans are ~100k long-lived objects; a full garbage
    # collection walking them paused requests for ~80 ms. Frozen, collections skip them.
    gc.collect()
    gc.freeze()
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers; the settings come as JSON in the environment (SETTINGS_ENV)."""
    raw = json.loads(os.environ.get(SETTINGS_ENV, "{}"))
    if raw.get("tokens_file"):
        raw["tokens_file"] = Path(raw["tokens_file"])
    if raw.get("pseudonym_key"):
        raw["pseudonym_key"] = raw["pseudonym_key"].encode()
    return create_app(Settings(**raw))
