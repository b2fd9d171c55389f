"""Views: the validated content arranged for templates (URLs, counts, rendered Markdown).

Built once per build from the loaded Site; every plugin reads from here rather
than from front matter, so a URL or a count is worked out in one place.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from operator import attrgetter
from typing import Any, ClassVar, Generic, TypeVar

from markupsafe import Markup

from .counts import fold, support_sentence
from .loader import Entry, Site
from .markdown import plain_text_of, render
from .reads import (
    ENTRY_FIELDS,
    FROM_ENTRY,
    IDENTIFIED,
    TEXTS,
    content_addressed,
    entry_attributes,
    entry_fields,
    from_entry,
    identified,
    known_models,
    known_texts,
    models_by_identity,
)
from .recurrence import describe, occurrence
from .schema import LONDON, Challenge, ChallengeStatus, Comment, Event, Idea, IdeaStatus, Page, Topic, Update

T = TypeVar("T")


@dataclass
class View(Generic[T]):
    """A content entry arranged for templates. Known to `generator.reads` by kind and key: what a page reads of it is recorded."""

    entry: Entry[Any]
    url: str
    # Set from the entry when the view is made: read hundreds of thousands of times a build, and a
    # cached_property's first read takes a lock (half the time views took at 50,000 ideas).
    meta: Any = field(init=False, repr=False, compare=False)
    slug: str = field(init=False, repr=False, compare=False)
    read_identity: str = field(init=False, repr=False, compare=False)
    """Kind and slug (unique within a kind: the loader refuses a slug used twice)."""
    entry_fields: ClassVar[tuple[str, ...]] = ("meta", "slug", "read_identity", "title")
    """Attributes whose token depends on nothing but the view's identity and its file's text, whatever the other files
    say (`reads.ENTRY_FIELDS`: a replay does not evaluate them while that text is unchanged). A subclass adds its own;
    `tests/test_entry_fields.py` changes the other files and checks them."""

    def __post_init__(self) -> None:
        self.meta = self.entry.meta
        self.slug = self.entry.slug
        self.read_identity = f"{type(self).__name__}:{self.entry.slug}"
        if self.entry.digest:
            TEXTS[self.read_identity] = self.entry.digest  # for a replay (`reads.ENTRY_FIELDS`)
        _MADE[self.read_identity] = self  # for `SiteViews.by_identity`, while the view is fresh in memory

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        IDENTIFIED.add(cls)
        FROM_ENTRY[cls] = entry_attributes(cls)
        ENTRY_FIELDS[cls.__name__] = entry_fields(cls)

    @property
    def title(self) -> str:
        return self.entry.meta.title

    @cached_property
    @from_entry
    def html(self) -> Markup:
        """The body as safe HTML: rendered by the build's Markdown stage (or now, for a single page)."""
        return Markup(self.entry.html) if self.entry.html else render(self.entry.body)

    @cached_property
    @from_entry
    def text(self) -> str:
        return plain_text_of(self.html)


@dataclass
class CommentView(View[Comment]):
    replies: list[CommentView] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Comment {self.meta.reference}"


@dataclass
class IdeaView(View[Idea]):
    challenge: ChallengeView
    comments: list[CommentView] = field(default_factory=list)
    updates: list[UpdateView] = field(default_factory=list)
    related: list[IdeaView] = field(default_factory=list)
    supports: int | None = None
    """How many people support the idea ("me too"), its duplicates' supports included; None when the build had no counts."""
    original: IdeaView | None = None
    """For a duplicate (`duplicate_of`): the idea it repeats. A duplicate is in no listing, only at its own URL."""
    status: str = field(init=False, repr=False, compare=False)
    date: dt.date = field(init=False, repr=False, compare=False)
    """Published, or submitted when not yet published."""
    comment_count: int = field(init=False, repr=False, compare=False)
    """Its comments and their replies (the threads are complete when the view is made)."""
    entry_fields: ClassVar[tuple[str, ...]] = ("status", "date", "url", "challenge")
    """`url` is made from its slug; `challenge` is read as the identity of the challenge its front matter names."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.status = str(self.meta.status.value)
        self.date = self.meta.published or self.meta.submitted
        self.comment_count = _count(self.comments)

    @property
    def support_line(self) -> str:
        return "" if self.supports is None else support_sentence(self.supports)

    @cached_property
    @from_entry
    def response_html(self) -> Markup:
        return render(self.meta.response.text) if self.meta.response else Markup("")


def _count(comments: list[CommentView]) -> int:
    return sum(1 + len(c.replies) for c in comments)


@dataclass
class TopicView(View[Topic]):
    challenge: ChallengeView
    comments: list[CommentView] = field(default_factory=list)
    comment_count: int = field(init=False, repr=False, compare=False)
    """Its comments and their replies (the threads are complete when the view is made)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.comment_count = _count(self.comments)


@dataclass
class ChallengeView(View[Challenge]):
    today: dt.date | None = None
    ideas: list[IdeaView] = field(default_factory=list)
    topics: list[TopicView] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Open for ideas: status open and its closing date not passed (on the build's date, as the intake judges it)."""
        if self.meta.status != ChallengeStatus.OPEN:
            return False
        return self.meta.closes is None or self.today is None or self.meta.closes >= self.today

    @property
    def closing(self) -> tuple[str, str] | None:
        """The closing row of the challenge page, as of the build's date: ("Closes", "31 January 2027 (in 62 days)")."""
        closes = self.meta.closes
        if closes is None:
            return ("Closes", "No closing date: this challenge stays open for ideas") if self.is_open else None
        when = f"{closes.day} {closes:%B %Y}"
        if not self.is_open:
            return ("Closed", when) if self.today is None or closes < self.today else None
        days = (closes - self.today).days if self.today is not None else None
        left = {None: "", 0: " (today is the last day)", 1: " (tomorrow is the last day)"}.get(days, f" (in {days} days)")
        return ("Closes", when + left)

    @cached_property
    def counts(self) -> dict[str, int]:
        return status_counts(self.ideas)

    @cached_property
    def next_steps_html(self) -> Markup:
        return render(self.meta.next_steps) if self.meta.next_steps else Markup("")


@dataclass
class EventView(View[Event]):
    challenge: ChallengeView | None = None
    now: dt.datetime | None = None
    """The build's moment: a repeating event shows its occurrence that is on or next then."""

    @cached_property
    def when(self) -> tuple[dt.datetime, dt.datetime]:
        return occurrence(self.meta, self.now)

    @property
    def start(self) -> dt.datetime:
        return self.when[0]

    @property
    def end(self) -> dt.datetime:
        return self.when[1]

    @cached_property
    def repeats_text(self) -> str | None:
        """'Every month, on the first Tuesday', or None for a one-off event."""
        return describe(self.meta)

    def is_upcoming(self, now: dt.datetime) -> bool:
        return occurrence(self.meta, now)[1] >= now


@dataclass
class PageView(View[Page]):
    pass


@dataclass
class UpdateView(View[Update]):
    ideas: list[IdeaView] = field(default_factory=list)


def by_support(ideas: Iterable[IdeaView]) -> list[IdeaView]:
    """Ideas ordered by support, most first; ties newest first, then by slug."""
    return sorted(ideas, key=lambda i: (-(i.supports or 0), -i.date.toordinal(), i.slug))


def status_counts(ideas: list[IdeaView]) -> dict[str, int]:
    counter = Counter(idea.status for idea in ideas)
    return {status.value: counter.get(status.value, 0) for status in IdeaStatus}


@dataclass
class PageOf(Generic[T]):
    """One page of a paginated listing."""

    items: list[T]
    number: int
    count: int
    base_url: str

    def url_for(self, number: int) -> str:
        return self.base_url if number == 1 else f"{self.base_url}page/{number}/"

    @property
    def url(self) -> str:
        return self.url_for(self.number)

    @property
    def previous_url(self) -> str | None:
        return self.url_for(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url_for(self.number + 1) if self.number < self.count else None


def paginate(items: list[T], per_page: int, base_url: str) -> list[PageOf[T]]:
    count = max(1, math.ceil(len(items) / per_page))
    return [PageOf(items[i * per_page : (i + 1) * per_page], i + 1, count, base_url) for i in range(count)]


@identified
@dataclass
class SiteViews:
    site: Site
    challenges: dict[str, ChallengeView]
    ideas: dict[str, IdeaView]
    topics: dict[str, TopicView]
    events: dict[str, EventView]
    pages: dict[str, PageView]
    updates: dict[str, UpdateView]
    tags: dict[str, list[IdeaView]]
    duplicates: dict[str, IdeaView] = field(default_factory=dict)
    """Ideas marked `duplicate_of`: each has a page pointing to its original, and is left out of everything else."""
    supports_known: bool = False
    """Whether the build was given support counts (`consult build --counts`)."""
    made: dict[str, View[Any]] = field(default_factory=dict, repr=False, compare=False)
    """Every view `build_views` made, by its `read_identity` (comments and replies included)."""

    @cached_property
    def ideas_newest_first(self) -> list[IdeaView]:
        return sorted(self.ideas.values(), key=lambda i: (i.date, i.slug), reverse=True)

    @cached_property
    def counts(self) -> dict[str, int]:
        return status_counts(list(self.ideas.values()))

    @cached_property
    def comment_count(self) -> int:
        """The published comments and replies: on the ideas (duplicates have none listed) and on the topics."""
        return sum(i.comment_count for i in self.ideas.values()) + sum(t.comment_count for t in self.topics.values())

    @cached_property
    def most_supported(self) -> list[IdeaView]:
        """Ideas with at least one support, most first (then newest, then by slug)."""
        return by_support([i for i in self.ideas.values() if i.supports])

    def events_split(self, now: dt.datetime) -> tuple[list[EventView], list[EventView]]:
        ordered = sorted(self.events.values(), key=lambda e: (occurrence(e.meta, now)[0], e.slug))
        upcoming = [e for e in ordered if e.is_upcoming(now)]
        past = [e for e in reversed(ordered) if not e.is_upcoming(now)]
        return upcoming, past

    @cached_property
    def footer_pages(self) -> list[PageView]:
        return sorted(self.pages.values(), key=lambda p: (p.meta.order, p.slug))

    read_identity = "views"

    def by_identity(self) -> dict[str, Any]:
        """Every view by its `read_identity` (comments and replies included), every front matter by `model_key`, and the views themselves as `views`."""
        found: dict[str, Any] = models_by_identity()  # each content file's front matter (`model_key`), known since `build_views`
        found["views"] = self
        found.update(self.made)  # kept as they were made: walking the views again for it took 0.3 s at 50,000 ideas
        return found


_MADE: dict[str, View[Any]] = {}
"""The views made since `build_views` started, by identity (`View.__post_init__`): handed to its `SiteViews`."""


_META = attrgetter("meta")
_DIGEST = attrgetter("digest")


def model_key(entry: Entry[Any]) -> str:
    """The identity a content file's front matter is known by (`reads.known_models`): its kind and slug."""
    return f"{entry.kind}/{entry.slug}"


def _comment_threads(site: Site) -> dict[str, list[CommentView]]:
    """Comments grouped by target (`idea:slug`), oldest first, replies under their parent.

    Each target's comments are sorted on their own (a reply is on its parent's target: `validate`), not all of them
    together: at 50,000 ideas, sorting 150,000 comments in one go took most of this function's time.
    """
    views = {c.meta.reference: CommentView(c, "") for c in site.comments.values()}
    by_target: dict[str, list[CommentView]] = defaultdict(list)
    for view in views.values():
        by_target[view.meta.target].append(view)
    threads: dict[str, list[CommentView]] = {}
    for target, comments in by_target.items():
        comments.sort(key=_oldest_first)
        for view in comments:
            reply_to = view.meta.reply_to
            parent = views.get(reply_to) if reply_to else None
            if parent is not None:
                parent.replies.append(view)
            else:
                threads.setdefault(target, []).append(view)
    return threads


def _oldest_first(comment: CommentView) -> tuple[dt.date, str]:
    meta = comment.meta
    return meta.submitted, meta.reference


def _link_related(ideas: Iterable[IdeaView], limit: int = 3) -> None:
    """Up to `limit` ideas in the same challenge sharing the most tags, newest first (then by slug).

    Linear in the number of ideas: candidates come from a (challenge, tag)
    index holding the newest few ideas of each, never from the whole challenge.
    Ideas are handled by their place in that order, so ranking compares integers.
    Ideas with the same challenge and tags have the same candidates, so they are
    counted and ranked once (the idea itself left out of each one's answer): the
    benchmark's 50,000 ideas make 15,928 such groups (0.57 s to 0.47 s here).
    """
    ideas = list(ideas)
    ranked = sorted(ideas, key=lambda i: (-i.date.toordinal(), i.entry.slug))
    place = {id(idea): n for n, idea in enumerate(ranked)}
    newest: dict[tuple[str, str], list[int]] = defaultdict(list)
    for idea in sorted(ideas, key=lambda i: (i.date, i.entry.slug), reverse=True):
        meta = idea.entry.meta
        for tag in meta.tags:
            bucket = newest[(meta.challenge, tag)]
            if len(bucket) <= 4 * limit:
                bucket.append(place[id(idea)])
    total = len(ranked)
    ranked_for: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for idea in ideas:
        meta = idea.entry.meta
        tags = tuple(sorted(meta.tags))
        best = ranked_for.get((meta.challenge, tags))
        if best is None:  # the first idea with this challenge and these tags: the others share its candidates
            shared = Counter(chain.from_iterable(newest[(meta.challenge, tag)] for tag in tags))
            # one integer per candidate, smaller for more shared tags, then for newer: other - count * total;
            # one more than the limit, as the idea itself may be among them
            best = ranked_for[(meta.challenge, tags)] = sorted([other - count * total for other, count in shared.items()])[: limit + 1]
        me = place[id(idea)]
        idea.related = [ranked[key % total] for key in best if key % total != me][:limit]


def build_views(
    site: Site,
    now: dt.datetime | None = None,
    supports: Mapping[str, int] | None = None,
    link_related: Callable[[Sequence[IdeaView]], object] | None = None,
) -> SiteViews:
    """Arrange the validated site for templates (assumes validation passed).

    `now`, the build's moment, decides which challenges have closed (by London's date) and
    which occurrence of a repeating event is shown; without it, no date is judged.
    `supports`, the counts per idea slug (`consult build --counts`), are folded into the
    originals of duplicates; without them no idea has a count.
    `link_related` sets the ideas' related ideas (`keptrelated.RelatedStore.link`, say); `_link_related` without it.
    """
    global _MADE
    _MADE = {}  # views made before (a single page's, say) are not this build's
    entries: list[dict[str, Entry[Any]]] = [site.challenges, site.ideas, site.events, site.pages, site.topics, site.comments, site.updates]
    every = [e for collection in entries for e in collection.values()]
    metas, digests, keys = list(map(_META, every)), list(map(_DIGEST, every)), list(map(model_key, every))
    content_addressed(zip(metas, digests, strict=True))
    known_models(zip(metas, keys, strict=True))
    known_texts(zip(keys, digests, strict=True))  # the views add theirs as they are made
    originals = {slug: e.meta.duplicate_of or slug for slug, e in site.ideas.items()}
    folded = fold(supports, originals) if supports is not None else None
    today = now.astimezone(LONDON).date() if now is not None else None
    challenges = {slug: ChallengeView(e, f"/challenges/{slug}/", today) for slug, e in site.challenges.items()}
    events = {slug: EventView(e, f"/events/{slug}/", challenges.get(e.meta.challenge or ""), now) for slug, e in site.events.items()}
    pages = {slug: PageView(e, f"/{slug}/") for slug, e in site.pages.items()}
    threads = _comment_threads(site)
    ideas: dict[str, IdeaView] = {}
    duplicates: dict[str, IdeaView] = {}
    for slug, e in sorted(site.ideas.items(), key=lambda item: (item[1].meta.published or item[1].meta.submitted, item[0]), reverse=True):
        challenge = challenges[e.meta.challenge]
        view = IdeaView(e, f"/ideas/{slug}/", challenge, threads.get(f"idea:{slug}", []))
        for comment in view.comments:
            comment.url = f"{view.url}#comment-{comment.meta.reference}"
        if e.meta.duplicate_of:
            duplicates[slug] = view
            continue
        view.supports = folded.get(slug, 0) if folded is not None else None
        ideas[slug] = view
        challenge.ideas.append(view)
    for view in duplicates.values():
        view.original = ideas[view.meta.duplicate_of]
    topics = {}
    for slug, topic_entry in sorted(site.topics.items(), key=lambda item: (item[1].meta.submitted, item[0]), reverse=True):
        challenge = challenges[topic_entry.meta.challenge]
        topic = TopicView(topic_entry, f"/challenges/{challenge.slug}/topics/{slug}/", challenge, threads.get(f"topic:{slug}", []))
        topics[slug] = topic
        challenge.topics.append(topic)
    for event in sorted(events.values(), key=lambda e: (e.start, e.slug)):
        if event.challenge:
            event.challenge.events.append(event)
    updates = {}
    for slug, update_entry in sorted(site.updates.items(), key=lambda item: (item[1].meta.date, item[0]), reverse=True):
        linked = dict.fromkeys(originals[s] for s in update_entry.meta.ideas if s in originals)  # a duplicate's update is its original's
        update = UpdateView(update_entry, f"/updates/{slug}/", [ideas[s] for s in linked if s in ideas])
        for idea in update.ideas:
            idea.updates.append(update)
        updates[slug] = update
    tags: dict[str, list[IdeaView]] = defaultdict(list)
    for idea in ideas.values():
        for tag in idea.meta.tags:
            tags[tag].append(idea)
    (link_related or _link_related)(list(ideas.values()))
    made, _MADE = _MADE, {}
    return SiteViews(site, challenges, ideas, topics, events, pages, updates, dict(sorted(tags.items())), duplicates, folded is not None, made)
