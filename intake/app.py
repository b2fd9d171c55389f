"""The intake's HTTP app (Starlette): POST /ideas, /comments, /topics; GET /confirmation/{reference},
GET /status/{reference}; GET /healthz; POST /supports, GET /supports/{slug}, GET /counts.json (intake/support.py); POST /webhooks/github when site.yml says `forge: github`.

Starlette on uvicorn, not FastAPI: the forms are three small, hand-checked
shapes whose messages must follow the NHS.UK patterns, so a validation layer
that writes its own error messages would only be in the way.

Order of checks for a submission: origin → content type → size → read
(UTF-8) → rate limit → honeypot → fields. It is stored (durably) before the answer:
303 to the intake's own confirmation page (intake/pages.py) for a browser, 202 with the reference for JSON.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from generator.assets import Assets
from generator.errors import BuildError
from generator.schema import REFERENCE_PATTERN
from generator.theme import environment

from .catalogue import Catalogue, CatalogueHolder
from .checks import UnreadableBody, load_json, origin_problem, status_reference
from .decisions import record_decision
from .forge.base import Forge
from .forms import FIELD_IDS, HONEYPOT, UnreadableInput, read_values, validate
from .notify.subscriptions import is_subscribed, subscribe
from .notify.unsubscribe import unsubscribe_routes
from .pages import STATE_TAGS, confirmation_page, not_found_page, render_page, status_page
from .ratelimit import RateLimiter
from .settings import LOOKUP, IntakeSettings
from .store import Store
from .webhook import github_webhook_route, store_updater
from .worker import Worker, make_forge

log = logging.getLogger("consult.intake")

KINDS = {"ideas": "idea", "comments": "comment", "topics": "topic"}
FORM_TYPES = ("application/x-www-form-urlencoded",)
JSON_TYPES = ("application/json",)
PAGE_TITLES = {"idea": "Share your idea", "comment": "Join the discussion", "topic": "Start a new topic", None: "We could not accept what you sent"}


class Rejection(Exception):
    """A request refused before its fields were checked, with a message for the person."""

    def __init__(self, status: int, message: str, values: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.values, self.headers = status, message, values, headers or {}


@dataclass
class Intake:
    """What the request handlers share."""

    settings: IntakeSettings
    store: Store
    forge: Forge
    catalogue: CatalogueHolder
    templates: Environment
    limiters: dict[str, RateLimiter]
    """One per kind of post (idea, comment, topic), each with its own limit."""
    worker: Worker

    # -- checks before reading ------------------------------------------------------------

    def check_origin(self, request: Request) -> None:
        problem = origin_problem(request.headers, self.settings.allowed_origins, self.settings.base_url)
        if problem:
            raise Rejection(403, problem)

    def content_kind(self, request: Request) -> str:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype in FORM_TYPES:
            return "form"
        if ctype in JSON_TYPES:
            return "json"
        raise Rejection(415, "Send the form as application/x-www-form-urlencoded (a normal web form) or as application/json.")

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_bytes
        too_big = Rejection(413, f"What you sent is too large (the limit is {limit // 1024} KB). Shorten it and try again.")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def check_rate(self, request: Request, kind: str) -> None:
        peer = request.client.host if request.client else "unknown"
        address = self.settings.trusted_proxies.client_address(peer, request.headers.getlist("x-forwarded-for"))
        wait = self.limiters[kind].wait_for(address)
        if wait:
            when = "a minute" if wait <= 60 else f"{math.ceil(wait / 60)} minutes"
            raise Rejection(429, f"You have sent a lot in a short time. Wait {when}, then send it again.", headers={"Retry-After": str(wait)})


def parse_body(body: bytes, kind: str) -> dict[str, Any]:
    """Form or JSON fields; invalid UTF-8 or a malformed body is a clear 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejection(400, "What you sent is not valid UTF-8 text. Check for unusual characters and try again.") from None
    if kind == "json":
        try:
            data = load_json(text)
        except UnreadableBody as exc:
            raise Rejection(400, str(exc)) from None
        if not isinstance(data, dict):
            raise Rejection(400, "Send a JSON object with the form's fields, for example {\"title\": \"…\"}.")
        return data
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8", errors="strict", max_num_fields=50)
    except UnicodeDecodeError:
        raise Rejection(400, "What you sent is not valid UTF-8 text. Check for unusual characters and try again.") from None
    except ValueError:
        raise Rejection(400, "The form has too many fields.") from None
    fields: dict[str, Any] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def typed_values(kind: str, raw: dict[str, Any]) -> dict[str, str]:
    """What the person typed, cleaned, to fill the form back in ({} when it cannot be read)."""
    try:
        return read_values(kind, raw)[0]
    except UnreadableInput:
        return {}


def wants_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accept = request.headers.get("accept", "")
    return ctype in JSON_TYPES or (accept.startswith("application/json") and "text/html" not in accept)


def _assets(settings: IntakeSettings) -> Assets:
    try:
        return Assets.from_manifest(settings.site_dir) if settings.site_dir else Assets()
    except BuildError:
        log.warning("No built site at %s: the intake's pages will be unstyled until `consult build` has run.", settings.site_dir)
        return Assets()


class _AssetNames(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return f"assets/{name}"


def make_templates(settings: IntakeSettings, catalogue: Catalogue) -> Environment:
    config = catalogue.config.model_copy(update={"base_url": settings.base_url})
    assets = _assets(settings)
    assets.files = _AssetNames(assets.files)
    env = environment(config, assets, settings.clock.today())
    if not settings.same_origin:  # pages served from another host link back to the site in full
        site_url = cast(Callable[[str], str], env.globals["url"])  # Jinja types its globals as object
        asset_path = cast(Callable[[str], str], env.globals["asset"])
        env.globals["url"] = lambda path="/": settings.base_url + site_url(path).removeprefix(settings.site_path) if path.startswith("/") else path
        env.globals["asset"] = lambda name: settings.base_url + asset_path(name).removeprefix(settings.site_path)
    return env


def render(intake: Intake, template: str, status: int, **context: Any) -> HTMLResponse:
    return render_page(intake.templates, intake.catalogue.current, template, status, **context)


def intake_link(intake: Intake, request: Request, name: str, **params: str) -> str:
    """A link to one of the intake's own pages: below intake_url's path on the site's origin, else the intake's full address."""
    url = request.url_for(name, **params)
    if not intake.settings.same_origin:
        return str(url)
    return intake.settings.mount_path + url.path.removeprefix(request.scope.get("root_path", ""))


def form_page(intake: Intake, kind: str | None, status: int, values: dict[str, str], errors: dict[str, str], summary_text: str = "") -> HTMLResponse:
    """The form again, in the site's theme, with what the person typed and an NHS.UK error summary."""
    cat = intake.catalogue.current
    ids = FIELD_IDS.get(kind or "", {})
    error_list = [{"text": message, "href": f"#{ids.get(name, name)}"} for name, message in errors.items()]
    if summary_text and not error_list:
        error_list = [{"text": summary_text}]
        summary_text = ""
    target = values.get("target", "")
    challenge_slug = values.get("challenge") or cat.target_challenge(target) or ""
    return render(
        intake, "intake_error.html", status,
        page_title=PAGE_TITLES.get(kind, PAGE_TITLES[None]),
        summary_title="There is a problem",
        summary_text=summary_text,
        error_list=error_list,
        form_kind=kind if values else None,
        form_values=values,
        form_errors=errors,
        challenges=list(cat.challenges.values()),
        form_challenge=values.get("challenge") or None,
        comment_target=target,
        comment_title=cat.target_title(target) if target else "",
        challenge={"slug": challenge_slug},
    )


def rejection_response(intake: Intake, request: Request, kind: str, rejection: Rejection) -> Response:
    if wants_json(request):
        return JSONResponse({"error": rejection.message}, status_code=rejection.status, headers=rejection.headers)
    page = form_page(intake, kind, rejection.status, rejection.values or {}, {}, rejection.message)
    page.headers.update(rejection.headers)
    return page


def make_submit(kind: str) -> Callable[[Request], Any]:
    async def submit(request: Request) -> Response:
        intake: Intake = request.app.state.intake
        try:
            intake.check_origin(request)
            body_kind = intake.content_kind(request)
            body = await intake.read_body(request)
            raw = parse_body(body, body_kind)
            try:
                intake.check_rate(request, kind)
            except Rejection as rejection:
                rejection.values = typed_values(kind, raw)
                raise
            if raw.get(HONEYPOT):
                raise Rejection(400, "A hidden field that people leave empty was filled in, so this looks automated. If you are a person, clear any form-filling tool's entries and send it again.", typed_values(kind, raw))
            try:
                result = validate(kind, raw, intake.catalogue.current)
            except UnreadableInput as exc:
                raise Rejection(400, f"What you sent could not be read: {exc}.") from None
        except Rejection as rejection:
            return rejection_response(intake, request, kind, rejection)
        if result.submission is None:
            if wants_json(request):
                return JSONResponse({"errors": result.errors}, status_code=422)
            return form_page(intake, kind, 422, result.values, result.errors)
        sub = result.submission
        try:
            reference = await intake.store.add(kind, sub.fields, None)
            if sub.email:  # kept apart from the submission, only with its consent (intake/notify/subscriptions.py)
                try:
                    await run_in_threadpool(subscribe, intake.store, reference, kind, sub.email)
                except Exception as exc:  # noqa: BLE001 - the submission is safe; the confirmation page will not promise emails
                    log.error("Could not keep the email address for %s: %s", reference, type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - whatever failed, nothing was kept and the person is told so
            log.error("Could not store a %s submission: %s", kind, type(exc).__name__)
            message = "Sorry, we could not save what you sent just now. Nothing was kept. Please try again in a few minutes."
            return rejection_response(intake, request, kind, Rejection(503, message, result.values))
        intake.worker.wake.set()
        if wants_json(request):
            return JSONResponse({"reference": reference, "status": "received", "status_url": f"{intake.settings.mount_path}/status/{reference}"}, status_code=202)
        return RedirectResponse(intake_link(intake, request, "confirmation", reference=reference), status_code=303)

    return submit


def published_url(record_proposal: dict[str, Any] | None, kind: str, reference: str) -> str | None:
    path = (record_proposal or {}).get("path", "")
    parts = path.removesuffix(".md").split("/")
    if kind == "idea" and len(parts) == 4:
        return f"/ideas/{parts[3]}/"
    if kind == "topic" and len(parts) == 4:
        return f"/challenges/{parts[2]}/topics/{parts[3]}/"
    return None


def _current_state(intake: Intake, reference: str) -> Any:
    """The stored record, brought up to date with the forge when it is with the editors (as stored if the forge cannot say)."""
    record = intake.store.get(reference)
    if record is not None and record.state == "proposed":
        try:
            state = intake.forge.state(reference)
        except Exception as exc:  # noqa: BLE001 - the forge unreachable or refusing: the stored state is still true, if not the latest
            log.warning("Could not ask the forge about %s: %s", reference, type(exc).__name__)
            return record
        if record_decision(intake.store, intake.forge, reference, state):
            record = intake.store.get(reference)
    return record


def lookup_limited(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Pages that show what a person sent are rate limited per client, so references cannot be guessed quickly."""

    async def limited(request: Request) -> Response:
        intake: Intake = request.app.state.intake
        try:
            intake.check_rate(request, LOOKUP)
        except Rejection as rejection:
            return rejection_response(intake, request, "", rejection)
        return await handler(request)

    return limited


@lookup_limited
async def status(request: Request) -> Response:
    intake: Intake = request.app.state.intake
    reference = request.path_params["reference"].strip().upper()
    record = await run_in_threadpool(_current_state, intake, reference) if re.match(REFERENCE_PATTERN, reference) else None
    if wants_json(request):
        if record is None:
            return JSONResponse({"error": f"No submission has the reference {reference}."}, status_code=404)
        return JSONResponse({"reference": reference, "status": record.state, "label": STATE_TAGS[record.state][0], "reason": record.reason})
    status_action = intake_link(intake, request, "status_query")
    catalogue = intake.catalogue.current
    if record is None:
        return not_found_page(intake.templates, catalogue, reference, status_action)
    link = published_url(record.proposal, record.kind, reference)
    return status_page(intake.templates, catalogue, intake.settings, record, intake.settings.site_link(link) if link else None, status_action)


@lookup_limited
async def confirmation(request: Request) -> Response:
    """The page a browser lands on after sending a form: the reference in the panel, rendered here."""
    intake: Intake = request.app.state.intake
    reference = request.path_params["reference"].strip().upper()
    record = await run_in_threadpool(intake.store.get, reference) if re.match(REFERENCE_PATTERN, reference) else None
    catalogue = intake.catalogue.current
    if record is None:
        return not_found_page(intake.templates, catalogue, reference, intake_link(intake, request, "status_query"))
    subscribed = await run_in_threadpool(is_subscribed, intake.store, reference)
    return confirmation_page(intake.templates, catalogue, intake.settings, record, intake_link(intake, request, "status", reference=reference), subscribed)


async def status_query(request: Request) -> Response:
    reference = status_reference(request.query_params.get("reference", ""))
    return RedirectResponse(request.url_for("status", reference=reference).path, status_code=303)


async def healthz(request: Request) -> Response:
    intake: Intake = request.app.state.intake
    try:
        counts = await run_in_threadpool(intake.store.counts)
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure of the store
        return JSONResponse({"status": "error", "detail": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "submissions": counts})


def create_app(
    settings: IntakeSettings,
    on_published: Callable[[], object] | None = None,
    forge: Forge | None = None,
) -> Starlette:
    """The intake as an ASGI app; its lifespan runs the publisher worker (unless settings.run_worker is off)."""
    if settings.secret_generated:
        log.warning("CONSULT_INTAKE_SECRET is not set: client addresses are hashed with a random key made for this process only.")
    catalogue = CatalogueHolder(settings.root, settings.clock)
    store = Store(settings.db_path, taken=lambda ref: ref in catalogue.current.references, clock=settings.clock)
    forge = forge or make_forge(settings)
    worker = Worker(settings, store, forge, catalogue, on_published)
    limiters = {kind: RateLimiter(settings.secret, limit, window) for kind, (limit, window) in settings.rate_limits.items()}
    intake = Intake(settings, store, forge, catalogue, make_templates(settings, catalogue.current), limiters, worker)
    from .support import support_routes  # the support routes build on this module's checks

    support, supports = support_routes(intake)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.run_worker:
            worker.start()
        try:
            yield
        finally:
            worker.stop()
            supports.store.close()
            store.close()

    routes = [Route(f"/{path}", make_submit(kind), methods=["POST"], name=f"submit_{kind}") for path, kind in KINDS.items()]
    routes += [
        Route("/confirmation/{reference}", confirmation, methods=["GET"], name="confirmation"),
        Route("/status/{reference}", status, methods=["GET"], name="status"),
        Route("/status", status_query, methods=["GET"], name="status_query"),
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        *unsubscribe_routes(),
        *support,
    ]
    if settings.config.forge == "github":  # GitHub's word on pull requests: <intake url>/webhooks/github
        routes.append(github_webhook_route(store_updater(store, forge), forge))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.intake = intake
    app.state.supports = supports
    return app
