"""The intake's settings: site.yml for what the site says, the environment for secrets and paths.

Environment variables (all optional):

- `CONSULT_INTAKE_DATA`: folder of the intake store (default `<root>/.consult/intake`).
- `CONSULT_INTAKE_SECRET`: key for hashing client addresses; a random one per process when unset.
- `CONSULT_INTAKE_RATE_LIMIT`: `N/SECONDS` posts per client address and kind of post (default `30/60`; `0` turns it off).
- `CONSULT_INTAKE_RATE_LIMIT_IDEAS`, `…_COMMENTS`, `…_TOPICS`: the same for one kind of post (default: the above).
- `CONSULT_INTAKE_RATE_LIMIT_LOOKUPS`: status and confirmation pages looked up per client address (default `120/60`;
  off when `CONSULT_INTAKE_RATE_LIMIT` is `0`): they show what a person sent, so guessing references is slowed down.
- `CONSULT_INTAKE_RATE_LIMIT_SUPPORTS`: supports and withdrawals per client address (default `120/60`; off when
  `CONSULT_INTAKE_RATE_LIMIT` is `0`): staff of one trust often share one address, so it is higher than the others.
- `CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER`: supports and withdrawals per browser (its `consult_supporter` cookie),
  default `30/60` (off when `CONSULT_INTAKE_RATE_LIMIT` is `0`).
- `CONSULT_INTAKE_TRUSTED_PROXIES`: addresses or networks of the reverse proxies in front (default none), whose
  `X-Forwarded-For` names the client (see intake/ratelimit.py).
- `CONSULT_INTAKE_MAX_BYTES`: largest request body accepted (default 65536).
- `CONSULT_INTAKE_ORIGINS`: extra allowed origins, separated by spaces (e.g. a staging site).
- `CONSULT_INTAKE_SYNC_SECONDS`: how often the worker asks the forge what editors decided (default 10).
- `CONSULT_MAIN_BRANCH`: branch accepted submissions are merged into (default site.yml github.base_branch).
- `CONSULT_NOTIFY_API_KEY`: a GOV.UK Notify API key (`name-<service id>-<secret>`); unset, emails are written to
  the outbox folder (`<data>/outbox`) instead of sent.
- `CONSULT_NOTIFY_URL`: the Notify API's address (default https://api.notifications.service.gov.uk).
- `CONSULT_INTAKE_DATABASE_URL`: a `postgresql://user@host:port/database` URL to keep the store in PostgreSQL, shared
  by several intake replicas (the password in `PGPASSWORD` or `~/.pgpass`, or in the URL: it is never shown or
  logged); unset, the SQLite file `<data>/intake.sqlite3`. See the handbook's page on the database.
- `CONSULT_INTAKE_DATABASE_POOL`: most PostgreSQL connections one intake process opens (default 8).
- `CONSULT_INTAKE_DATABASE_TIMEOUT`: seconds to wait for PostgreSQL before a request gets a 503 page (default 5).
- `CONSULT_NOW`: what day it is for the intake (see generator/clock.py); unset, the real time.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from generator.clock import Clock
from generator.config import UUID, SiteConfig
from generator.errors import ConsultError, ContentError
from generator.loader import load_config
from generator.theme import base_path

from .db import check_url
from .ratelimit import TrustedProxies

log = logging.getLogger("consult.intake")


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an address, lower-cased; '' when it has none."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def parse_rate(text: str, name: str = "CONSULT_INTAKE_RATE_LIMIT") -> tuple[int, float]:
    """`30/60` → (30, 60.0); `0` → (0, 60.0), meaning no limit."""
    text = text.strip()
    if text in ("", "0", "off"):
        return 0, 60.0
    problem = ConsultError(f"{name} must look like 30/60 (posts per that many seconds, both above 0), or 0 for no limit; found {text!r}")
    try:
        count, _, seconds = text.partition("/")
        limit, window = int(count), float(seconds or 60)
    except ValueError:
        raise problem from None
    if limit < 0 or not 0 < window < float("inf"):
        raise problem
    return limit, window


RATE_KINDS = {"idea": "IDEAS", "comment": "COMMENTS", "topic": "TOPICS"}
"""Each kind of post and the suffix of its own rate-limit variable."""


def parse_rates(env: Mapping[str, str]) -> dict[str, tuple[int, float]]:
    """The rate limit of each kind of post: its own variable, else CONSULT_INTAKE_RATE_LIMIT, else 30/60."""
    default = env.get("CONSULT_INTAKE_RATE_LIMIT", "30/60")
    rates = {}
    for kind, suffix in RATE_KINDS.items():
        name = f"CONSULT_INTAKE_RATE_LIMIT_{suffix}"
        rates[kind] = parse_rate(env[name], name) if name in env else parse_rate(default)
    return rates


LOOKUP = "lookup"
"""Status and confirmation pages: they show what a person sent, so guessing references is slowed down."""


def parse_lookup_rate(env: Mapping[str, str]) -> tuple[int, float]:
    """`CONSULT_INTAKE_RATE_LIMIT_LOOKUPS` (default 120/60); off too when CONSULT_INTAKE_RATE_LIMIT is 0."""
    name = "CONSULT_INTAKE_RATE_LIMIT_LOOKUPS"
    if name in env:
        return parse_rate(env[name], name)
    if parse_rate(env.get("CONSULT_INTAKE_RATE_LIMIT", "30/60"))[0] == 0:
        return parse_rate("0")
    return parse_rate("120/60", name)


NOTIFY_URL = "https://api.notifications.service.gov.uk"
NOTIFY_KEY = re.compile(rf"^\S+-{UUID}-{UUID}$")
"""A Notify API key: its name, the service ID and the secret."""


def notify_from_environment(env: Mapping[str, str]) -> tuple[str, str]:
    """(API key, API address) for GOV.UK Notify; a clear error for a malformed key or address (the key is never shown)."""
    key = env.get("CONSULT_NOTIFY_API_KEY", "").strip()
    if key and not NOTIFY_KEY.match(key):
        raise ConsultError(
            "CONSULT_NOTIFY_API_KEY does not look like a GOV.UK Notify API key (its name, then the service ID and the secret, "
            "two IDs of 36 characters, joined by hyphens): copy the whole key from Notify's API integration page, or unset it to use the outbox"
        )
    url = (env.get("CONSULT_NOTIFY_URL") or NOTIFY_URL).strip().rstrip("/")
    if not origin_of(url).startswith(("https://", "http://")):
        raise ConsultError(f"CONSULT_NOTIFY_URL must be an http(s) address such as {NOTIFY_URL}; found {url!r}")
    return key, url


SUPPORT, SUPPORTER = "support", "supporter"
"""Supports per client address, and per browser (keyed by its signed token): see intake/support.py."""
SUPPORT_RATES = {SUPPORT: ("CONSULT_INTAKE_RATE_LIMIT_SUPPORTS", "120/60"), SUPPORTER: ("CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER", "30/60")}


def parse_support_rates(env: Mapping[str, str]) -> dict[str, tuple[int, float]]:
    """Each support limit from its own variable, else its default; off too when CONSULT_INTAKE_RATE_LIMIT is 0."""
    off = parse_rate(env.get("CONSULT_INTAKE_RATE_LIMIT", "30/60"))[0] == 0
    return {
        kind: parse_rate(env[name], name) if name in env else parse_rate("0" if off else default, name)
        for kind, (name, default) in SUPPORT_RATES.items()
    }


def database_url_from(env: Mapping[str, str]) -> str:
    """`CONSULT_INTAKE_DATABASE_URL` checked (a postgresql:// URL), or '' for the SQLite file."""
    url = env.get("CONSULT_INTAKE_DATABASE_URL", "").strip()
    return check_url(url) if url else ""


def pool_size_from(env: Mapping[str, str]) -> int:
    text = env.get("CONSULT_INTAKE_DATABASE_POOL", "8").strip()
    if not text.isdigit() or not 1 <= int(text) <= 200:
        raise ConsultError(f"CONSULT_INTAKE_DATABASE_POOL must be a whole number of connections from 1 to 200; found {text!r}")
    return int(text)


def timeout_from(env: Mapping[str, str]) -> float:
    text = env.get("CONSULT_INTAKE_DATABASE_TIMEOUT", "5").strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0.5 <= seconds <= 120:
        raise ConsultError(f"CONSULT_INTAKE_DATABASE_TIMEOUT must be a number of seconds from 0.5 to 120; found {text!r}")
    return seconds


LOOPBACK_NAMES = ("localhost", "127.0.0.1")


def loopback_aliases(origin: str) -> set[str]:
    """`http://localhost:8000` → the same origin by its other loopback name; nothing for other hosts.

    `consult serve` may be opened at either name on the developer's own machine.
    """
    parts = urlsplit(origin)
    if parts.hostname not in LOOPBACK_NAMES:
        return set()
    port = f":{parts.port}" if parts.port else ""
    return {f"{parts.scheme}://{name}{port}" for name in LOOPBACK_NAMES}


@dataclass
class IntakeSettings:
    """Everything the intake needs, resolved once at start-up."""

    root: Path
    config: SiteConfig
    data_dir: Path
    secret: bytes = field(repr=False)
    site_dir: Path | None = None
    base_url: str = ""
    """The site's public address (site.yml base_url unless overridden, e.g. by `consult serve`)."""
    rate_limits: dict[str, tuple[int, float]] = field(
        default_factory=lambda: {**{kind: (30, 60.0) for kind in RATE_KINDS}, LOOKUP: (120, 60.0), SUPPORT: (120, 60.0), SUPPORTER: (30, 60.0)}
    )
    """Posts allowed per client address and window in seconds, for each kind of post (idea, comment, topic)."""
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    max_bytes: int = 65536
    extra_origins: tuple[str, ...] = ()
    main_branch: str = "main"
    run_worker: bool = True
    retry_base: float = 1.0
    retry_max: float = 300.0
    secret_generated: bool = False
    """True when CONSULT_INTAKE_SECRET was unset and a random per-process key is used."""
    sync_interval: float = 10.0
    """Seconds between checks of the forge for proposals merged or closed by editors."""
    clock: Clock = field(default_factory=Clock)
    """What day it is for the intake: which challenges are open, dates kept, retention (`CONSULT_NOW`)."""
    notify_api_key: str = field(default="", repr=False)
    """GOV.UK Notify API key (`CONSULT_NOTIFY_API_KEY`); empty: emails go to the outbox folder."""
    notify_url: str = NOTIFY_URL
    """GOV.UK Notify's API address (`CONSULT_NOTIFY_URL`)."""

    database_url: str = field(default="", repr=False)
    """`CONSULT_INTAKE_DATABASE_URL`: PostgreSQL when set (it may hold a password: never shown); else SQLite at db_path."""
    database_pool_size: int = 8
    """`CONSULT_INTAKE_DATABASE_POOL`: most PostgreSQL connections this process opens."""
    database_timeout: float = 5.0
    """`CONSULT_INTAKE_DATABASE_TIMEOUT`: seconds to wait for PostgreSQL before a request gets a 503."""

    @property
    def db_path(self) -> Path:
        return self.data_dir / "intake.sqlite3"

    @property
    def mount_path(self) -> str:
        """Where `consult serve` mounts the intake: the path of intake_url ('/intake')."""
        path = urlsplit(self.config.intake_url).path.rstrip("/")
        if self.same_origin:
            return self.site_path + path
        return path or "/intake"

    @property
    def same_origin(self) -> bool:
        """True when the forms post to a path on the site's own origin (intake_url is a path)."""
        return self.config.intake_url.startswith("/")

    @property
    def site_path(self) -> str:
        return base_path(self.base_url)

    def site_link(self, path: str) -> str:
        """A link to a page of the static site: a path when same-origin, else an absolute address."""
        return (self.site_path if self.same_origin else self.base_url) + path

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The origins forms may be posted from. Never the request's own Host header: a client chooses that."""
        origins = {origin_of(self.base_url), origin_of(self.config.base_url), *self.extra_origins} - {""}
        return frozenset(origins | {alias for origin in origins for alias in loopback_aliases(origin)})

    @classmethod
    def from_environment(
        cls,
        root: Path,
        site_dir: Path | None = None,
        base_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> IntakeSettings:
        env = os.environ if environ is None else environ
        config, problems = load_config(root)
        if problems:
            raise ContentError(problems)
        secret_text = env.get("CONSULT_INTAKE_SECRET", "")
        if secret_text:
            secret = secret_text.encode()
        else:
            secret = secrets.token_bytes(32)
        data_dir = Path(env.get("CONSULT_INTAKE_DATA") or root / ".consult" / "intake")
        notify_api_key, notify_url = notify_from_environment(env)
        settings = cls(
            root=root,
            config=config,
            data_dir=data_dir if data_dir.is_absolute() else root / data_dir,
            secret=secret,
            secret_generated=not secret_text,
            site_dir=site_dir if site_dir is not None else root / "_site",
            base_url=(base_url or config.base_url).rstrip("/"),
            rate_limits={**parse_rates(env), LOOKUP: parse_lookup_rate(env), **parse_support_rates(env)},
            trusted_proxies=TrustedProxies.parse(env.get("CONSULT_INTAKE_TRUSTED_PROXIES", "")),
            max_bytes=int(env.get("CONSULT_INTAKE_MAX_BYTES", "65536")),
            extra_origins=tuple(o for o in (origin_of(x) for x in env.get("CONSULT_INTAKE_ORIGINS", "").split()) if o),
            main_branch=env.get("CONSULT_MAIN_BRANCH") or config.github.base_branch or "main",
            sync_interval=float(env.get("CONSULT_INTAKE_SYNC_SECONDS", "10")),
            clock=Clock.from_environment(env),
            notify_api_key=notify_api_key,
            notify_url=notify_url,
            database_url=database_url_from(env),
            database_pool_size=pool_size_from(env),
            database_timeout=timeout_from(env),
        )
        for key, value in overrides.items():
            setattr(settings, key, value)
        return settings
