"""The one-click unsubscribe page: `GET` or `POST <intake url>/unsubscribe/<reference>/<token>`.

No login: the signed link (links.py) is the proof. A valid link deletes the
address at once, everywhere it is kept (subscriptions.unsubscribe), and says
so; opening it again says the same. `POST` is accepted for mail programs'
one-click unsubscribe (RFC 8058), so it needs no Origin header. A link that
is cut short or changed gets a page saying what to do, never an error.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from generator.schema import REFERENCE_PATTERN

from ..pages import render_page
from .links import link_key, token_is_valid
from .subscriptions import unsubscribe


async def unsubscribe_page(request: Request) -> Response:
    intake = request.app.state.intake
    reference = request.path_params["reference"].strip().upper()
    given = request.path_params["token"]
    valid = bool(re.match(REFERENCE_PATTERN, reference)) and token_is_valid(link_key(intake.settings), reference, given)
    if valid:
        await run_in_threadpool(unsubscribe, intake.store, reference)
    status_url = (
        f"{intake.settings.mount_path}/status/{reference}" if intake.settings.same_origin else str(request.url_for("status", reference=reference))
    )
    return render_page(
        intake.templates,
        intake.catalogue.current,
        "unsubscribe.html",
        200 if valid else 400,
        done=valid,
        reference=reference if valid else "",
        status_url=status_url,
    )


def unsubscribe_routes() -> list[Route]:
    return [Route("/unsubscribe/{reference}/{token}", unsubscribe_page, methods=["GET", "POST"], name="unsubscribe")]
