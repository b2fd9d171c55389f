"""The intake's durable signing key, for what must stay valid across restarts.

Unsubscribe links in emails already sent and the supporter cookie in staff's
browsers are signed with a key derived from CONSULT_INTAKE_SECRET. When it is
unset (the `make run` default), a key is made once and kept in the intake's
data folder (`intake.key`, mode 0600), so a restart neither breaks the links
nor turns every browser into a new supporter. The rate limiter's address
hashing keeps its random per-process key: it needs no memory across restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from generator.errors import ConsultError

from .settings import IntakeSettings

KEY_FILE = "intake.key"
PURPOSE = "the key that signs unsubscribe links and supporter cookies"


def stored_key(data_dir: Path) -> bytes:
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
        raise ConsultError(f"{path}: cannot read {PURPOSE} ({exc}); restore it from a backup, or set CONSULT_INTAKE_SECRET") from None
    if len(key) < 16:
        raise ConsultError(f"{path}: {PURPOSE} is too short; restore it from a backup, or set CONSULT_INTAKE_SECRET")
    return key


def durable_secret(settings: IntakeSettings) -> bytes:
    """CONSULT_INTAKE_SECRET when set, else the key kept in the data folder."""
    return stored_key(settings.data_dir) if settings.secret_generated else settings.secret
