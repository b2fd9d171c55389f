"""Validation and normalisation of the three forms: ideas, comments and topics.

Submitted text is data. Every value is normalised (Unicode NFC, line endings,
control characters and bidirectional overrides removed) before it is checked,
and every check gives an NHS.UK-style message naming what to do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from generator.schema import ChallengeStatus
from generator.theme import long_date

from .catalogue import Catalogue

BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
"""Embeddings, overrides, isolates and directional marks: they can make text read differently from what it is."""
INVISIBLE = {"\ufeff", "\u00ad", "\u180e", "\u2060", "\u200b"}
BLANK_LOOKING = {"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u2800", "\u3164", "\uffa0", *map(chr, range(0xFE00, 0xFE10))}
"""Characters that show nothing although Unicode does not class them as spaces or format characters:
Hangul fillers, the braille blank, the combining grapheme joiner, Khmer inherent vowels and variation selectors."""
LINE_SEPARATORS = {"\u2028": "\n", "\u2029": "\n\n", "\r\n": "\n", "\r": "\n"}
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

FIELDS: dict[str, tuple[str, ...]] = {
    "idea": ("challenge", "title", "idea", "role", "region", "name", "email", "notify", "consent"),
    "comment": ("target", "comment", "name", "email", "notify", "consent"),
    "topic": ("challenge", "title", "post", "name", "email", "notify", "consent"),
}

FIELD_IDS: dict[str, dict[str, str]] = {
    "idea": {f: f for f in FIELDS["idea"]},
    "comment": {
        "target": "comment",
        "comment": "comment",
        "name": "comment-name",
        "email": "comment-email",
        "notify": "comment-notify",
        "consent": "comment-consent",
    },
    "topic": {
        "challenge": "topic-title",
        "title": "topic-title",
        "post": "topic-post",
        "name": "topic-name",
        "email": "topic-email",
        "notify": "topic-notify",
        "consent": "topic-consent",
    },
}
"""The id of each field's input in the theme's form partials, for the error summary's links."""

HONEYPOT = "website"


class UnreadableInput(ValueError):
    """The request could not be read as text at all (invalid UTF-8, lone surrogates)."""


ASCII_CLEAN = {
    multiline: str.maketrans({**{chr(c): None for c in (*range(0x20), 0x7F)}, "\t": " ", "\n": "\n" if multiline else " "})
    for multiline in (False, True)
}
"""What `clean_text` does to each ASCII character (control characters dropped, a tab as a space, a line break
kept or made a space), as one `str.translate`: most text is ASCII, and this is many times faster than its loop."""


def clean_text(value: str, multiline: bool) -> str:
    """NFC-normalised text without control characters, bidi overrides or stray whitespace."""
    if value.isascii():  # the same result as the loop below (NFC leaves ASCII as it is), in one pass
        text = value.replace("\r\n", "\n").replace("\r", "\n").translate(ASCII_CLEAN[multiline])
        return _tidy(text, multiline) if text.strip() else ""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise UnreadableInput("the text contains broken characters (lone UTF-16 surrogates)")
    for old, new in LINE_SEPARATORS.items():
        value = value.replace(old, new)
    value = unicodedata.normalize("NFC", value)
    kept = []
    for ch in value:
        if ch in BIDI_CONTROLS or ch in INVISIBLE:
            continue
        if ch == "\t":
            kept.append(" ")
        elif ch == "\n":
            kept.append("\n" if multiline else " ")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(ch)
    text = "".join(kept)
    if all(shows_nothing(ch) for ch in text):
        return ""
    return _tidy(text, multiline)


def _tidy(text: str, multiline: bool) -> str:
    """Trailing spaces off each line and at most one blank line in a row (multiline), else one space between words."""
    if multiline:
        lines = [line.rstrip() for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
        return text.strip()
    return " ".join(text.split())


def shows_nothing(ch: str) -> bool:
    """True for a character that draws nothing on its own: spaces, format characters (zero-width joiner and
    non-joiner, word joiner, tags…) and the blank-looking letters above. Kept inside text, where
    joiners shape emoji and scripts; a field made only of them counts as empty."""
    return ch in BLANK_LOOKING or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cf") or ch.isspace() or 0xE0100 <= ord(ch) <= 0xE01EF


@dataclass
class Submission:
    """A valid, normalised submission: the public fields and, apart, the contact details."""

    kind: str
    fields: dict[str, str]
    """Public fields only (no email)."""
    email: str | None = None


@dataclass
class Result:
    submission: Submission | None = None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    """What the person typed (cleaned), to fill the form back in."""


def _as_text(raw: dict[str, Any], name: str, errors: dict[str, str], label: str) -> str:
    value = raw.get(name, "")
    if value is None:
        return ""
    if isinstance(value, bool) and name in ("consent", "notify"):
        return "yes" if value else ""
    if not isinstance(value, str):
        errors[name] = f"{label} must be text"
        return ""
    return value


def _length(
    errors: dict[str, str], name: str, value: str, missing: str, too_long: str, max_length: int, min_length: int = 1, too_short: str = ""
) -> None:
    if not value:
        errors.setdefault(name, missing)
    elif len(value) > max_length:
        errors.setdefault(name, too_long)
    elif len(value) < min_length:
        errors.setdefault(name, too_short or missing)


LABELS = {
    "challenge": "The challenge",
    "title": "The title",
    "idea": "Your idea",
    "role": "Your role",
    "region": "Where you work",
    "name": "The name",
    "email": "The email address",
    "notify": "The box to get emails",
    "consent": "The consent box",
    "target": "What you are commenting on",
    "comment": "Your comment",
    "post": "The opening post",
}
MULTILINE = {"idea", "comment", "post"}


def read_values(kind: str, raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The form's fields as clean text, and type errors for values that are not text."""
    errors: dict[str, str] = {}
    values = {}
    for name in FIELDS[kind]:
        text = _as_text(raw, name, errors, LABELS[name])
        values[name] = clean_text(text, multiline=name in MULTILINE)
    return values, errors


def _check_challenge(values: dict[str, str], errors: dict[str, str], catalogue: Catalogue, what: str) -> None:
    slug = values["challenge"]
    if not slug:
        errors.setdefault("challenge", f"Select the challenge your {what} is about")
        return
    challenge = catalogue.challenges.get(slug)
    if challenge is None:
        errors.setdefault("challenge", "Select a challenge from the list")
    elif not challenge.is_open:
        closed = (
            f"closed to new {what}s on {long_date(challenge.closes)}"
            if challenge.closes and challenge.status == ChallengeStatus.OPEN
            else f"is closed to new {what}s"
        )
        errors.setdefault("challenge", f"The challenge ‘{challenge.title}’ {closed}. Choose an open challenge")


def _check_name(values: dict[str, str], errors: dict[str, str]) -> None:
    _length(errors, "name", values["name"] or "-", "", "Your name must be 80 characters or fewer", 80)


TICKED = ("yes", "on", "true", "1")


def wants_email(values: dict[str, str]) -> bool:
    """True when the person gave an address and ticked the box to be emailed about what they sent."""
    return bool(values.get("email")) and values.get("notify", "").lower() in TICKED


def _check_email(values: dict[str, str], errors: dict[str, str], what: str) -> None:
    """The optional address and its own consent box: both or neither (an address without consent is not kept)."""
    email, ticked = values["email"], values["notify"].lower() in TICKED
    if email and (len(email) > 254 or not EMAIL_PATTERN.match(email)):
        errors.setdefault("email", "Enter an email address in the correct format, like name@example.com")
    elif ticked and not email:
        errors.setdefault("email", f"Enter your email address to get emails about your {what}, or untick the box")
    elif email and not ticked:
        errors.setdefault("notify", f"Tick the box to get emails about your {what}, or leave the email address empty")


def _check_consent(values: dict[str, str], errors: dict[str, str]) -> None:
    if values["consent"].lower() not in TICKED:
        errors.setdefault("consent", "Tick the box to agree to the moderation policy and terms of use")


def check_idea(values: dict[str, str], errors: dict[str, str], catalogue: Catalogue) -> None:
    _check_challenge(values, errors, catalogue, "idea")
    _length(
        errors,
        "title",
        values["title"],
        "Enter a short title for your idea",
        "The title must be 120 characters or fewer",
        120,
        3,
        "The title must be 3 characters or more",
    )
    _length(errors, "idea", values["idea"], "Enter your idea", "Your idea must be 5,000 characters or fewer", 5000)
    if values["role"] and values["role"] not in catalogue.config.roles:
        errors.setdefault("role", "Select your role from the list, or ‘Prefer not to say’")
    if values["region"] and values["region"] not in catalogue.config.regions:
        errors.setdefault("region", "Select where you work from the list, or ‘Prefer not to say’")
    _check_name(values, errors)
    _check_email(values, errors, "idea")
    _check_consent(values, errors)


def check_comment(values: dict[str, str], errors: dict[str, str], catalogue: Catalogue) -> None:
    target = values["target"]
    if not target:
        errors.setdefault("target", "Comments can only be sent from the page of an idea or discussion topic")
    elif not catalogue.has_target(target):
        errors.setdefault("target", "The idea or topic you are commenting on could not be found. Go back to its page and try again")
    elif not catalogue.target_open(target):
        closes = catalogue.target_closed_on(target)
        errors.setdefault(
            "target",
            f"This challenge closed on {long_date(closes)}, so it no longer takes comments"
            if closes
            else "This challenge is closed, so it no longer takes comments",
        )
    _length(errors, "comment", values["comment"], "Enter your comment", "Your comment must be 2,000 characters or fewer", 2000)
    _check_name(values, errors)
    _check_email(values, errors, "comment")
    _check_consent(values, errors)


def check_topic(values: dict[str, str], errors: dict[str, str], catalogue: Catalogue) -> None:
    _check_challenge(values, errors, catalogue, "topic")
    _length(
        errors,
        "title",
        values["title"],
        "Enter a title for the topic",
        "The title must be 120 characters or fewer",
        120,
        3,
        "The title must be 3 characters or more",
    )
    _length(errors, "post", values["post"], "Enter the opening post", "The opening post must be 5,000 characters or fewer", 5000)
    _check_name(values, errors)
    _check_email(values, errors, "topic")
    _check_consent(values, errors)


CHECKS = {"idea": check_idea, "comment": check_comment, "topic": check_topic}


def validate(kind: str, raw: dict[str, Any], catalogue: Catalogue) -> Result:
    """Clean and check one submission; every problem is reported at once."""
    values, errors = read_values(kind, raw)
    CHECKS[kind](values, errors, catalogue)
    if errors:
        ordered = {name: errors[name] for name in FIELDS[kind] if name in errors}
        return Result(errors=ordered, values=values)
    public = {k: v for k, v in values.items() if k not in ("email", "notify", "consent")}
    return Result(Submission(kind, public, values["email"] if wants_email(values) else None), values=values)
