"""`consult serve`: build, serve the static site (and the intake), rebuild on change."""

from __future__ import annotations

import contextlib
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

WATCHED = ("site.yml", "challenges", "content", "theme/templates", "theme/build", "plugins", "generator")


class SiteFiles(StaticFiles):
    """Static files with clean URLs and the site's own 404 page."""

    async def get_response(self, path: str, scope: dict) -> Response:  # type: ignore[override]
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            not_found = Path(self.directory or ".") / "404.html"
            if exc.status_code == 404 and not_found.exists():
                return FileResponse(not_found, status_code=404)
            raise


class Rebuilder:
    """Rebuilds the site; one build at a time, problems printed rather than raised."""

    def __init__(self, root: Path, output: Path, base_url: str | None):
        self.root, self.output, self.base_url = root, output, base_url
        self.lock = threading.Lock()

    def __call__(self) -> bool:
        with self.lock:
            try:
                result = build(self.root, self.output, base_url=self.base_url)
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


def create_app(root: Path, output: Path, rebuild: Rebuilder, with_intake: bool) -> ASGIApp:
    routes: list[BaseRoute] = []
    lifespans = []
    if with_intake:
        from intake.app import create_app as create_intake
        from intake.settings import IntakeSettings

        settings = IntakeSettings.from_environment(root, site_dir=output)
        intake = create_intake(settings, on_published=rebuild)
        routes.append(Mount(settings.mount_path, app=intake))
        lifespans.append(intake)
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
    app = create_app(root, output, rebuild, with_intake)
    click.echo(f"Serving {root} at {base_url}/ (Ctrl+C to stop)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
