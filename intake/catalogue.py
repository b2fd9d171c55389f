"""What the intake needs to know about the published site: challenges, ideas, topics, pages.

Read from the site's repository with the generator's own loader, so the intake
and the site agree on what exists. Reloaded by the worker from time to time
and after something is published.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from generator.clock import Clock, system_clock
from generator.config import SiteConfig
from generator.loader import load_site
from generator.markdown import plain_text
from generator.schema import ChallengeStatus

log = logging.getLogger("consult.intake")


@dataclass(frozen=True)
class ChallengeInfo:
    slug: str
    title: str
    status: ChallengeStatus
    closes: dt.date | None
    clock: Clock = field(default_factory=Clock, compare=False, repr=False)
    """The intake's clock: a challenge closes at the end of its closing day in London, as the site says."""

    @property
    def is_open(self) -> bool:
        if self.status != ChallengeStatus.OPEN:
            return False
        return self.closes is None or self.closes >= self.clock.today()


@dataclass(frozen=True)
class IdeaInfo:
    slug: str
    title: str
    challenge: str
    text: str
    duplicate_of: str | None = None
    """The idea this one repeats (front matter `duplicate_of`), if an editor marked it so."""

    @property
    def url(self) -> str:
        return f"/ideas/{self.slug}/"


@dataclass(frozen=True)
class PageLink:
    title: str
    url: str


@dataclass
class Catalogue:
    config: SiteConfig
    challenges: dict[str, ChallengeInfo] = field(default_factory=dict)
    ideas: dict[str, IdeaInfo] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    """topic slug → challenge slug"""
    slugs: dict[str, set[str]] = field(default_factory=dict)
    """kind → slugs already used in the repository"""
    references: set[str] = field(default_factory=set)
    pages: list[PageLink] = field(default_factory=list)

    def has_target(self, target: str) -> bool:
        kind, _, slug = target.partition(":")
        return (kind == "idea" and slug in self.ideas) or (kind == "topic" and slug in self.topics)

    def target_challenge(self, target: str) -> str | None:
        kind, _, slug = target.partition(":")
        if kind == "idea" and slug in self.ideas:
            return self.ideas[slug].challenge
        return self.topics.get(slug) if kind == "topic" else None

    def target_open(self, target: str) -> bool:
        challenge = self.challenges.get(self.target_challenge(target) or "")
        return challenge is not None and challenge.is_open

    def target_closed_on(self, target: str) -> dt.date | None:
        """The closing date of the challenge a comment's target belongs to, once it has passed (None otherwise)."""
        challenge = self.challenges.get(self.target_challenge(target) or "")
        if challenge is None or challenge.is_open or challenge.status != ChallengeStatus.OPEN:
            return None
        return challenge.closes

    def target_title(self, target: str) -> str:
        kind, _, slug = target.partition(":")
        if kind == "idea" and slug in self.ideas:
            return self.ideas[slug].title
        return slug.replace("-", " ").capitalize()


def load_catalogue(root: Path, clock: Clock | None = None) -> Catalogue:
    """Read the repository's content; problems in unrelated files do not stop the intake."""
    clock = clock or system_clock()
    site, problems = load_site(root)
    if problems:
        log.warning("The site's content has %d problem(s); run `consult check` to see them.", len(problems))
    cat = Catalogue(config=site.config)
    for slug, challenge in site.challenges.items():
        cat.challenges[slug] = ChallengeInfo(slug, challenge.meta.title, challenge.meta.status, challenge.meta.closes, clock)
    for slug, idea in site.ideas.items():
        cat.ideas[slug] = IdeaInfo(slug, idea.meta.title, idea.meta.challenge, plain_text(idea.body), idea.meta.duplicate_of)
    for slug, topic in site.topics.items():
        cat.topics[slug] = topic.meta.challenge
    cat.slugs = {"idea": set(site.ideas), "topic": set(site.topics)}
    for collection in (site.ideas, site.topics, site.comments):
        cat.references.update(e.meta.reference for e in collection.values())
    pages = sorted(site.pages.values(), key=lambda e: (e.meta.order, e.slug))
    cat.pages = [PageLink(e.meta.title, f"/{e.slug}/") for e in pages]
    return cat


class CatalogueHolder:
    """The current catalogue, reloaded at most every `max_age` seconds (or when asked)."""

    def __init__(self, root: Path, clock: Clock | None = None, max_age: float = 30.0):
        self.root, self.clock, self.max_age = root, clock or system_clock(), max_age
        self._lock = threading.Lock()
        self._value = load_catalogue(root, self.clock)
        self._loaded = time.monotonic()

    @property
    def current(self) -> Catalogue:
        return self._value

    def refresh(self, force: bool = False) -> Catalogue:
        if not force and time.monotonic() - self._loaded < self.max_age:
            return self._value
        with self._lock:
            try:
                self._value = load_catalogue(self.root, self.clock)
            except Exception as exc:  # noqa: BLE001 - keep serving with the last good catalogue
                log.warning("Could not reload the site's content: %s", exc)
            self._loaded = time.monotonic()
        return self._value
