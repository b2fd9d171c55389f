"""The intake's HTTP app (Starlette): POST /ideas, /comments, /topics; GET /confirmation/{reference},
GET /status/{reference}; GET /healthz; POST /supports, GET /supports/{slug}, GET /counts.json (intake/support.py); POST /webhooks/github when site.yml says `forge: github`.

Starlette on uvicorn, not FastAPI: the forms are three small, hand-checked
shapes whose messages must follow the NHS.UK patterns, so a validation layer
that writes its own error messages would only be in the way.

Order of checks for a submission: origin → content type → size → read
(UTF-8) → rate limit → honeypot → fields. It is stored (durably) before the answer:
303 to the intake's own confirmation page (intake/pages.py) for a browser, 202 with the reference for JSON.
The checks are in intake/checks.py, the rate limits in intake/limits.py; a check that
fails raises a `Rejection`, which the app's exception handler turns into the form
again or JSON (intake/rendering.py).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from generator.schema import REFERENCE_PATTERN

from .catalogue import CatalogueHolder
from .checks import Rejection, check_honeypot, check_origin, content_kind, parse_body, read_body, status_reference, typed_values, wants_json
from .db import DatabaseUnavailable
from .decisions import record_decision
from .forge.base import Forge
from .forms import Submission, UnreadableInput, validate
from .limits import Limiters, lookup_limited, shared_limits
from .notify.subscriptions import is_subscribed, subscribe
from .notify.unsubscribe import unsubscribe_routes
from .pages import STATE_TAGS, confirmation_page, not_found_page, status_page
from .rendering import UNAVAILABLE, form_page, make_templates, rejection_page, unavailable_page
from .settings import IntakeSettings
from .store import Store
from .webhook import github_webhook_route, store_updater
from .worker import Worker, WorkerProcess, make_forge

log = logging.getLogger("consult.intake")

KINDS = {"ideas": "idea", "comments": "comment", "topics": "topic"}


@dataclass
class Intake:
    """What the request handlers share."""

    settings: IntakeSettings
    store: Store
    forge: Forge
    catalogue: CatalogueHolder
    templates: Environment
    limiters: Limiters
    """One per kind of request (idea, comment, topic, lookup, support, supporter), each with its own limit."""
    worker: Worker
    """The publisher in this process (a thread, when started); `consult intake` runs it in a child process instead."""
    publisher: WorkerProcess | None = None
    """The publisher in its own process, while the app runs one (else None)."""

    def wake_worker(self) -> None:
        """Tell whichever publisher runs that a submission is waiting."""
        if self.publisher is not None:
            self.publisher.wake()
        else:
            self.worker.wake.set()


def intake_link(intake: Intake, request: Request, name: str, **params: str) -> str:
    """A link to one of the intake's own pages: below intake_url's path on the site's origin, else the intake's full address."""
    url = request.url_for(name, **params)
    if not intake.settings.same_origin:
        return str(url)
    return intake.settings.mount_path + url.path.removeprefix(request.scope.get("root_path", ""))


async def keep(intake: Intake, kind: str, sub: Submission, values: dict[str, str]) -> str:
    """Store a valid submission (and its email address, with its consent) and return its reference; a 503 when nothing could be kept."""
    try:
        reference = await intake.store.add(kind, sub.fields, None)
        if sub.email:  # kept apart from the submission, only with its consent (intake/notify/subscriptions.py)
            try:
                await run_in_threadpool(subscribe, intake.store, reference, kind, sub.email)
            except Exception as exc:  # noqa: BLE001 - the submission is safe; the confirmation page will not promise emails
                log.error("Could not keep the email address for %s: %s", reference, type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - whatever failed, nothing was kept and the person is told so
        log.error("Could not store a %s submission: %s", kind, exc if isinstance(exc, DatabaseUnavailable) else type(exc).__name__)
        message = (
            "Sorry, we could not save what you sent just now because of a problem on our side. Nothing was kept. "
            "Please try again in a few minutes: what you typed is still in the form below."
        )
        raise Rejection(503, message, values, UNAVAILABLE) from None
    return reference


def make_submit(kind: str) -> Callable[[Request], Any]:
    async def submit(request: Request) -> Response:
        intake: Intake = request.app.state.intake
        request.state.form_kind = kind  # the form a Rejection sends back (rendering.rejection_page)
        check_origin(request, intake.settings)
        body_kind = content_kind(request)
        raw = parse_body(await read_body(request, intake.settings.max_bytes), body_kind)
        typed = typed_values(kind, raw)
        await intake.limiters.check(request, kind, typed)
        check_honeypot(raw, typed)
        try:
            result = validate(kind, raw, intake.catalogue.current)
        except UnreadableInput as exc:
            raise Rejection(400, f"What you sent could not be read: {exc}.") from None
        if result.submission is None:
            if wants_json(request):
                return JSONResponse({"errors": result.errors}, status_code=422)
            return form_page(intake.templates, intake.catalogue.current, kind, 422, result.values, result.errors)
        reference = await keep(intake, kind, result.submission, result.values)
        intake.wake_worker()
        if wants_json(request):
            return JSONResponse(
                {"reference": reference, "status": "received", "status_url": f"{intake.settings.mount_path}/status/{reference}"}, status_code=202
            )
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
        try:  # the state, and for a closed proposal its public reason: both ask the forge
            decided = record_decision(intake.store, intake.forge, reference, intake.forge.state(reference))
        except Exception as exc:  # noqa: BLE001 - the forge unreachable or refusing: the stored state is still true, if not the latest
            log.warning("Could not ask the forge about %s: %s", reference, type(exc).__name__)
            return record
        if decided:
            record = intake.store.get(reference)
    return record


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
    return confirmation_page(
        intake.templates, catalogue, intake.settings, record, intake_link(intake, request, "status", reference=reference), subscribed
    )


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
    worker_process: bool = False,
) -> Starlette:
    """The intake as an ASGI app; its lifespan runs the publisher worker (unless settings.run_worker is off).

    The worker runs as a thread of this process, or with `worker_process` (as `consult intake` runs it) as a
    child process of its own, started and stopped with the app; either way the catalogue is read again after
    each publication and `on_published` called.
    """
    if settings.secret_generated:
        log.warning("CONSULT_INTAKE_SECRET is not set: client addresses are hashed with a random key made for this process only.")
    catalogue = CatalogueHolder(settings.root, settings.clock)
    store = Store.from_settings(settings, taken=lambda ref: ref in catalogue.current.references)
    forge = forge or make_forge(settings, store.db)
    worker = Worker(settings, store, forge, catalogue, on_published)
    intake = Intake(settings, store, forge, catalogue, make_templates(settings, catalogue.current), Limiters(settings, shared_limits(store)), worker)
    from .support import support_routes  # the support routes build on this module's checks

    support, supports = support_routes(intake)

    def published() -> None:
        """The worker process published something: read the site's content again (as the in-process worker does)."""
        catalogue.refresh(force=True)
        if on_published is not None:
            on_published()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.run_worker and worker_process:
            intake.publisher = WorkerProcess(settings.root, on_published=published, tick=catalogue.refresh)
            await run_in_threadpool(intake.publisher.start)
        elif settings.run_worker:
            worker.start()
        try:
            yield
        finally:
            if intake.publisher is not None:
                await run_in_threadpool(intake.publisher.stop)
                intake.publisher = None
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
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={Rejection: rejection_page, DatabaseUnavailable: unavailable_page})
    app.state.intake = intake
    app.state.supports = supports
    return app
