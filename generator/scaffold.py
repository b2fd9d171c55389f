"""`consult new`: write a valid content file from the schema, ready for an editor to fill in."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from . import frontmatter
from .clock import system_clock
from .errors import ConsultError
from .loader import CONTENT_DIRS, load_site
from .schema import KIND_MODELS, slugify

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A fresh submission reference, e.g. TH-7QK2M."""
    return "TH-" + "".join(secrets.choice(CROCKFORD) for _ in range(5))


def _defaults(kind: str, title: str, challenge: str | None, today: dt.date) -> tuple[dict[str, Any], str]:
    if kind == "challenge":
        return {
            "title": title,
            "summary": "One or two sentences for the home page.",
            "question": "The question you are asking staff?",
            "order": 99,
            "status": "open",
            "opens": today,
        }, "Explain the challenge and the kinds of ideas you want.\n"
    if kind == "idea":
        return {
            "title": title,
            "challenge": challenge,
            "summary": "",
            "submitted": today,
            "published": today,
            "reference": new_reference(),
            "tags": [],
            "status": "waiting",
        }, "The idea, as the person wrote it.\n"
    if kind == "event":
        start = dt.datetime.combine(today + dt.timedelta(days=14), dt.time(14, 0))
        return {
            "title": title,
            "summary": "One or two sentences for the events list.",
            "start": start.strftime("%Y-%m-%d %H:%M"),
            "end": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "online": True,
        }, "What the event is about, and the agenda.\n"
    return {"title": title, "order": 50, "updated": today}, "The page's text.\n"


def new_file(root: Path, kind: str, title: str, challenge: str | None = None, today: dt.date | None = None) -> Path:
    today = today or system_clock().today()
    folder, _model, depth = CONTENT_DIRS[kind]
    slug = slugify(title)
    if kind == "idea":
        site, _ = load_site(root)
        if not challenge:
            raise ConsultError(f"an idea needs --challenge SLUG; the challenges are: {', '.join(site.challenges) or 'none yet'}")
        if challenge not in site.challenges:
            raise ConsultError(f"no challenge '{challenge}'; the challenges are: {', '.join(site.challenges) or 'none yet'}")
    path = root / folder / (challenge or "" if depth else "") / f"{slug}.md"
    if path.exists():
        raise ConsultError(f"{path.relative_to(root)} already exists; choose another title")
    data, body = _defaults(kind, title, challenge, today)
    KIND_MODELS[kind].model_validate(data)  # what we write must pass the schema
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(frontmatter.dump(data, body), encoding="utf-8")
    return path
