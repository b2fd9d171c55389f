"""The content model: one declared schema per content type.

This module is the contract between the generator (which reads these files
from git) and the intake (which writes them). Every front-matter key is
declared here once, with its type, default and a one-line description; the
editors' reference is generated from these declarations.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .clock import LONDON

REFERENCE_PATTERN = r"^TH-[0-9A-HJKMNP-TV-Z]{5}$"
"""Submission references: `TH-` and five Crockford base-32 characters."""

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=80)]
Reference = Annotated[str, Field(pattern=REFERENCE_PATTERN)]


class Strict(BaseModel):
    """Base for front matter: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ChallengeStatus(str, Enum):
    OPEN = "open"
    CLOSED = "closed"


class IdeaStatus(str, Enum):
    WAITING = "waiting"
    UNDER_CONSIDERATION = "under-consideration"
    RESPONDED = "responded"
    ADOPTED = "adopted"
    NOT_TAKEN_FORWARD = "not-taken-forward"

    @property
    def label(self) -> str:
        return IDEA_STATUS_LABELS[self]


IDEA_STATUS_LABELS: dict[IdeaStatus, str] = {
    IdeaStatus.WAITING: "Waiting for a response",
    IdeaStatus.UNDER_CONSIDERATION: "Under consideration",
    IdeaStatus.RESPONDED: "Responded to",
    IdeaStatus.ADOPTED: "Adopted",
    IdeaStatus.NOT_TAKEN_FORWARD: "Not taken forward",
}

DEPRECATED_IDEA_STATUSES: dict[str, IdeaStatus] = {"published": IdeaStatus.WAITING}
"""Old `status` values still read, each as its new value; `consult check` names every file that uses one.

`published` was the first status until November 2026, when every idea on the
site was also "published": the status now says what it means, waiting for a response.
"""


def deprecations(kind: str, data: object) -> list[tuple[str, str, str]]:
    """(key, message, hint) for each deprecated value in a file's front matter, which still loads."""
    if kind != "idea" or not isinstance(data, dict):
        return []
    old = data.get("status")
    if not isinstance(old, str) or old.strip() not in DEPRECATED_IDEA_STATUSES:
        return []
    new = DEPRECATED_IDEA_STATUSES[old.strip()]
    return [("status", f"'{old.strip()}' is deprecated; it is read as '{new.value}' ({new.label})", f"write status: {new.value}")]


class Challenge(Strict):
    """A challenge put to staff: `challenges/<slug>.md`."""

    title: str = Field(min_length=3, max_length=120, description="The challenge's name, as shown in headings and cards.")
    summary: str = Field(min_length=10, max_length=300, description="One or two sentences shown on the home page card.")
    question: str = Field(min_length=10, max_length=300, description="The question put to staff, shown above the form.")
    order: int = Field(ge=1, le=99, description="Position among the challenges, 1 first.")
    status: ChallengeStatus = Field(default=ChallengeStatus.OPEN, description="`open` takes ideas; `closed` shows them but has no form.")
    opens: dt.date = Field(description="Date the challenge opened for ideas (YYYY-MM-DD).")
    closes: dt.date | None = Field(default=None, description="Date it closes for ideas (YYYY-MM-DD); empty for no set date.")
    next_steps: str | None = Field(default=None, max_length=2000, description="Optional 'what happens next' text (Markdown).")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Challenge:
        if self.closes is not None and self.closes < self.opens:
            raise ValueError(f"closes ({self.closes}) is before opens ({self.opens}); a challenge must open before it closes")
        return self


class Response(Strict):
    """The organisation's answer to an idea."""

    date: dt.date = Field(description="Date of the response (YYYY-MM-DD).")
    text: str = Field(min_length=10, max_length=5000, description="The response itself (Markdown).")
    by: str = Field(min_length=2, max_length=120, description="Who responded: a team or role, not a private person's contact details.")


class Idea(Strict):
    """A curated idea: `content/ideas/<challenge-slug>/<slug>.md`; the body is the idea as submitted."""

    title: str = Field(min_length=3, max_length=120, description="The idea's title.")
    challenge: Slug = Field(description="Slug of the challenge it answers; must match a file in challenges/.")
    summary: str = Field(default="", max_length=400, description="Curated summary written by an editor; empty until one is written.")
    submitted: dt.date = Field(description="Date the idea was submitted (YYYY-MM-DD).")
    published: dt.date | None = Field(default=None, description="Date it was published; empty until an editor accepts it.")
    reference: Reference = Field(description="The submission reference given to the person, e.g. TH-7QK2M.")
    attribution: str | None = Field(default=None, max_length=80, description="Name the person chose to be credited with; empty for anonymous.")
    role: str | None = Field(default=None, description="Staff role, one of site.yml `roles`.")
    region: str | None = Field(default=None, description="Region, one of site.yml `regions`.")
    tags: list[Slug] = Field(default_factory=list, max_length=10, description="Tags (lower-case words joined by hyphens).")
    status: IdeaStatus = Field(
        default=IdeaStatus.WAITING,
        description="Lifecycle: waiting (for a response), under-consideration, responded, adopted, not-taken-forward. The old value `published` is still read as `waiting`, and `consult check` asks you to change it.",
    )
    response: Response | None = Field(default=None, description="The organisation's response: date, text, by.")
    supporters: int = Field(default=1, ge=1, description="How many people raised this idea (editors merge duplicates into one).")
    duplicate_of: Slug | None = Field(
        default=None, description="Slug of the idea this one repeats; its page then points to that idea, and its supports count towards it."
    )

    @field_validator("status", mode="before")
    @classmethod
    def _renamed_status(cls, value: object) -> object:
        if isinstance(value, str) and value.strip() in DEPRECATED_IDEA_STATUSES:
            return DEPRECATED_IDEA_STATUSES[value.strip()]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Idea:
        if self.published is not None and self.published < self.submitted:
            raise ValueError(f"published ({self.published}) is before submitted ({self.submitted})")
        if self.status in (IdeaStatus.RESPONDED, IdeaStatus.ADOPTED, IdeaStatus.NOT_TAKEN_FORWARD) and self.response is None:
            raise ValueError(f"status '{self.status.value}' needs a response block (date, text, by)")
        return self


def _london(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=LONDON) if value.tzinfo is None else value


class Event(Strict):
    """An event or webinar: `content/events/<slug>.md`."""

    title: str = Field(min_length=3, max_length=120, description="The event's name.")
    summary: str = Field(min_length=10, max_length=300, description="One or two sentences for listings.")
    start: dt.datetime = Field(description="Start, e.g. 2026-12-03 14:00 (Europe/London unless an offset is given).")
    end: dt.datetime = Field(description="End, same format as start.")
    online: bool = Field(default=False, description="True for a webinar or online meeting.")
    location: str | None = Field(default=None, max_length=200, description="Where it happens; required unless online.")
    registration: str | None = Field(default=None, pattern=r"^https://", description="Registration link (https://…).")
    challenge: Slug | None = Field(default=None, description="Slug of the challenge it is about, if any.")
    repeats: Literal["weekly", "monthly"] | None = Field(
        default=None,
        description="`weekly`, or `monthly` (on the same weekday of the same week of the month as `start`, such as the first Tuesday); empty for a one-off event. `start` and `end` give the first occurrence.",
    )
    repeats_until: dt.date | None = Field(
        default=None, description="Last date a repeating event can fall on (YYYY-MM-DD); empty to repeat with no end."
    )

    _aware = field_validator("start", "end", mode="after")(_london)

    @model_validator(mode="after")
    def _sensible(self) -> Event:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:%Y-%m-%d %H:%M}) is not after start ({self.start:%Y-%m-%d %H:%M})")
        if not self.online and not self.location:
            raise ValueError("an event that is not online needs a location")
        if self.repeats_until is not None and self.repeats is None:
            raise ValueError("repeats_until needs repeats: weekly or monthly (or remove repeats_until for a one-off event)")
        if self.repeats_until is not None and self.repeats_until < self.start.date():
            raise ValueError(f"repeats_until ({self.repeats_until}) is before the first start ({self.start:%Y-%m-%d})")
        if self.repeats is not None and self.end - self.start > dt.timedelta(days=1):
            raise ValueError("a repeating event must last a day or less (end is more than 24 hours after start)")
        return self


class Page(Strict):
    """A static page: `content/pages/<slug>.md` (about, moderation, privacy, accessibility, terms)."""

    title: str = Field(min_length=2, max_length=120, description="The page's title.")
    summary: str | None = Field(default=None, max_length=300, description="Optional lead paragraph.")
    order: int = Field(default=50, ge=1, le=99, description="Position in the footer links, 1 first.")
    updated: dt.date | None = Field(default=None, description="Date the page was last reviewed (YYYY-MM-DD).")


class Topic(Strict):
    """A discussion topic inside a challenge: `content/topics/<challenge-slug>/<slug>.md`."""

    title: str = Field(min_length=3, max_length=120, description="The topic's title.")
    challenge: Slug = Field(description="Slug of the challenge it belongs to.")
    submitted: dt.date = Field(description="Date it was started (YYYY-MM-DD).")
    reference: Reference = Field(description="The submission reference.")
    attribution: str | None = Field(default=None, max_length=80, description="Credit name, empty for anonymous.")


class Comment(Strict):
    """One comment: `content/comments/<idea-or-topic-slug>/<reference>.md`; the body is the comment."""

    target: str = Field(pattern=r"^(idea|topic):[a-z0-9]+(?:-[a-z0-9]+)*$", description="What it discusses: `idea:<slug>` or `topic:<slug>`.")
    submitted: dt.date = Field(description="Date it was written (YYYY-MM-DD).")
    reference: Reference = Field(description="The submission reference.")
    attribution: str | None = Field(default=None, max_length=80, description="Credit name, empty for anonymous.")
    reply_to: Reference | None = Field(default=None, description="Reference of the comment this replies to (one level of replies).")


class Update(Strict):
    """A 'you said, we did' news post: `content/updates/<slug>.md`."""

    title: str = Field(min_length=3, max_length=120, description="The update's headline.")
    date: dt.date = Field(description="Date published (YYYY-MM-DD).")
    summary: str = Field(min_length=10, max_length=300, description="One or two sentences for listings and feeds.")
    ideas: list[Slug] = Field(default_factory=list, description="Slugs of the ideas this update answers.")


KIND_MODELS: dict[str, type[Strict]] = {
    "challenge": Challenge,
    "idea": Idea,
    "event": Event,
    "page": Page,
    "topic": Topic,
    "comment": Comment,
    "update": Update,
}

Kind = Literal["challenge", "idea", "event", "page", "topic", "comment", "update"]


def slugify(text: str, max_length: int = 60) -> str:
    """A URL slug from any text: ASCII lower-case words joined by hyphens, never empty."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    return slug or "untitled"
