"""The sender: takes due messages from the queue and sends each through GOV.UK Notify, at most once.

Each message is claimed (state `sending`, attempts + 1) in a transaction before
any request, and its key is sent as Notify's `reference`. A message claimed
before (a crash, a timeout, a 5xx whose outcome is unknown) is first looked up
at Notify by that reference (GET /v2/notifications?reference=…) and only sent
when Notify has no notification with it. So neither a crash between claim and
send nor a second replica sends anything twice.

Notify's answers (https://docs.notifications.service.gov.uk/python.html#error-codes):
201 sent; 400 (a bad address, a team-only key, an unknown template) failed for good,
recorded and never retried; 403 the key is wrong or the clock is off: logged with
what to do, everything waits; 429 too many requests: every process waits (the
limiter); 5xx and timeouts retried with back-off. With no API key, each message is
written to the outbox folder as an `.eml` file instead.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from generator.config import NotifyTemplates
from generator.errors import ConsultError

from ..settings import NOTIFY_URL, IntakeSettings
from ..store import Store
from . import outbox
from .limiter import Limiter
from .queue import TEMPLATES, transaction
from .texts import load_text

log = logging.getLogger("consult.intake.notify")


@dataclass(frozen=True)
class Message:
    """One claimed row of `notify_messages`."""

    key: str
    email: str | None
    template: str
    personalisation: dict[str, str]
    attempts: int
    created_at: str

    @classmethod
    def from_row(cls, row: Any) -> Message:
        return cls(row["key"], row["email"], row["template"], json.loads(row["personalisation"]), row["attempts"], row["created_at"])


@dataclass(frozen=True)
class Failure:
    """What Notify said when it did not send: its status, error name and message (never holding the address)."""

    status: int
    error: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.error}: {self.message}"


def failure_of(exc: HTTPError, address: str) -> Failure:
    """Notify's error body `{"errors": [{"error": …, "message": …}], "status_code": …}`, the address blanked out."""
    if exc.response is None:
        return Failure(exc.status_code, "NoAnswer", "no answer from Notify (a timeout or a connection error)")
    details = exc.message
    first: dict[str, Any] = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    text = str(first.get("message", details))
    if address:
        text = text.replace(address, "<address>")
    return Failure(exc.status_code, str(first.get("error", "Error")), text[:300])


def backoff(attempts: int, base: float, maximum: float) -> float:
    """Seconds before the next try: base·2^(attempts-1), capped, with ±20% jitter."""
    return min(maximum, base * 2 ** min(max(attempts - 1, 0), 20)) * random.uniform(0.8, 1.2)


class Sender:
    """Sends what the queue holds: through Notify with an API key, else into the outbox folder."""

    def __init__(
        self,
        store: Store,
        templates: NotifyTemplates,
        site_title: str,
        api_key: str = "",
        base_url: str = NOTIFY_URL,
        limiter: Limiter | None = None,
        lease_seconds: float = 300.0,
        retry_base: float = 10.0,
        retry_max: float = 3600.0,
        max_attempts: int = 25,
        timeout: float = 10.0,
        max_wait: float = 2.0,
    ):
        self.store, self.templates, self.site_title = store, templates, site_title
        self.limiter = limiter or Limiter(store)
        self.lease_seconds, self.retry_base, self.retry_max = lease_seconds, retry_base, retry_max
        self.max_attempts = max_attempts
        """With the back-off capped at an hour, the last try is well within the 7 days Notify answers lookups by reference for."""
        self.max_wait = max_wait
        self.outbox = outbox.outbox_folder(store.path)
        self.client: NotificationsAPIClient | None = None
        if api_key:
            missing = [name for name in TEMPLATES if not getattr(templates, name)]
            if missing:
                raise ConsultError(
                    f"CONSULT_NOTIFY_API_KEY is set but site.yml has no notify.templates ID for {', '.join(missing)}: "
                    "add each template's ID from Notify (handbook: Setting up GOV.UK Notify), or unset the key to use the outbox"
                )
            self.client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: IntakeSettings, store: Store) -> Sender:
        return cls(store, settings.config.notify.templates, settings.config.title, settings.notify_api_key, settings.notify_url)

    # -- the queue ------------------------------------------------------------------------

    def claim(self, skip: Collection[str] = ()) -> Message | None:
        """Take the oldest due message (not one of `skip`): state `sending` until the lease ends, attempts + 1."""
        now = time.time()
        due = "state IN ('queued', 'sending') AND next_attempt <= ?"
        with self.store.db.read() as conn:
            if conn.execute(f"SELECT 1 AS due FROM notify_messages WHERE {due} LIMIT 1", (now,)).fetchone() is None:
                return None  # nothing due: no write transaction on every turn of the worker's loop
        skipped = sorted(set(skip))
        not_skipped = f" AND key NOT IN ({','.join('?' * len(skipped))})" if skipped else ""
        with transaction(self.store) as conn:
            row = conn.execute(
                "UPDATE notify_messages SET state = 'sending', attempts = attempts + 1, next_attempt = ? WHERE key = "
                f"(SELECT key FROM notify_messages WHERE {due}{not_skipped} "
                f"ORDER BY next_attempt, created_at LIMIT 1{self.store.db.skip_locked}) RETURNING *",
                (now + self.lease_seconds, now, *skipped),
            ).fetchone()
        return Message.from_row(row) if row is not None else None

    def _finish(self, key: str, state: str, notify_id: str | None = None, error: str | None = None) -> None:
        sent_at = self.store.clock.now().isoformat(timespec="seconds") if state in ("sent", "written") else None
        with transaction(self.store) as conn:
            conn.execute(
                "UPDATE notify_messages SET state = ?, notify_id = ?, error = ?, sent_at = ? WHERE key = ? AND state = 'sending'",
                (state, notify_id, error, sent_at, key),
            )

    def _later(self, message: Message, delay: float, error: str | None) -> None:
        with transaction(self.store) as conn:
            conn.execute(
                "UPDATE notify_messages SET state = 'queued', next_attempt = ?, error = ? WHERE key = ? AND state = 'sending'",
                (time.time() + delay, error, message.key),
            )

    # -- sending --------------------------------------------------------------------------

    def run_once(self, batch: int = 50, stop: threading.Event | None = None) -> int:
        """Send (or write) up to `batch` due messages, each at most once; return how many were tried.

        Returns at once while Notify's limit or a refused key pauses sending. Never raises for one message.
        """
        handled: list[str] = []
        while len(handled) < batch and not (stop is not None and stop.is_set()):
            if self.client is not None and self.limiter.paused_for() > self.max_wait:
                break
            message = self.claim(skip=handled)
            if message is None:
                break
            handled.append(message.key)
            try:
                if not self.handle(message):
                    break
            except Exception as exc:  # noqa: BLE001 - unexpected: logged without a traceback, its text without the address
                text = str(exc).replace(message.email, "<address>") if message.email else str(exc)
                self._retry(message, f"{type(exc).__name__}: {text}"[:300])
        return len(handled)

    def handle(self, message: Message) -> bool:
        """Deliver one claimed message; False when sending must pause (Notify's limit, a refused key)."""
        if message.email is None:
            self._finish(message.key, "failed", error="the address was deleted before the email was sent (unsubscribed or purged)")
            return True
        if self.client is None:
            self.write(message, message.email)
            return True
        return self.send(self.client, message, message.email)

    def write(self, message: Message, address: str) -> None:
        """No API key: the email as an `.eml` file in the outbox folder."""
        subject, body = load_text(message.template).render(message.personalisation)
        mail = outbox.OutboxEmail(
            to=address,
            subject=subject,
            body=body,
            template=message.template,
            template_id=getattr(self.templates, message.template) or "",
            key=message.key,
            created_at=dt.datetime.fromisoformat(message.created_at),
            unsubscribe_url=message.personalisation["unsubscribe_url"],
        )
        path = outbox.write(self.outbox, mail, self.site_title)
        self._finish(message.key, "written", notify_id=path.name)
        log.info("Wrote email %s (%s) to the outbox: %s", message.key, message.template, path.name)

    def send(self, client: NotificationsAPIClient, message: Message, address: str) -> bool:
        try:
            if message.attempts > 1:
                if not self._budget(message):
                    return False
                found = self._already_sent(client, message)
                if found is not None:
                    self._finish(message.key, "sent", notify_id=found)
                    log.info("Email %s was already accepted by Notify (%s); not sent again.", message.key, found)
                    return True
            if not self._budget(message):
                return False
            response = client.send_email_notification(
                email_address=address,
                template_id=getattr(self.templates, message.template),
                personalisation=message.personalisation,
                reference=message.key,
                one_click_unsubscribe_url=message.personalisation.get("unsubscribe_url"),
            )
        except HTTPError as exc:
            return self._refused(message, failure_of(exc, address))
        self._finish(message.key, "sent", notify_id=str(response.get("id", "")))
        log.info("Sent email %s (%s) through Notify as %s.", message.key, message.template, response.get("id"))
        return True

    def _already_sent(self, client: NotificationsAPIClient, message: Message) -> str | None:
        """The Notify ID of an email already sent with this message's reference, if any (raises HTTPError)."""
        answer = client.get_all_notifications(template_type="email", reference=message.key)
        for notification in answer.get("notifications", []):
            if notification.get("reference") == message.key:
                return str(notification.get("id"))
        return None

    def _budget(self, message: Message) -> bool:
        """Wait for a request from the shared budget; when the wait is long (a 429 pause), give the message back."""
        waited = 0.0
        while (wait := self.limiter.acquire()) > 0:
            if waited + wait > self.max_wait:
                self._later(message, wait, None)
                return False
            time.sleep(wait)
            waited += wait
        return True

    def _refused(self, message: Message, failure: Failure) -> bool:
        if failure.status == 400:
            self._finish(message.key, "failed", error=str(failure))
            log.warning("Notify refused email %s (%s) for good: %s. It is not retried.", message.key, message.template, failure)
            return True
        if failure.status == 403:
            self.limiter.pause(300)
            self._later(message, 300, str(failure))
            log.error(
                "Notify refused the API key (%s). Check CONSULT_NOTIFY_API_KEY is the whole key of this service, not revoked, "
                "and that this server's clock is right to within 30 seconds. Emails wait and are tried again in 5 minutes.",
                failure,
            )
            return False
        if failure.status == 429:
            daily = failure.error == "TooManyRequestsError"
            pause = 3600.0 if daily else 60.0
            self.limiter.pause(pause)
            self._later(message, pause, str(failure))
            log.warning(
                "Notify says too many requests (%s). %s",
                failure,
                "The service's daily limit is reached: emails wait an hour at a time until it resets; ask Notify to raise the limit if this recurs."
                if daily
                else "Every process waits a minute before sending again.",
            )
            return False
        self._retry(message, str(failure))
        return True

    def _retry(self, message: Message, error: str) -> None:
        """Try again later with back-off, or give up (recorded) after `max_attempts`."""
        if message.attempts >= self.max_attempts:
            self._finish(message.key, "failed", error=f"gave up after {message.attempts} attempts: {error}")
            log.error("Gave up on email %s after %d attempts: %s.", message.key, message.attempts, error)
            return
        delay = backoff(message.attempts, self.retry_base, self.retry_max)
        self._later(message, delay, error)
        log.warning("Could not send email %s (attempt %d): %s. Retrying in %.0f s.", message.key, message.attempts, error, delay)
