"""A fake of GOV.UK Notify's REST API on 127.0.0.1, checking what the real one checks.

Its checks and messages follow Notify's own API (alphagov/notifications-api: app/authentication/auth.py,
app/v2/notifications/notification_schemas.py, app/v2/errors.py).

- Authorisation (https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header):
  `Authorization: Bearer <JWT>`, HS256, `iss` = the service ID, `iat` within 30 seconds
  of now, signed with the secret part of the API key (`name-<service id>-<secret>`).
  No token: 401 AuthError; anything wrong with it: 403 AuthError.
- POST /v2/notifications/email: `email_address` (a valid address), `template_id` (a known
  template), `personalisation` (every placeholder of that template), `reference`,
  `one_click_unsubscribe_url` (https), nothing else; 201 with the documented body, or
  400 ValidationError / BadRequestError.
- GET /v2/notifications?reference=…&template_type=email: the notifications with that reference.
- The rate limit per key (3,000 requests in 60 seconds): 429 RateLimitError.
- `inject(kind, times, method)` adds faults: "500", "429", "403", "timeout" (holds the request
  past the client's timeout, sending nothing), "timeout-after-create" (creates the
  notification, then holds), "reset" (drops the connection).

    with FakeNotify(templates={template_id: {"url", "reference"}}) as notify:
        key = notify.api_key()   # a valid key for this service
        notify.url               # CONSULT_NOTIFY_URL
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import jwt

EMAIL = re.compile(r"^[^\s@()<>,;:\\\"\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
ALLOWED_FIELDS = {
    "email_address",
    "template_id",
    "personalisation",
    "reference",
    "scheduled_for",
    "email_reply_to_id",
    "one_click_unsubscribe_url",
    "sanitise_content_for",
}
"""The properties of Notify's `post_email_request` schema (app/v2/notifications/notification_schemas.py); no others are allowed."""
FAULT_KINDS = {"500", "429", "403", "timeout", "timeout-after-create", "reset"}


def error_body(status: int, error: str, message: str) -> dict[str, Any]:
    """Notify's error shape."""
    return {"errors": [{"error": error, "message": message}], "status_code": status}


@dataclass
class Request:
    method: str
    path: str
    at: float
    body: dict[str, Any] | None
    status: int = 0


@dataclass
class FakeNotify:
    templates: dict[str, set[str]]
    """Template ID → its placeholders."""
    service_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    rate_limit: int = 3000
    rate_window: float = 60.0
    hold: float = 3.0
    """Seconds a timeout fault holds the request before dropping the connection."""

    def __post_init__(self) -> None:
        self.requests: list[Request] = []
        self.notifications: list[dict[str, Any]] = []
        self.faults: deque[tuple[str, str | None]] = deque()
        self.lock = threading.Lock()
        self._recent: deque[float] = deque()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def api_key(self, name: str = "consult-test", secret: str | None = None) -> str:
        return f"{name}-{self.service_id}-{secret or self.secret}"

    def inject(self, kind: str, times: int = 1, method: str | None = None) -> None:
        """The next `times` requests (of `method`, GET or POST, if given) meet this fault."""
        assert kind in FAULT_KINDS, kind
        with self.lock:
            self.faults.extend([(kind, method)] * times)

    def take_fault(self, method: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault[1] in (None, method):
                    self.faults.remove(fault)
                    return fault[0]
        return None

    def sent(self) -> list[Request]:
        """Every POST of an email, whatever the answer."""
        return [r for r in self.requests if r.method == "POST"]

    def max_in_window(self, seconds: float) -> int:
        """The most requests Notify received within any `seconds`."""
        times = sorted(r.at for r in self.requests)
        return max((sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times)), default=0)

    # -- checks ----------------------------------------------------------------------------

    def authorise(self, header: str | None) -> tuple[int, dict[str, Any]] | None:
        if not header or not header.startswith("Bearer "):
            return 401, error_body(401, "AuthError", "Unauthorized: authentication token must be provided")
        token = header.removeprefix("Bearer ")
        try:
            if jwt.get_unverified_header(token).get("alg") != "HS256":
                return 403, error_body(403, "AuthError", "Invalid token: algorithm used is not HS256")
            claims = jwt.decode(token, options={"verify_signature": False, "verify_iat": False})
        except jwt.PyJWTError:
            return 403, error_body(403, "AuthError", "Invalid token: signature, api token not found")
        if claims.get("iss") != self.service_id:
            return 403, error_body(403, "AuthError", "Invalid token: service not found")
        try:
            jwt.decode(token, key=self.secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.PyJWTError:
            return 403, error_body(403, "AuthError", "Invalid token: API key not found")
        if not isinstance(claims.get("iat"), int) or abs(time.time() - claims["iat"]) > 30:
            return 403, error_body(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")
        return None

    def over_limit(self, now: float) -> bool:
        with self.lock:
            while self._recent and self._recent[0] <= now - self.rate_window:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                return True
            self._recent.append(now)
            return False

    def check_email(self, body: Any) -> tuple[int, dict[str, Any]] | None:
        if not isinstance(body, dict):
            return 400, error_body(400, "ValidationError", "Request body must be a JSON object")
        extra = sorted(set(body) - ALLOWED_FIELDS)
        if extra:
            return 400, error_body(400, "ValidationError", f"Additional properties are not allowed ({', '.join(extra)} was unexpected)")
        for name in ("email_address", "template_id"):
            if name not in body:
                return 400, error_body(400, "ValidationError", f"{name} is a required property")
        if not isinstance(body["email_address"], str) or not EMAIL.match(body["email_address"]):
            return 400, error_body(400, "ValidationError", "email_address Not a valid email address")
        if body["template_id"] not in self.templates:
            return 400, error_body(400, "BadRequestError", "Template not found")
        personalisation = body.get("personalisation") or {}
        missing = sorted(self.templates[body["template_id"]] - set(personalisation))
        if missing:
            return 400, error_body(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        reference = body.get("reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 1000):
            return 400, error_body(400, "ValidationError", "reference is not a valid string")
        unsubscribe = body.get("one_click_unsubscribe_url")
        if unsubscribe is not None and not (isinstance(unsubscribe, str) and unsubscribe.startswith("https://")):
            return 400, error_body(400, "ValidationError", "one_click_unsubscribe_url is not a valid https url")
        return None

    # -- answers ---------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        notification_id = str(uuid.uuid4())
        template_id = body["template_id"]
        record = {
            "id": notification_id,
            "reference": body.get("reference"),
            "email_address": body["email_address"],
            "phone_number": None,
            "type": "email",
            "status": "created",
            "template": {"id": template_id, "version": 1, "uri": f"{self.url}/v2/template/{template_id}/version/1"},
            "body": json.dumps(body.get("personalisation") or {}),
            "subject": "Subject",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
            "created_by_name": None,
            "sent_at": None,
            "completed_at": None,
            "one_click_unsubscribe_url": body.get("one_click_unsubscribe_url"),
        }
        with self.lock:
            self.notifications.append(record)
        return record

    def created_body(self, record: dict[str, Any]) -> dict[str, Any]:
        """The documented 201 answer to POST /v2/notifications/email."""
        return {
            "id": record["id"],
            "reference": record["reference"],
            "content": {
                "subject": record["subject"],
                "body": record["body"],
                "from_email": "talk.health.and.care@notifications.service.gov.uk",
                "one_click_unsubscribe_url": record["one_click_unsubscribe_url"],
            },
            "uri": f"{self.url}/v2/notifications/{record['id']}",
            "template": record["template"],
        }

    def lookup(self, query: dict[str, list[str]]) -> dict[str, Any]:
        reference = (query.get("reference") or [None])[0]
        kind = (query.get("template_type") or [None])[0]
        with self.lock:
            found = [n for n in self.notifications if (reference is None or n["reference"] == reference) and (kind is None or n["type"] == kind)]
        return {"notifications": list(reversed(found)), "links": {"current": f"{self.url}/v2/notifications"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_request(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, time.time(), body)
                with fake.lock:
                    fake.requests.append(request)
                fault = fake.take_fault(self.command)
                status, answer = self.route(parts.path, parse_qs(parts.query), body, fault)
                request.status = status
                if status:
                    self.answer(status, answer)

            def route(self, path: str, query: dict[str, list[str]], body: Any, fault: str | None) -> tuple[int, dict[str, Any]]:
                refused = fake.authorise(self.headers.get("Authorization"))
                if refused:
                    return refused
                if fake.over_limit(time.time()) or fault == "429":
                    return 429, error_body(
                        429,
                        "RateLimitError",
                        f"Exceeded rate limit for key type LIVE of {fake.rate_limit} requests per {fake.rate_window:.0f} seconds",
                    )
                if fault == "403":
                    return 403, error_body(403, "AuthError", "Invalid token: API key revoked")
                if fault == "500":
                    return 500, error_body(500, "Exception", "Internal server error")
                if fault in ("timeout", "reset"):
                    return self.drop(fault)
                if self.command == "GET" and path == "/v2/notifications":
                    return 200, fake.lookup(query)
                if self.command == "POST" and path == "/v2/notifications/email":
                    refused = fake.check_email(body)
                    if refused:
                        return refused
                    record = fake.create(body)
                    if fault == "timeout-after-create":
                        return self.drop("timeout")
                    return 201, fake.created_body(record)
                return 404, error_body(404, "NoResultFound", "No result found")

            def drop(self, fault: str) -> tuple[int, dict[str, Any]]:
                if fault == "timeout":
                    time.sleep(fake.hold)
                self.connection.shutdown(socket.SHUT_RDWR)
                return 0, {}

            def do_GET(self) -> None:
                self.handle_request()

            def do_POST(self) -> None:
                self.handle_request()

        return Handler
