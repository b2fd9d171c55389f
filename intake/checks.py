"""Checks on a request before its fields are read: where it comes from, its content type and size,
whether its body can be read at all, and the honeypot.

Each says what was wrong in words a person can act on, most by raising a `Rejection` (the app's
exception handler turns that into a 4xx page or JSON, intake/rendering.py), so no shape of request,
however hostile, reaches the code as an unhandled exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from .forms import HONEYPOT, UnreadableInput, read_values
from .settings import IntakeSettings, origin_of

FORM_TYPES = ("application/x-www-form-urlencoded",)
JSON_TYPES = ("application/json",)
NOT_UTF8 = "What you sent is not valid UTF-8 text. Check for unusual characters and try again."


class Rejection(Exception):
    """A request refused before its fields were checked, with a message for the person."""

    def __init__(self, status: int, message: str, values: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.values, self.headers = status, message, values, headers or {}


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


def check_origin(request: Request, settings: IntakeSettings) -> None:
    problem = origin_problem(request.headers, settings.allowed_origins, settings.base_url)
    if problem:
        raise Rejection(403, problem)


def content_kind(request: Request) -> str:
    """ "form" or "json", from the Content-Type header; any other type is a 415."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in FORM_TYPES:
        return "form"
    if ctype in JSON_TYPES:
        return "json"
    raise Rejection(415, "Send the form as application/x-www-form-urlencoded (a normal web form) or as application/json.")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with a 413 as soon as it is longer than `limit` bytes (by its Content-Length or as it streams in)."""
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


def parse_body(body: bytes, kind: str) -> dict[str, Any]:
    """Form or JSON fields; invalid UTF-8 or a malformed body is a clear 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejection(400, NOT_UTF8) from None
    if kind == "json":
        try:
            data = load_json(text)
        except UnreadableBody as exc:
            raise Rejection(400, str(exc)) from None
        if not isinstance(data, dict):
            raise Rejection(400, 'Send a JSON object with the form\'s fields, for example {"title": "…"}.')
        return data
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8", errors="strict", max_num_fields=50)
    except UnicodeDecodeError:
        raise Rejection(400, NOT_UTF8) from None
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


def check_honeypot(raw: dict[str, Any], values: dict[str, str] | None = None) -> None:
    """A 400 when the hidden field people leave empty was filled in; `values` fill the form back in."""
    if raw.get(HONEYPOT):
        raise Rejection(
            400,
            "A hidden field that people leave empty was filled in, so this looks automated. If you are a person, clear any form-filling tool's entries and send it again.",
            values,
        )


def wants_json(request: Request) -> bool:
    """Whether to answer in JSON: a JSON body, or an Accept header that prefers JSON to HTML."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accept = request.headers.get("accept", "")
    return ctype in JSON_TYPES or (accept.startswith("application/json") and "text/html" not in accept)
