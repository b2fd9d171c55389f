"""The one-click unsubscribe link every email carries: `<intake url>/unsubscribe/<reference>/<token>`.

The token is an HMAC-SHA256 of the reference under a key derived from
CONSULT_INTAKE_SECRET, so nobody can make a link for a reference they only
read on the site (references are public in published files). It names no
address. When CONSULT_INTAKE_SECRET is unset, the key is made once and kept
in the intake's data folder (`unsubscribe.key`, mode 0600), so the links in
emails already sent keep working after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from generator.errors import ConsultError

from ..settings import IntakeSettings, origin_of

KEY_FILE = "unsubscribe.key"
TOKEN_LENGTH = 32


def _stored_key(data_dir: Path) -> bytes:
    """The key kept in the data folder, made (readable by its owner only) the first time."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise ConsultError(f"{path}: cannot read the key that signs unsubscribe links ({exc}); restore it from a backup, or set CONSULT_INTAKE_SECRET") from None
    if len(key) < 16:
        raise ConsultError(f"{path}: the key that signs unsubscribe links is too short; restore it from a backup, or set CONSULT_INTAKE_SECRET")
    return key


def link_key(settings: IntakeSettings) -> bytes:
    """The key that signs unsubscribe links: from CONSULT_INTAKE_SECRET, else the one kept in the data folder."""
    secret = _stored_key(settings.data_dir) if settings.secret_generated else settings.secret
    return hmac.new(secret, b"consult unsubscribe links", hashlib.sha256).digest()


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
