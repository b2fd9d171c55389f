"""The one-click unsubscribe link every email carries: `<intake url>/unsubscribe/<reference>/<token>`.

The token is an HMAC-SHA256 of the reference under a key derived from
CONSULT_INTAKE_SECRET, so nobody can make a link for a reference they only
read on the site (references are public in published files). It names no
address. When CONSULT_INTAKE_SECRET is unset, the key is the one kept in the
intake's data folder (intake/keys.py), so the links in emails already sent
keep working after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..keys import durable_secret
from ..settings import IntakeSettings, origin_of

TOKEN_LENGTH = 32


def link_key(settings: IntakeSettings) -> bytes:
    """The key that signs unsubscribe links: from CONSULT_INTAKE_SECRET, else the one kept in the data folder."""
    return hmac.new(durable_secret(settings), b"consult unsubscribe links", hashlib.sha256).digest()


def token(key: bytes, reference: str) -> str:
    digest = hmac.new(key, f"unsubscribe:{reference}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:TOKEN_LENGTH]


def token_is_valid(key: bytes, reference: str, given: str) -> bool:
    return hmac.compare_digest(token(key, reference).encode(), given.encode("utf-8", errors="replace"))


def intake_public_url(settings: IntakeSettings) -> str:
    """The intake's address as a person's browser reaches it: on the site's origin when intake_url is a path."""
    if settings.same_origin:
        return origin_of(settings.base_url) + settings.mount_path
    return settings.config.intake_url.rstrip("/")


def unsubscribe_url(settings: IntakeSettings, key: bytes, reference: str) -> str:
    return f"{intake_public_url(settings)}/unsubscribe/{reference}/{token(key, reference)}"
