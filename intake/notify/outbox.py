"""The outbox: with no Notify API key, each email is written as a readable `.eml` file instead of sent.

The folder is `outbox/` beside the intake store (`.consult/intake/outbox` by
default). `consult intake outbox` lists it; any mail program opens the files.
The files hold addresses, like the store, so forgetting an address or purging
past retention deletes them too.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import os
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

SENDER = "no-reply@outbox.invalid"
"""The From address of outbox files: `.invalid`, so nobody mistakes a file for a sent email."""


def outbox_folder(store_path: Path) -> Path:
    """The outbox beside the store's database file."""
    return store_path.parent / "outbox"


@dataclass(frozen=True)
class OutboxEmail:
    """What one email in the outbox says."""

    to: str
    subject: str
    body: str
    template: str
    template_id: str
    key: str
    created_at: dt.datetime
    unsubscribe_url: str


def file_name(key: str, created_at: dt.datetime) -> str:
    """`20300101-120000-<key>-<hash>.eml`: sorted by date; one name per key, so writing again replaces the file."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-.")[:60]
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{created_at.astimezone(dt.UTC):%Y%m%d-%H%M%S}-{readable}-{digest}.eml"


def to_message(mail: OutboxEmail, site_title: str) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=site_title, addr_spec=SENDER)
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = email.utils.format_datetime(mail.created_at.astimezone(dt.UTC))
    message["X-Notify-Template"] = f"{mail.template} ({mail.template_id})" if mail.template_id else mail.template
    message["X-Notify-Reference"] = mail.key
    message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.body, cte="8bit")  # readable as it is, in any text editor
    return message


def write(folder: Path, mail: OutboxEmail, site_title: str) -> Path:
    """Write one email atomically (readable only by the intake's user); the same key always gives the same file."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / file_name(mail.key, mail.created_at)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(to_message(mail, site_title).as_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


@dataclass(frozen=True)
class Listed:
    """One line of `consult intake outbox`."""

    date: dt.datetime
    to: str
    subject: str
    path: Path


def read(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=email.policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def date_of(message: EmailMessage, path: Path) -> dt.datetime:
    """The email's Date header, or the file's time when a file put there by hand has none."""
    try:
        date = email.utils.parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        date = None
    if date is None or date.tzinfo is None:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return date.astimezone(dt.UTC)


def listing(folder: Path) -> list[Listed]:
    """Every email in the outbox, oldest first."""
    if not folder.is_dir():
        return []
    items = []
    for path in sorted(folder.glob("*.eml")):
        message = read(path)
        items.append(Listed(date_of(message, path), str(message["To"] or ""), str(message["Subject"] or ""), path))
    return items


def forget(folder: Path, address: str) -> int:
    """Delete every outbox file to this address (compared without case); returns how many."""
    wanted = address.strip().lower()
    gone = 0
    for item in listing(folder):
        if item.to.strip().lower() == wanted:
            item.path.unlink(missing_ok=True)
            gone += 1
    return gone


def purge(folder: Path, before: dt.datetime) -> int:
    """Delete every outbox file dated before `before` (retention); returns how many."""
    gone = 0
    for item in listing(folder):
        if item.date < before:
            item.path.unlink(missing_ok=True)
            gone += 1
    return gone
