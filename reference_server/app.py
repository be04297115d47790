"""``create_app(settings)``: the reference server of the standard as a FastAPI application."""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from smartcommunity.profiles import load_profile

from .access_log import AccessLog
from .api import State, routes
from .auth import JwtVerifier, TokenFile, TokenRegistry, load_tokens
from .demo import demo_tokens, seed
from .errors import install_handlers
from .files import create_private, read_key_file, shared_file_warnings, sqlite_path
from .http import check_own_route, json_response
from .landing import API_DESCRIPTION, API_DOCUMENTATION, DOCUMENTATION_ASSETS, swagger_assets
from .open311 import open311_routes
from .openapi import bundled
from .public import PublicPages, public_routes
from .service import Service
from .settings import Settings
from .storage import Store

__all__ = ["SETTINGS_ENV", "app_from_env", "create_app", "tokens_for"]

log = logging.getLogger("reference_server")

#: environment variable carrying the settings (JSON) to worker processes; it never carries key
#: material, only the paths of the files holding it (/proc/<pid>/environ is easy to read)
SETTINGS_ENV = "SMARTCOMMUNITY_SERVER_SETTINGS"


def tokens_for(settings: Settings) -> TokenRegistry:
    """The tokens the server accepts: the tokens file, the JWT issuer and the given tokens; the
    demo's published tokens only when none of these is configured
    (/req/core/no-demo-credentials). Raises ValueError on a bad or weak tokens file."""
    version = settings.spec_version
    file = (TokenFile(Path(settings.tokens_file), version, settings.reload_every)
            if settings.tokens_file is not None else None)
    issuer = None
    if settings.jwks is not None:
        if not settings.jwt_issuer or not settings.jwt_audience:
            raise ValueError("a JWKS needs the issuer and the audience of its tokens")
        # A city profile maps its identity provider's claims to the standard's roles.
        mapping = load_profile(settings.profile).map_claims if settings.profile else None
        issuer = JwtVerifier(settings.jwks, settings.jwt_issuer, settings.jwt_audience, version,
                             settings.reload_every, mapping)
    given = load_tokens(settings.tokens, version) if settings.tokens else {}
    if file is None and issuer is None and not given:
        return TokenRegistry(load_tokens(demo_tokens(), version), demo=True)
    return TokenRegistry(given, file=file, issuer=issuer)


def create_app(settings: Settings) -> FastAPI:
    """The application over ``settings.database_url``; migrates (and seeds) the database."""
    database = sqlite_path(settings.database_url)
    if database is not None:
        create_private(database)  # before SQLite creates it (and its -wal, -shm) world-readable
    for warning in shared_file_warnings(settings.tokens_file, database):
        log.warning(warning)
    tokens = tokens_for(settings)
    store = Store(settings.database_url, **settings.engine_options)
    store.migrate()
    service = Service(settings, store)
    if settings.demo:
        seed(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.remembered_bytes > 0:
            # What this process remembers of a record goes when any process writes it, so
            # that no earlier text (an erased resident's, say) stays in its memory after it.
            store.watch_writes(service.access.presentations.forget)
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
    app.add_middleware(AccessLog)
    # The API's routes take the Request and return a Response themselves, so they are served
    # as plain Starlette routes in one flat list: no dependency solving, no response models.
    # The public pages (/conf/public-pages) and the API's description and documentation are
    # operations of the OpenAPI too, served by routes of their own.
    pages = public_routes()
    # The Open311 GeoReport v2 bridge (/conf/open311): operations of the OpenAPI marked
    # x-wire, whose wire is GeoReport's (form posts, .json and .xml answers), not the core's.
    bridge = open311_routes(settings.spec_version)
    elsewhere = {(r.path, m.lower()) for r in [*pages, *bridge] for m in r.methods or ()} | {
        (API_DESCRIPTION, "get"), (API_DOCUMENTATION, "get")}
    app.router.routes.extend(routes(settings.spec_version, elsewhere))
    # The public pages, read without a token (/conf/public-pages).
    app.state.public = PublicPages(service)
    app.state.public.warm()  # before the freeze below
    app.router.routes.extend(pages)
    app.router.routes.extend(bridge)
    api_document = json.dumps(bundled(settings.spec_version), ensure_ascii=False).encode()

    @app.get(API_DESCRIPTION, include_in_schema=False)
    async def openapi_json(request: Request) -> Response:
        check_own_route(request, API_DESCRIPTION)
        return json_response(api_document)

    @app.get(API_DOCUMENTATION, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        check_own_route(request, API_DOCUMENTATION)
        return get_swagger_ui_html(
            openapi_url=API_DESCRIPTION, title=app.title,
            swagger_js_url=f"{DOCUMENTATION_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCUMENTATION_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCUMENTATION_ASSETS}/favicon.png")

    app.mount(DOCUMENTATION_ASSETS, StaticFiles(directory=swagger_assets()), name="assets")

    # The spec, its compiled schemas and plans are ~100k long-lived objects; a full garbage
    # collection walking them paused requests for ~80 ms. Frozen, collections skip them.
    gc.collect()
    gc.freeze()
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers; the settings come as JSON in the environment (SETTINGS_ENV),
    key material as the path of its file (``pseudonym_key_file``; during a rotation
    ``older_pseudonym_key_files``, key id → path)."""
    raw = json.loads(os.environ.get(SETTINGS_ENV, "{}"))
    if raw.get("tokens_file"):
        raw["tokens_file"] = Path(raw["tokens_file"])
    if raw.get("profile"):
        raw["profile"] = Path(raw["profile"])
    key_file = raw.pop("pseudonym_key_file", None)
    if key_file:
        raw["pseudonym_key"] = read_key_file(Path(key_file))
    older = raw.pop("older_pseudonym_key_files", None) or {}
    raw["older_pseudonym_keys"] = {kid: read_key_file(Path(f)) for kid, f in older.items()}
    return create_app(Settings(**raw))
