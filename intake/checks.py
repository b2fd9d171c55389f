"""Checks on a request before its fields are read: where it comes from, and whether its JSON can be read at all.

Each returns what was wrong in words a person can act on (the app turns that into a 4xx page or JSON),
so no shape of request, however hostile, reaches the code as an unhandled exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from .settings import origin_of


class UnreadableBody(ValueError):
    """The body is not JSON this service can read; the message says why."""


def origin_problem(headers: Mapping[str, str], allowed: Collection[str], site: str) -> str | None:
    """Why a post's Origin (or, without one, Referer) is refused; None when it comes from the site.

    Browsers send Origin with every POST, so a post with neither header did not come from the
    site's form. The request's own Host header is never taken as allowed: the client chooses it.
    """
    refused = f"This form can only be sent from {site}. Go to the site and send it from there."
    origin = headers.get("origin")
    if origin is not None:
        return None if origin.strip().lower() in allowed else refused
    referer = headers.get("referer")
    if referer is None:
        return f"This form can only be sent from {site}: the request did not say which page sent it (no Origin or Referer header). Send it from the site's form."
    return None if origin_of(referer) in allowed else refused


def load_json(text: str) -> Any:
    """json.loads, with every way it can fail turned into an UnreadableBody a person can act on."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableBody(f"The JSON could not be read: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise UnreadableBody("The JSON is nested too deeply to read. Send a flat object with the form's fields.") from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise UnreadableBody("The JSON has a number too long to read. Send the form's fields as text.") from None


def status_reference(typed: str) -> str:
    """What someone typed in the "follow your submission" box, as a path segment: letters, digits and dashes only."""
    return re.sub(r"[^A-Z0-9-]", "", typed.upper())[:20] or "-"
