"""The intake's templates, and the page that sends a form back: with the person's errors, or with why it was refused.

The templates are the site's own (generator/theme.py), with the built site's assets, so the
pages look like the site's. A `Rejection` raised by any route reaches `rejection_page`, the
app's exception handler: JSON for a JSON client, else the form again with the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from generator.assets import Assets
from generator.errors import BuildError
from generator.theme import environment

from .catalogue import Catalogue
from .checks import Rejection, wants_json
from .db import DatabaseUnavailable
from .forms import FIELD_IDS
from .pages import render_page
from .settings import IntakeSettings

log = logging.getLogger("consult.intake")

PAGE_TITLES = {
    "idea": "Share your idea",
    "comment": "Join the discussion",
    "topic": "Start a new topic",
    None: "We could not accept what you sent",
    "unavailable": "Sorry, there is a problem with the service",
}

RETRY_AFTER = "120"
"""Seconds a person (or client) is asked to wait when the store cannot be reached: the 503's Retry-After."""
UNAVAILABLE = {"Retry-After": RETRY_AFTER}


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
    env = environment(config, assets)
    if not settings.same_origin:  # pages served from another host link back to the site in full
        site_url = cast(Callable[[str], str], env.globals["url"])  # Jinja types its globals as object
        asset_path = cast(Callable[[str], str], env.globals["asset"])
        env.globals["url"] = lambda path="/": settings.base_url + site_url(path).removeprefix(settings.site_path) if path.startswith("/") else path
        env.globals["asset"] = lambda name: settings.base_url + asset_path(name).removeprefix(settings.site_path)
    return env


def form_page(
    templates: Environment,
    catalogue: Catalogue,
    kind: str | None,
    status: int,
    values: dict[str, str],
    errors: dict[str, str],
    summary_text: str = "",
) -> HTMLResponse:
    """The form again, in the site's theme, with what the person typed and an NHS.UK error summary."""
    ids = FIELD_IDS.get(kind or "", {})
    error_list = [{"text": message, "href": f"#{ids.get(name, name)}"} for name, message in errors.items()]
    if summary_text and not error_list:
        error_list = [{"text": summary_text}]
        summary_text = ""
    target = values.get("target", "")
    challenge_slug = values.get("challenge") or catalogue.target_challenge(target) or ""
    return render_page(
        templates,
        catalogue,
        "intake_error.html",
        status,
        page_title=PAGE_TITLES.get(kind, PAGE_TITLES[None]),
        summary_title="There is a problem",
        summary_text=summary_text,
        error_list=error_list,
        form_kind=kind if values else None,
        form_values=values,
        form_errors=errors,
        challenges=list(catalogue.challenges.values()),
        form_challenge=values.get("challenge") or None,
        comment_target=target,
        comment_title=catalogue.target_title(target) if target else "",
        challenge={"slug": challenge_slug},
    )


async def rejection_page(request: Request, exc: Exception) -> Response:
    """The app's handler for `Rejection`: the form the route set in `request.state.form_kind` (none for the lookup pages) with the message."""
    if not isinstance(exc, Rejection):  # registered for Rejection only
        raise exc
    if wants_json(request):
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
    intake = request.app.state.intake
    kind: str = getattr(request.state, "form_kind", "")
    page = form_page(intake.templates, intake.catalogue.current, kind, exc.status, exc.values or {}, {}, exc.message)
    page.headers.update(exc.headers)
    return page


async def unavailable_page(request: Request, exc: Exception) -> Response:
    """The app's handler for `DatabaseUnavailable` outside a post (a post sends its form back itself, intake/app.py
    `keep`): a 503 asking the person to try again in a few minutes, never a 500."""
    if not isinstance(exc, DatabaseUnavailable):  # registered for DatabaseUnavailable only
        raise exc
    log.error("%s", exc)  # names host and database, never the password
    if not getattr(request.state, "form_kind", ""):
        request.state.form_kind = "unavailable"
    message = "Sorry, we cannot show this page just now because of a problem on our side. Please try again in a few minutes."
    return await rejection_page(request, Rejection(503, message, None, UNAVAILABLE))
