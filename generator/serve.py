"""`consult serve`: build, serve the static site (and the intake), rebuild on change."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import click
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from .build import build
from .errors import ConsultError, ContentError
from .loader import ContentCache

FINGERPRINTED = re.compile(r"^assets/(?:.+/)?[^/]+\.[0-9a-f]{10}\.[a-z0-9]+$")
"""Asset paths with a content hash in the name (generator/assets.py): safe to cache for a year."""
IMMUTABLE = "public, max-age=31536000, immutable"
UNHASHED_ASSET = "public, max-age=86400"
"""Design-system icons the stylesheet names without a hash: they change only with an nhsuk-frontend upgrade."""
REVALIDATE = "no-cache"
"""Pages: the browser may keep them but asks before each use (a cheap 304)."""

WATCHED = ("site.yml", "challenges", "content", "theme/templates", "theme/build", "plugins", "generator")


class SiteFiles(StaticFiles):
    """Static files with clean URLs and the site's own 404 page."""

    async def get_response(self, path: str, scope: dict) -> Response:  # type: ignore[override]
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            not_found = Path(self.directory or ".") / "404.html"
            if exc.status_code == 404 and not_found.exists():
                return FileResponse(not_found, status_code=404, headers={"Cache-Control": REVALIDATE})
            raise
        response.headers.setdefault("Cache-Control", cache_control(path))
        return response


def cache_control(path: str) -> str:
    """The Cache-Control header for a file of the site, by its path below the root."""
    path = path.replace("\\", "/").lstrip("/")
    if FINGERPRINTED.match(path):
        return IMMUTABLE
    return UNHASHED_ASSET if path.startswith("assets/") else REVALIDATE


class Rebuilder:
    """Rebuilds the site; one build at a time, problems printed rather than raised."""

    def __init__(self, root: Path, output: Path, base_url: str | None):
        self.root, self.output, self.base_url = root, output, base_url
        self.lock = threading.Lock()
        self.built = False
        self.cache = ContentCache()

    def __call__(self) -> bool:
        with self.lock:
            try:
                # The first build is complete; later ones re-render only what changed and keep
                # the search index of the first (re-indexing every page would cost seconds).
                result = build(self.root, self.output, base_url=self.base_url, incremental=self.built, search_index=not self.built, content_cache=self.cache)
                self.built = True
            except ContentError as exc:
                click.echo("\n".join(str(p) for p in exc.problems), err=True)
                click.echo("The site was not rebuilt; the last good build is still served.", err=True)
                return False
            except ConsultError as exc:
                click.echo(f"Error: {exc}", err=True)
                return False
            click.echo(f"Rebuilt {result.pages_written} pages.")
            return True


def watch(root: Path, rebuild: Callable[[], bool], stop: threading.Event) -> None:
    from watchfiles import watch as watch_files

    paths = [root / p for p in WATCHED if (root / p).exists()]
    for _changes in watch_files(*paths, stop_event=stop, debounce=200, step=50):
        rebuild()


def create_app(root: Path, output: Path, rebuild: Rebuilder, with_intake: bool, base_url: str | None = None) -> ASGIApp:
    routes: list[BaseRoute] = []
    lifespans = []
    if with_intake:
        from intake.app import create_app as create_intake
        from intake.settings import IntakeSettings

        settings = IntakeSettings.from_environment(root, site_dir=output, base_url=base_url)
        intake = create_intake(settings, on_published=rebuild)
        routes.append(Mount(settings.mount_path, app=intake))
        lifespans.append(intake)
    handbook = root / ".consult" / "handbook"
    if handbook.is_dir():  # built once by `consult handbook` (make run), not on every rebuild
        routes.append(Mount("/handbook", app=SiteFiles(directory=handbook, html=True)))
    routes.append(Mount("/", app=SiteFiles(directory=output, html=True, check_dir=False)))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for sub in lifespans:
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            yield

    return Starlette(routes=routes, lifespan=lifespan)


def serve(root: Path, output: Path, host: str, port: int, with_intake: bool = True, base_url: str | None = None) -> None:
    base_url = base_url or f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    rebuild = Rebuilder(root, output, base_url)
    if not rebuild() and not output.exists():
        raise ConsultError("the first build failed; fix the problems above and run `consult serve` again")
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(root, rebuild, stop), daemon=True, name="consult-watch")
    watcher.start()
    app = create_app(root, output, rebuild, with_intake, base_url)
    click.echo(f"Serving {root} at {base_url}/ (Ctrl+C to stop)")
    try:
        # No access log: it would write client addresses, which must not reach a log line.
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
