"""``smartcommunity serve`` (the reference server) and ``smartcommunity import`` (bulk load).

Both need the ``server`` extra; without it this module fails to import (or, when only part of
the extra is missing, a command fails to start) and the CLI says what to install.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

from ..exceptions import SpecError
from ..specification import Spec, load_spec
from ._common import (
    EXIT_INVALID,
    EXIT_OK,
    PROGRESS_BYTES,
    MissingExtra,
    UsageError,
    discover,
    profile_option,
    progress_bar,
    subcommand,
    usable_cpus,
)

DEFAULT_URL = "sqlite:///./smartcommunity.sqlite3"
#: inputs from this size on are prepared in worker processes: below it, starting them costs
#: more than they save
BULK_BYTES = 16 * 1024 * 1024
#: what these commands need installed (the distribution's server extra)
REQUIREMENT = "smartcommunity[server]"


def _server_importable() -> None:
    """Make ``reference_server`` importable from a source checkout.

    The wheel installs it next to ``smartcommunity``; an editable install only exposes
    ``src/``, so (as ``specification.spec_root`` does for ``spec/``) fall back to the checkout.
    """
    try:
        import reference_server  # noqa: F401
    except ImportError:
        checkout = Path(__file__).resolve().parents[3]
        if (checkout / "reference_server" / "__init__.py").is_file():
            sys.path.insert(0, str(checkout))


def add_serve(sub: Any) -> None:
    p = subcommand(
        sub, "serve", serve, help="run the reference server / 运行参考服务器",
        description="Run the reference server of the standard. With the demo (the default) an "
                    "empty database is seeded with the spec's examples on first start.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8311, help="port to listen on (8311)")
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help=f"sqlite:///FILE or postgresql+psycopg://… ({DEFAULT_URL})")
    p.add_argument("--tokens", metavar="FILE",
                   help="tokens file (schemas/meta/tokens-file.json); turns the demo tokens off")
    p.add_argument("--jwks", metavar="FILE|URL",
                   help="JWKS of the city's identity provider: accept the JWTs its keys sign "
                        "(turns the demo tokens off; needs --jwt-issuer and --jwt-audience)")
    p.add_argument("--jwt-issuer", metavar="ISS", help="the iss claim of the JWTs")
    p.add_argument("--jwt-audience", metavar="AUD", help="the aud claim of the JWTs (this server)")
    p.add_argument("--no-demo", action="store_true", help="do not seed the demo community")
    p.add_argument("--profile", metavar="FILE",
                   help="run this city profile: its catalogue, deadlines, codes and extensions "
                        "/ 按城市配置运行")
    p.add_argument("--no-access-log", action="store_true",
                   help="do not print a line per request (the log names no one either way)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    p.add_argument("--pseudonym-key-file", metavar="FILE",
                   help="file holding the city's shared key for citizen ID pseudonyms")
    p.add_argument("--remembered-mb", type=int, default=64, metavar="MB",
                   help="redacted records each process keeps to serve again unchanged "
                        "(64; 0: none)")

    i = subcommand(
        sub, "import", import_documents, help="load documents into a server database / 批量导入",
        description="Load JSON or NDJSON documents into the reference server's database, each "
                    "with a change event, as a migration does (documents keep their meta).",
    )
    i.add_argument("paths", nargs="+", metavar="FILE", help="JSON or NDJSON file, or folder")
    i.add_argument("--database-url", default=DEFAULT_URL, help=f"target database ({DEFAULT_URL})")
    i.add_argument("--ndjson", action="store_true", help="read every input as NDJSON")
    i.add_argument("--no-validate", action="store_true",
                   help="skip validation (only for documents validated before)")
    i.add_argument("--profile", metavar="FILE",
                   help="validate with the city profile the server runs: its codes, registry, "
                        "extensions and deadlines (an issue submitted before the profile's "
                        "publication date keeps the deadlines it records) / 按城市配置验证")
    i.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="processes that parse and validate documents (default: one per CPU "
                        "this process may use for inputs of 16 MB or more, else 1: in this "
                        "process)")
    i.add_argument("--one-by-one", action="store_true",
                   help="store each document in its own transaction (slow: the reference "
                        "the batched import gives the same rows and change feed as)")

    r = subcommand(
        sub, "retention", retention,
        help="clear what has outlived its retention period / 清除超过保存期限的信息",
        description="Run the retention sweep of /req/privacy/retention once over a server "
                    "database: closed records lose their personal members, residents who left "
                    "long ago are erased, old Idempotency-Keys and audit records go, each copy "
                    "included. Run it daily (cron, a systemd timer); it is idempotent.",
    )
    r.add_argument("--database-url", default=DEFAULT_URL, help=f"server database ({DEFAULT_URL})")
    r.add_argument("--periods", metavar="FILE",
                   help="JSON of shorter periods (the members of GET /conformance retention)")
    r.add_argument("--at", metavar="TIME",
                   help="sweep as of this RFC 3339 moment instead of now (to rehearse on a copy "
                        "of the database what a later sweep will clear)")


def _key(path: str | None, read: Any) -> bytes | None:
    if not path:
        return None
    try:
        key: bytes = read(Path(path))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    return key


def _profile(path: str | None) -> Path | None:
    """The profile file, checked before the server starts: its errors are a usage error."""
    if path is None:
        return None
    profile_option(path)
    return Path(path)


def serve(args: argparse.Namespace) -> int:
    _server_importable()
    try:
        from reference_server.access_log import ACCESS_LOG
        from reference_server.app import SETTINGS_ENV, create_app, tokens_for
        from reference_server.files import read_key_file, shared_file_warnings
        from reference_server.settings import Settings
        from reference_server.workers import LOOP, run_workers
    except ImportError as exc:
        raise MissingExtra(REQUIREMENT, exc.name) from exc
    if args.tokens and not Path(args.tokens).is_file():
        raise UsageError(f"no such tokens file: {args.tokens}")
    if args.jwks and not (args.jwt_issuer and args.jwt_audience):
        raise UsageError("--jwks needs --jwt-issuer and --jwt-audience")
    key = _key(args.pseudonym_key_file, read_key_file)
    profile = _profile(args.profile)
    settings = Settings(database_url=args.database_url,
                        tokens_file=Path(args.tokens) if args.tokens else None,
                        jwks=args.jwks, jwt_issuer=args.jwt_issuer,
                        jwt_audience=args.jwt_audience,
                        demo=not args.no_demo, pseudonym_key=key, profile=profile,
                        remembered_bytes=max(args.remembered_mb, 0) * 1024 * 1024)
    try:
        tokens = tokens_for(settings)
    except (OSError, ValueError) as exc:
        raise UsageError(f"bad tokens file or JWKS: {exc}") from exc
    for warning in shared_file_warnings(
            Path(args.pseudonym_key_file) if args.pseudonym_key_file else None):
        print(f"warning: {warning}", file=sys.stderr)
    if tokens.issuer is not None:
        from reference_server.auth import KeysUnreachable

        try:
            tokens.issuer.check_keys()
        except KeysUnreachable as exc:
            # Started anyway: the provider may come back; until then requests get 503.
            print(f"warning: 暂时无法取得 JWKS，请求将得到 503 / the JWKS cannot be fetched now "
                  f"({exc}); requests get 503 until it answers", file=sys.stderr)
    base = f"http://{args.host}:{args.port}"
    _banner(base, settings, tokens)
    log_config = _log_config(ACCESS_LOG, access=not args.no_access_log)
    if args.workers > 1:
        # Workers get the paths of files holding secrets, never the secrets: the environment
        # of a process is readable in /proc/<pid>/environ.
        os.environ[SETTINGS_ENV] = json.dumps({
            "database_url": settings.database_url,
            "tokens_file": str(settings.tokens_file) if settings.tokens_file else None,
            "jwks": settings.jwks, "jwt_issuer": settings.jwt_issuer,
            "jwt_audience": settings.jwt_audience,
            "demo": settings.demo,
            "profile": str(profile.resolve()) if profile is not None else None,
            "pseudonym_key_file": (str(Path(args.pseudonym_key_file).resolve())
                                   if args.pseudonym_key_file else None),
            "remembered_bytes": settings.remembered_bytes,
        })
        try:
            code = run_workers("reference_server.app:app_from_env", args.workers, args.host,
                               args.port, log_level="warning", log_config=log_config,
                               access_log=False)
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
        if code != 0:
            raise UsageError("a worker could not start; its messages are above")
    else:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning",
                    log_config=log_config, access_log=False, loop=LOOP)
    return EXIT_OK


def _log_config(access_log: str, *, access: bool) -> dict[str, Any]:
    """Uvicorn's logging with the server's own access log added (uvicorn's would print the
    client's address and the query string, which may name a resident); every worker process
    applies it."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"][access_log] = {"handlers": ["default"], "propagate": False,
                                     "level": "INFO" if access else "WARNING"}
    return config


def _banner(base: str, settings: Any, tokens: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    # Wide enough that the tokens are copied whole, even when the output is not a terminal.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    console.print(f"[bold]Smart Community reference server[/bold] · 智慧社区参考服务器 "
                  f"(standard {settings.spec_version})")
    console.print(f"  API:  {base}/")
    console.print(f"  Docs: {base}/docs   (OpenAPI: {base}/openapi.json)")
    console.print(f"  Data: {settings.database_url}")
    if settings.profile is not None:
        console.print(f"  Profile · 城市配置: {settings.profile} "
                      f"(catalogue {base}/services, profile {base}/profile)")
    if settings.tokens_file is not None:
        console.print(f"  Tokens · 令牌: {settings.tokens_file} ({len(tokens.file)})")
    if settings.jwks is not None:
        console.print(f"  JWT: issuer {settings.jwt_issuer}, audience {settings.jwt_audience}, "
                      f"keys {settings.jwks}")
    principals = dict(tokens.items())
    if not tokens.demo:
        # Configured credentials are secrets: never printed (/req/core/no-demo-credentials).
        if principals:
            console.print(f"  Tokens given directly · 直接给定的令牌: {len(principals)}")
        return
    table = Table(title="Demo bearer tokens · 演示令牌 (published; never use them in production)",
                  show_lines=False)
    table.add_column("role", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("communities", no_wrap=True)
    table.add_column("token", no_wrap=True)
    for token, p in principals.items():
        communities = "*" if p.every_community else " ".join(sorted(p.communities))
        who = p.name + (f" · {p.label}" if p.label else "")
        if p.organisation_id:
            who += f" [{p.organisation_id}]"
        table.add_row(p.role, who, communities, token)
    console.print(table)
    spec = load_spec(settings.spec_version)
    example = next((t for t, p in principals.items() if _reads_in_full(spec, p.role)),
                   next(iter(principals), ""))
    console.print(f"  Try: curl -H 'Authorization: Bearer {example}' {base}/{_showcase(spec)}")


def _reads_in_full(spec: Spec, role: str) -> bool:
    """Whether ``role`` reads every class of personal information unredacted."""
    try:
        audience = spec.audience_of(role)
    except SpecError:
        return False
    return set(spec.privacy["treatments"][audience].values()) == {"keep"}


def _showcase(spec: Spec) -> str:
    """The collection the banner's example reads: the first whose records have a lifecycle."""
    moving = [rt for rt in spec.resource_types if rt in spec.lifecycles]
    return spec.collection((moving or list(spec.resource_types))[0])


def import_documents(args: argparse.Namespace) -> int:
    _server_importable()
    try:
        from reference_server.service import ImportStopped, Service, import_lines
        from reference_server.settings import Settings
        from reference_server.storage import Store
    except ImportError as exc:
        raise MissingExtra(REQUIREMENT, exc.name) from exc
    sources = discover(args.paths, args.ndjson)
    total = sum(source.size for source in sources)
    jobs = args.jobs if args.jobs is not None else (
        usable_cpus() if total >= BULK_BYTES else 1)
    if jobs < 1:
        raise UsageError("--jobs needs at least 1")
    profile = _profile(args.profile)
    store = Store(args.database_url)
    store.migrate()
    service = Service(Settings(database_url=args.database_url, profile=profile), store)
    bad = 0

    def lines(advance: Any) -> Any:
        for source in sources:
            for line, raw in source.open():
                advance(len(raw))
                yield (f"{source.name}:{line}" if line else source.name), raw

    def not_json(where: str) -> None:
        nonlocal bad
        bad += 1
        print(f"✗ {where}: not JSON", file=sys.stderr)

    started = time.perf_counter()
    try:
        # A progress bar on a terminal for inputs of a megabyte or more, as validate shows.
        with progress_bar(total, enabled=total > PROGRESS_BYTES) as advance:
            count = import_lines(service, lines(advance), validate=not args.no_validate,
                                 jobs=jobs, one_by_one=args.one_by_one, not_json=not_json)
    except ImportStopped as exc:
        # The first document refused stops the import; every one before it is stored.
        print(f"✗ {exc.where}: import stopped, {exc.imported} documents before it stored "
              f"/ 导入在此停止，之前的 {exc.imported} 个文档已保存: {exc.problem.detail}",
              file=sys.stderr)
        for error in exc.problem.errors[:20]:
            print(f"  {error.get('pointer') or '/'}: {error['message']['en']}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        store.dispose()
    seconds = time.perf_counter() - started
    rate = count / seconds if seconds else 0.0
    print(f"imported {count} documents in {seconds:.1f} s ({rate:,.0f}/s)")
    return EXIT_INVALID if bad else EXIT_OK


def retention(args: argparse.Namespace) -> int:
    from datetime import datetime

    _server_importable()
    try:
        from reference_server.service import Service
        from reference_server.settings import Settings
        from reference_server.storage import Store
    except ImportError as exc:
        raise MissingExtra(REQUIREMENT, exc.name) from exc
    periods = None
    if args.periods:
        try:
            periods = json.loads(Path(args.periods).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the periods file: {exc}") from exc
    moment = None
    if args.at:
        try:
            moment = datetime.fromisoformat(args.at)
        except ValueError:
            raise UsageError(f"--at is not an RFC 3339 time: {args.at}") from None
        if moment.tzinfo is None:
            raise UsageError("--at needs an offset (such as +08:00)")
    store = Store(args.database_url)
    try:
        store.migrate()
        try:
            service = Service(Settings(database_url=args.database_url, retention=periods),
                              store)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        counts = service.sweep(moment)
        store.scrub()
    finally:
        store.dispose()
    print(json.dumps(counts))
    return EXIT_OK
