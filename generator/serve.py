"""`consult serve`: build, serve the static site (and the intake), rebuild on change."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import click
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import ASGIApp, Scope
from watchfiles import Change

from .build import BuildResult, build
from .errors import ConsultError, ContentError
from .httpserver import run as run_server
from .loader import CONTENT_DIRS, ContentCache, load_entry
from .pagewriter import PageSpec
from .schema import Idea
from .views import IdeaView

FINGERPRINTED = re.compile(r"^assets/(?:.+/)?[^/]+\.[0-9a-f]{10}\.[a-z0-9]+$")
"""Asset paths with a content hash in the name (generator/assets.py): safe to cache for a year."""
IMMUTABLE = "public, max-age=31536000, immutable"
UNHASHED_ASSET = "public, max-age=86400"
"""Design-system icons the stylesheet names without a hash: they change only with an nhsuk-frontend upgrade."""
REVALIDATE = "no-cache"
"""Pages: the browser may keep them but asks before each use (a cheap 304)."""

IDEAS = CONTENT_DIRS["idea"][0]
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

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200) -> Response:
        """Pages are read whole before the answer starts, with an ETag from their bytes.

        A rebuild may replace a page between the server's stat and its read;
        streamed, the answer would then promise the old length and send the
        new bytes. Assets have content-hashed names and are never replaced.
        """
        if not str(full_path).endswith(".html"):
            return super().file_response(full_path, stat_result, scope, status_code)
        try:
            data = Path(full_path).read_bytes()
        except FileNotFoundError:
            raise HTTPException(status_code=404) from None
        headers = Headers({"etag": f'"{hashlib.blake2b(data, digest_size=16).hexdigest()}"'})
        if self.is_not_modified(headers, Headers(scope=scope)):
            return NotModifiedResponse(headers)
        return Response(data, status_code=status_code, media_type="text/html", headers=dict(headers))


def cache_control(path: str) -> str:
    """The Cache-Control header for a file of the site, by its path below the root."""
    path = path.replace("\\", "/").lstrip("/")
    if FINGERPRINTED.match(path):
        return IMMUTABLE
    return UNHASHED_ASSET if path.startswith("assets/") else REVALIDATE


class Rebuilder:
    """Rebuilds the site; one build at a time, problems printed rather than raised.

    When the only change is an edit to existing ideas, their pages are first
    re-rendered on their own with the last build's templates and views (a
    preview, served within a second even on a large site), then the full
    incremental build brings every listing, feed and related link up to date.
    """

    PREVIEW_LIMIT = 5
    """More edited files at once than this (a git checkout, say) go straight to the full build."""

    def __init__(self, root: Path, output: Path, base_url: str | None):
        self.root, self.output, self.base_url = root, output, base_url
        self.lock = threading.Lock()
        self.built = False
        self.cache = ContentCache()
        self.last: BuildResult | None = None

    def __call__(self, changes: Iterable[tuple[Change, str]] = ()) -> bool:
        with self.lock:
            previewed = self.preview(changes)
            if previewed:
                click.echo(f"Previewed {', '.join(previewed)}; rebuilding the rest.")
            try:
                # The first build is complete; later ones re-render only what changed and keep
                # the search index of the first (re-indexing every page would cost seconds).
                result = build(self.root, self.output, base_url=self.base_url, incremental=self.built, search_index=not self.built, content_cache=self.cache)
                self.built = True
                self.last = result
            except ContentError as exc:
                click.echo("\n".join(str(p) for p in exc.problems), err=True)
                click.echo("The site was not rebuilt; the last good build is still served.", err=True)
                return False
            except ConsultError as exc:
                click.echo(f"Error: {exc}", err=True)
                return False
            click.echo(f"Rebuilt {result.pages_written} pages.")
            return True

    def preview(self, changes: Iterable[tuple[Change, str]]) -> list[str]:
        """Re-render the pages of edited ideas at once; return their URLs ([] when this change is not that simple)."""
        changes = list(changes)
        last = self.last
        if not changes or len(changes) > self.PREVIEW_LIMIT or last is None or last.renderer is None:
            return []
        ideas = (self.root / IDEAS).resolve()
        updated: list[IdeaView] = []
        for change, name in changes:
            path = Path(name).resolve()
            if change != Change.modified or path.suffix != ".md" or path.parent.parent != ideas:
                return []
            old = last.views.ideas.get(path.stem)
            if old is None or (self.root / old.entry.path).resolve() != path:
                return []
            entry, problems = load_entry(self.root, "idea", path, Idea)
            if entry is None or problems or entry.meta.challenge != old.meta.challenge or entry.meta.reference != old.meta.reference:
                return []  # the full build reports problems and handles moves
            updated.append(dataclasses.replace(old, entry=entry))
        for idea in updated:
            last.renderer.write(PageSpec(idea.url, "idea", {"idea": idea, "challenge": idea.challenge}), self.output)
        return [idea.url for idea in updated]


def watch(root: Path, rebuild: Callable[[Iterable[tuple[Change, str]]], bool], stop: threading.Event) -> None:
    from watchfiles import watch as watch_files

    paths = [root / p for p in WATCHED if (root / p).exists()]
    for changes in watch_files(*paths, stop_event=stop, debounce=200, step=50):
        rebuild(changes)


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
        run_server(app, host, port)
    finally:
        stop.set()
