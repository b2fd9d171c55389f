""" "I support this idea": POST /supports, GET /supports/{slug} and GET /counts.json.

Counting must be honest without accounts, and staff of one trust often share one
public address, so the address cannot be the identity. A browser is known by a
random token in the cookie `consult_supporter`, signed with the intake's secret
(CONSULT_INTAKE_SECRET); a missing or tampered cookie gets a fresh token. The store
keeps only a hash of the token with the idea (intake/support_store.py), never an
address. Posts are limited per client address (CONSULT_INTAKE_RATE_LIMIT_SUPPORTS)
and per browser (CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER).

Order of checks for a post, as for the other posts: origin → content type → size →
read → rate limit → honeypot → fields; then the idea (it exists; a duplicate's slug
is resolved to its original), its challenge (open, to support; a withdrawal is always
allowed), the browser's own limit. A form post answers 303 to the support page;
a JSON client (Accept: application/json) gets {"idea", "supported", "count"}.

The route is kept light (no threads but the store's writer, no catalogue reload, the
duplicate index built once per catalogue) so a support costs far less than an idea:
see benchmarks/intake.py --supports.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from generator.theme import long_date

from .app import Intake, intake_link
from .catalogue import Catalogue, IdeaInfo
from .checks import Rejection, check_honeypot, check_origin, content_kind, parse_body, read_body, wants_json
from .keys import durable_secret
from .limits import wait_words
from .pages import Link, render_page
from .settings import SUPPORT, SUPPORTER, IntakeSettings
from .support_store import SupportChange, SupportState, SupportStore, token_hash

log = logging.getLogger("consult.intake")

COOKIE = "consult_supporter"
COOKIE_SECONDS = 365 * 24 * 60 * 60
ACTIONS = ("support", "withdraw")
COUNTS_CACHE_CONTROL = "public, max-age=60"


class SupporterCookie:
    """The browser's token and its signature, `<token>.<signature>`: HMAC-SHA256 with a key derived from the intake's secret."""

    def __init__(self, secret: bytes):
        self.key = hmac.new(secret, b"consult_supporter cookie", hashlib.sha256).digest()

    @staticmethod
    def new_token() -> str:
        """128 random bits, URL-safe."""
        return secrets.token_urlsafe(16)

    def signature(self, token: str) -> str:
        digest = hmac.new(self.key, token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def value(self, token: str) -> str:
        return f"{token}.{self.signature(token)}"

    def token(self, value: str | None) -> str | None:
        """The token in a cookie value, or None when there is none or its signature does not match."""
        if not value or len(value) > 100:
            return None
        token, _, signature = value.partition(".")
        if not token or not token.isascii() or not hmac.compare_digest(signature.encode("ascii", "replace"), self.signature(token).encode()):
            return None
        return token


def original_slug(catalogue: Catalogue, slug: str) -> str | None:
    """The idea a slug stands for: itself, or what it repeats (`duplicate_of`, followed to the end). None if unknown.

    A loop of duplicates (an editor's mistake) ends at the first slug of the loop in sorting order, whichever
    idea of it was asked for, so every idea of the loop counts towards the same one."""
    ideas = catalogue.ideas
    if slug not in ideas:
        return None
    path = [slug]
    while (next_slug := ideas[path[-1]].duplicate_of) and next_slug in ideas:
        if next_slug in path:
            return min(path[path.index(next_slug) :])
        path.append(next_slug)
    return path[-1]


@dataclass(frozen=True)
class DuplicateIndex:
    """Each idea's original, and each original's group (itself first, then the ideas that repeat it)."""

    original: dict[str, str]
    groups: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, catalogue: Catalogue) -> DuplicateIndex:
        original = {slug: original_slug(catalogue, slug) or slug for slug in catalogue.ideas}
        members: dict[str, list[str]] = {}
        for slug, first in sorted(original.items()):
            if slug != first:
                members.setdefault(first, []).append(slug)
        return cls(original, {first: (first, *repeats) for first, repeats in members.items()})

    def group(self, original: str) -> tuple[str, ...]:
        return self.groups.get(original, (original,))


@dataclass(frozen=True)
class CountsDocument:
    """counts.json as served: the body and its ETag."""

    ideas: dict[str, int]
    body: bytes
    etag: str

    @classmethod
    def of(cls, ideas: dict[str, int], now: dt.datetime) -> CountsDocument:
        generated = now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = json.dumps({"generated_at": generated, "ideas": dict(sorted(ideas.items()))}, separators=(",", ":")).encode()
        return cls(ideas, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@dataclass
class Supports:
    """What the support handlers share: the store, the cookie's signer, and caches keyed by the catalogue in use."""

    store: SupportStore
    cookie: SupporterCookie
    settings: IntakeSettings
    _index: tuple[Catalogue, DuplicateIndex] | None = None
    _counts: tuple[int, Catalogue, CountsDocument] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _links: dict[str, str] = field(default_factory=dict)

    def page_link(self, intake: Intake, request: Request, slug: str) -> str:
        """The support page of an idea; on the site's origin the same for every request, so worked out once per idea."""
        if not self.settings.same_origin:
            return intake_link(intake, request, "support_page", slug=slug)
        link = self._links.get(slug)
        if link is None:
            link = self._links[slug] = intake_link(intake, request, "support_page", slug=slug)
        return link

    def index(self, catalogue: Catalogue) -> DuplicateIndex:
        cached = self._index
        if cached is None or cached[0] is not catalogue:
            cached = self._index = (catalogue, DuplicateIndex.of(catalogue))
        return cached[1]

    def counts_document(self, catalogue: Catalogue) -> CountsDocument:
        """The counts, duplicates folded, built again only when the store or the catalogue changed since the last time
        (and kept, with its date and ETag, when they changed but the counts did not)."""
        cached = self._counts
        if cached is not None and cached[1] is catalogue and cached[0] == self.store.data_version():
            return cached[2]
        with self._lock:
            index = self.index(catalogue)
            version, stored = self.store.counts(list(index.groups.values()))
            ideas = {slug: n for slug, n in stored.items() if n > 0 and index.original.get(slug) == slug}
            document = cached[2] if cached is not None and cached[2].ideas == ideas else CountsDocument.of(ideas, self.settings.clock.now())
            self._counts = (version, catalogue, document)
        return document


def count_sentence(count: int) -> str:
    if count == 0:
        return "No one has supported this idea yet"
    if count == 1:
        return "1 person supports this idea"
    return f"{count:,} people support this idea"


PROBLEM_TITLES = {404: "We could not find that idea", 409: "This idea no longer takes support", 429: "You have done that a lot in a short time"}


def problem_page(intake: Intake, status: int, message: str, idea: IdeaInfo | None) -> HTMLResponse:
    """Why a support was not recorded, in the site's frame, with the way back to the idea (or to the ideas)."""
    back = (
        Link(f"Back to ‘{idea.title}’", intake.settings.site_link(idea.url))
        if idea
        else Link("Back to the ideas", intake.settings.site_link("/ideas/"))
    )
    title = PROBLEM_TITLES.get(status, "We could not record your support")
    return render_page(intake.templates, intake.catalogue.current, "support_problem.html", status, problem_title=title, message=message, back=back)


def rejected(intake: Intake, request: Request, rejection: Rejection, idea: IdeaInfo | None = None) -> Response:
    if wants_json(request):
        return JSONResponse({"error": rejection.message}, status_code=rejection.status, headers=rejection.headers)
    page = problem_page(intake, rejection.status, rejection.message, idea)
    page.headers.update(rejection.headers)
    return page


def read_fields(raw: dict[str, Any]) -> tuple[str, str]:
    """The idea's slug and the action, or a 400 naming what is missing."""
    slug, action = raw.get("idea"), raw.get("action")
    if not isinstance(slug, str) or not slug.strip():
        raise Rejection(400, "Say which idea: send the field idea with the idea's slug, as the idea's page does.")
    if action not in ACTIONS:
        raise Rejection(400, "Say what to do: send the field action as support (to support the idea) or withdraw (to take your support back).")
    return slug.strip(), str(action)


def known_idea(catalogue: Catalogue, index: DuplicateIndex, slug: str) -> IdeaInfo:
    original = index.original.get(slug)
    if original is None:
        shown = slug if len(slug) <= 80 else slug[:80] + "…"
        raise Rejection(404, f"There is no idea ‘{shown}’ on the site. It may have been renamed or removed: find it from the list of ideas.")
    return catalogue.ideas[original]


def closed_message(catalogue: Catalogue, idea: IdeaInfo) -> str | None:
    """Why an idea takes no new support (its challenge is not open), or None when it does."""
    challenge = catalogue.challenges.get(idea.challenge)
    if challenge is not None and challenge.is_open:
        return None
    if challenge is not None and challenge.closes and challenge.closes < challenge.clock.today():
        return f"The challenge ‘{challenge.title}’ closed on {long_date(challenge.closes)}, so its ideas no longer take support."
    return "The challenge this idea belongs to is closed, so its ideas no longer take support."


async def check_browser_rate(intake: Intake, token: str) -> None:
    wait = await intake.limiters.wait_for(SUPPORTER, token)
    if wait:
        raise Rejection(
            429,
            f"This browser has supported and withdrawn a lot in a short time. Wait {wait_words(wait)}, then try again.",
            headers={"Retry-After": str(wait)},
        )


def set_cookie(response: Response, settings: IntakeSettings, cookie: SupporterCookie, token: str) -> None:
    response.set_cookie(
        COOKIE,
        cookie.value(token),
        max_age=COOKIE_SECONDS,
        path=settings.mount_path or "/",
        secure=settings.base_url.startswith("https:"),
        httponly=True,
        samesite="lax",
    )


def state_json(slug: str, state: SupportState) -> JSONResponse:
    return JSONResponse({"idea": slug, "supported": state.supported, "count": state.count}, headers={"Cache-Control": "no-store"})


async def post_support(request: Request) -> Response:
    intake: Intake = request.app.state.intake
    supports: Supports = request.app.state.supports
    idea: IdeaInfo | None = None
    try:
        check_origin(request, intake.settings)
        body_kind = content_kind(request)
        raw = parse_body(await read_body(request, intake.settings.max_bytes), body_kind)
        await intake.limiters.check(request, SUPPORT)
        check_honeypot(raw)
        slug, action = read_fields(raw)
        catalogue = intake.catalogue.current
        index = supports.index(catalogue)
        idea = known_idea(catalogue, index, slug)
        closed = closed_message(catalogue, idea) if action == "support" else None
        if closed:
            raise Rejection(409, closed)
        token = supports.cookie.token(request.cookies.get(COOKIE))
        fresh = token is None
        if token is None:
            token = supports.cookie.new_token()
        else:
            await check_browser_rate(intake, token)
        change = SupportChange(token_hash(token), index.group(idea.slug), action == "support")
    except Rejection as rejection:
        return rejected(intake, request, rejection, idea)
    try:
        state = await supports.store.change(change)
    except Exception as exc:  # noqa: BLE001 - whatever failed, nothing was changed and the person is told so
        log.error("Could not store a support: %s", type(exc).__name__)
        return rejected(
            intake, request, Rejection(503, "Sorry, we could not record that just now. Nothing was changed. Please try again in a few minutes."), idea
        )
    response: Response = (
        state_json(idea.slug, state) if wants_json(request) else RedirectResponse(supports.page_link(intake, request, idea.slug), status_code=303)
    )
    if fresh:
        set_cookie(response, intake.settings, supports.cookie, token)
    return response


async def support_page(request: Request) -> Response:
    """Whether this browser supports the idea, its count, and the one button that changes it."""
    intake: Intake = request.app.state.intake
    supports: Supports = request.app.state.supports
    catalogue = intake.catalogue.current
    index = supports.index(catalogue)
    slug = request.path_params["slug"]
    try:
        idea = known_idea(catalogue, index, slug)
    except Rejection as rejection:
        return rejected(intake, request, rejection)
    if idea.slug != slug:  # a duplicate: its supports count towards the original
        return RedirectResponse(supports.page_link(intake, request, idea.slug), status_code=302)
    token = supports.cookie.token(request.cookies.get(COOKIE))
    state = supports.store.state(token_hash(token) if token else None, index.group(idea.slug))
    if wants_json(request):
        return state_json(idea.slug, state)
    challenge = catalogue.challenges.get(idea.challenge)
    return render_page(
        intake.templates,
        catalogue,
        "support.html",
        200,
        idea=idea,
        challenge_title=challenge.title if challenge else "",
        supported=state.supported,
        count_text=count_sentence(state.count),
        closed=closed_message(catalogue, idea),
        action=intake_link(intake, request, "submit_support"),
        back=Link(f"Back to ‘{idea.title}’", intake.settings.site_link(idea.url)),
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def counts_json(request: Request) -> Response:
    """Every idea's count, for the site's build (`consult build --counts`) and its script: cached by anyone for a minute."""
    intake: Intake = request.app.state.intake
    supports: Supports = request.app.state.supports
    document = supports.counts_document(intake.catalogue.current)
    headers = {"ETag": document.etag, "Cache-Control": COUNTS_CACHE_CONTROL, "Vary": "Origin"}
    origin = request.headers.get("origin", "").strip().lower()
    if origin in intake.settings.allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
    if etag_matches(request.headers.get("if-none-match"), document.etag):
        return Response(status_code=304, headers=headers)
    return Response(document.body, media_type="application/json", headers=headers)


def support_routes(intake: Intake) -> tuple[list[Route], Supports]:
    """The routes, and what they share (the app keeps it as `app.state.supports` and closes its store when it stops)."""
    store = SupportStore(intake.store.db)
    supports = Supports(store, SupporterCookie(durable_secret(intake.settings)), intake.settings)
    routes = [
        Route("/supports", post_support, methods=["POST"], name="submit_support"),
        Route("/supports/{slug}", support_page, methods=["GET"], name="support_page"),
        Route("/counts.json", counts_json, methods=["GET"], name="counts"),
    ]
    return routes, supports
