"""`consult serve`: build, serve the static site (and the intake), rebuild on change."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import click
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from watchfiles import Change

from .build import BuildResult, build
from .clock import Clock, system_clock
from .collector import batch_collection
from .errors import ConsultError, ContentError
from .freshness import valid_until
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

COMPRESS_FROM = 500
"""Bytes below which an answer is sent as it is (compressing it would save next to nothing)."""

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


class WeakETagWhenEncoded:
    """ASGI middleware: a response sent compressed gets a weak ETag (`W/"…"`).

    A strong ETag names one exact sequence of bytes, and the gzip-compressed
    answer is another one than the file; a weak one still validates the page
    (If-None-Match compares weakly, so the browser's next request gets its 304).
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_weak(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                etag = headers.get("etag")
                if "content-encoding" in headers and etag and not etag.startswith("W/"):
                    headers["etag"] = f"W/{etag}"
            await send(message)

        await self.app(scope, receive, send_weak)


def compressed(app: ASGIApp) -> ASGIApp:
    """HTML, CSS, JavaScript and the other text files gzip-compressed for browsers that accept it, as a static host does."""
    return WeakETagWhenEncoded(GZipMiddleware(app, minimum_size=COMPRESS_FROM, compresslevel=6))


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
    SEARCH_DELAY = 3.0
    """Seconds without a rebuild before the search index catches up (a burst of saves re-indexes once)."""

    def __init__(self, root: Path, output: Path, base_url: str | None, clock: Clock | None = None, search_delay: float = SEARCH_DELAY):
        self.root, self.output, self.base_url = root, output, base_url
        self.clock = clock or system_clock()
        self.lock = threading.Lock()
        self.built = False
        self.cache = ContentCache()
        self.last: BuildResult | None = None
        self.stale_at: dt.datetime | None = None
        """When the last build's dates stop being right (midnight, or an event ending): rebuild then."""
        self.search_delay = search_delay
        self.search_timer: threading.Timer | None = None

    def __call__(self, changes: Iterable[tuple[Change, str]] = ()) -> bool:
        with self.lock:
            previewed = self.preview(changes)
            if previewed:
                click.echo(f"Previewed {', '.join(previewed)}; rebuilding the rest.")
            try:
                # The first build is complete; later ones re-render only what changed and keep the
                # search index as it was (indexing costs seconds); it catches up once saves pause.
                indexed = not self.built
                now = self.clock.now()
                result = self._build(now, incremental=self.built, search_index=indexed)
                self.built = True
                self.stale_at = valid_until(result.views, now)
            except ContentError as exc:
                click.echo("\n".join(str(p) for p in exc.problems), err=True)
                click.echo("The site was not rebuilt; the last good build is still served.", err=True)
                return False
            except ConsultError as exc:
                click.echo(f"Error: {exc}", err=True)
                return False
            click.echo(f"Rebuilt {result.pages_written} pages.")
            if not indexed:
                self.schedule_search_index()
            return True

    def _build(self, now: dt.datetime, incremental: bool, search_index: bool) -> BuildResult:
        """Build, and keep the result as the last build; then free what the build replaced.

        This process lives on, so nothing is frozen out of the cycle collector's reach (`build`'s `one_shot`):
        a build's views and Jinja environment hold reference cycles, freed only by a collection. The
        collector runs rarely while the build works (`batch_collection`; at the usual rate its collections took
        a third of a rebuild at 10,000 ideas), then once in full, so the build replaced is freed at once.
        """
        try:
            with batch_collection():
                result = build(
                    self.root,
                    self.output,
                    base_url=self.base_url,
                    now=now,
                    incremental=incremental,
                    search_index=search_index,
                    content_cache=self.cache,
                )
            self.last = result
            return result
        finally:
            gc.collect()

    def schedule_search_index(self) -> None:
        """Re-index for search once rebuilds have been quiet for `search_delay` seconds (debounced)."""
        if self.search_timer is not None:
            self.search_timer.cancel()
        self.search_timer = threading.Timer(self.search_delay, self.update_search_index)
        self.search_timer.daemon = True
        self.search_timer.start()

    def update_search_index(self) -> None:
        """An incremental build that also re-indexes the search parts whose pages changed (nothing else is re-rendered)."""
        with self.lock:
            if not self.output.exists():
                return  # the server has gone, and its site with it
            try:
                now = self.clock.now()
                result = self._build(now, incremental=True, search_index=True)
                self.stale_at = valid_until(result.views, now)
            except ContentError:
                return  # the content changed again and is broken: the next rebuild reports it and schedules this again
            except ConsultError as exc:
                click.echo(f"Error while updating the search index: {exc}", err=True)
                return
        click.echo("Search index updated.")

    def stop(self) -> None:
        """Cancel a pending search index update."""
        if self.search_timer is not None:
            self.search_timer.cancel()

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


def rebuild_when_stale(rebuild: Rebuilder, stop: threading.Event, longest_wait: float = 3600.0) -> None:
    """Rebuild when the served dates go stale (a challenge closing at midnight, an event ending), by the server's clock."""
    while not stop.is_set():
        due = rebuild.stale_at
        wait = longest_wait if due is None else (due - rebuild.clock.now()).total_seconds()
        if wait <= 0:
            click.echo("The date changed or an event ended; rebuilding.")
            if not rebuild():
                stop.wait(60)  # the content has a problem: it is reported, and the next edit rebuilds
            continue
        stop.wait(min(wait, longest_wait))


def create_app(root: Path, output: Path, rebuild: Rebuilder, with_intake: bool, base_url: str | None = None) -> ASGIApp:
    routes: list[BaseRoute] = []
    lifespans = []
    if with_intake:
        from intake.app import create_app as create_intake
        from intake.settings import IntakeSettings

        settings = IntakeSettings.from_environment(root, site_dir=output, base_url=base_url)
        intake = create_intake(settings, on_published=rebuild, worker_process=True)  # the publisher in a child process, as `consult intake` runs it
        routes.append(Mount(settings.mount_path, app=intake))
        lifespans.append(intake)
    handbook = root / ".consult" / "handbook"
    if handbook.is_dir():  # built once by `consult handbook` (make run), not on every rebuild
        routes.append(Mount("/handbook", app=compressed(SiteFiles(directory=handbook, html=True))))
    # Only the static files are compressed: the intake's answers carry what a person typed, and stay as they are.
    routes.append(Mount("/", app=compressed(SiteFiles(directory=output, html=True, check_dir=False))))

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
    threading.Thread(target=rebuild_when_stale, args=(rebuild, stop), daemon=True, name="consult-dates").start()
    app = create_app(root, output, rebuild, with_intake, base_url)
    click.echo(f"Serving {root} at {base_url}/ (Ctrl+C to stop)")
    try:
        run_server(app, host, port)
    finally:
        stop.set()
        rebuild.stop()
