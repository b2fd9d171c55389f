"""Validate stage: cross-references between files, after each file passed its schema."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter
from typing import Any

from .errors import Problem
from .loader import REQUIRED_PAGES, Entry, Site, nearest

_META = attrgetter("meta")
_REFERENCE = attrgetter("reference")


def _unknown(value: str, options: list[str], what: str) -> tuple[str, str]:
    close = nearest(value, options)
    listing = ", ".join(options) if options else "none yet"
    hint = f"did you mean '{close}'? " if close else ""
    return f"no {what} '{value}' (expected one of the {what}s that exist)", f"{hint}the {what}s are: {listing}"


def check_ideas(site: Site) -> Iterator[Problem]:
    challenges = list(site.challenges)
    for idea in site.ideas.values():
        meta = idea.meta
        if meta.challenge not in site.challenges:
            message, hint = _unknown(meta.challenge, challenges, "challenge")
            yield Problem(idea.path, idea.line_of("challenge"), "challenge", message, hint)
        elif idea.folder != meta.challenge:
            yield Problem(
                idea.path,
                idea.line_of("challenge"),
                "challenge",
                f"the file is in content/ideas/{idea.folder}/ but names challenge '{meta.challenge}'",
                f"move it to content/ideas/{meta.challenge}/ or fix the key",
            )
        if meta.role is not None and meta.role not in site.config.roles:
            message, hint = _unknown(meta.role, site.config.roles, "role")
            yield Problem(idea.path, idea.line_of("role"), "role", message, hint + " (site.yml roles)")
        if meta.region is not None and meta.region not in site.config.regions:
            message, hint = _unknown(meta.region, site.config.regions, "region")
            yield Problem(idea.path, idea.line_of("region"), "region", message, hint + " (site.yml regions)")
        if meta.response is not None and meta.published is not None and meta.response.date < meta.published:
            yield Problem(
                idea.path,
                idea.line_of("response"),
                "response.date",
                f"the response ({meta.response.date}) is dated before the idea was published ({meta.published})",
                "a response comes after publication",
            )


def check_duplicates(site: Site) -> Iterator[Problem]:
    """`duplicate_of` names another idea that exists and is not itself a duplicate."""
    for idea in site.ideas.values():
        original = idea.meta.duplicate_of
        if original is None:
            continue
        line = idea.line_of("duplicate_of")
        if original == idea.slug:
            yield Problem(
                idea.path, line, "duplicate_of", "an idea cannot be a duplicate of itself", "name the idea this one repeats, or remove the key"
            )
        elif original not in site.ideas:
            originals = sorted(slug for slug, other in site.ideas.items() if other.meta.duplicate_of is None and slug != idea.slug)
            message, hint = _unknown(original, originals, "idea")
            yield Problem(idea.path, line, "duplicate_of", message, hint)
        elif (further := site.ideas[original].meta.duplicate_of) is not None:
            yield Problem(
                idea.path,
                line,
                "duplicate_of",
                f"'{original}' is itself a duplicate of '{further}'",
                f"write duplicate_of: {further} (point at the original idea)",
            )


def check_references(site: Site) -> Iterator[Problem]:
    entries: list[Entry[Any]] = [*site.ideas.values(), *site.topics.values(), *site.comments.values()]
    references = list(map(_REFERENCE, map(_META, entries)))
    if len(set(references)) == len(references):
        return  # each used once, told in one go: the loop below is for naming the files that share one
    seen: dict[str, str] = {}
    for entry, ref in zip(entries, references, strict=True):
        if ref in seen:
            yield Problem(
                entry.path,
                entry.line_of("reference"),
                "reference",
                f"{ref} is already used by {seen[ref]}",
                "each submission has its own reference",
            )
        else:
            seen[ref] = entry.path


def check_challenge_links(site: Site) -> Iterator[Problem]:
    challenges = list(site.challenges)
    for collection in (site.events, site.topics):
        for entry in collection.values():
            slug = entry.meta.challenge
            if slug is not None and slug not in site.challenges:
                message, hint = _unknown(slug, challenges, "challenge")
                yield Problem(entry.path, entry.line_of("challenge"), "challenge", message, hint)
    for topic in site.topics.values():
        if topic.meta.challenge in site.challenges and topic.folder != topic.meta.challenge:
            yield Problem(
                topic.path,
                topic.line_of("challenge"),
                "challenge",
                f"the file is in content/topics/{topic.folder}/ but names challenge '{topic.meta.challenge}'",
                f"move it to content/topics/{topic.meta.challenge}/",
            )


def check_comments(site: Site) -> Iterator[Problem]:
    by_ref = {c.meta.reference: c for c in site.comments.values()}
    for comment in site.comments.values():
        kind, _, slug = comment.meta.target.partition(":")
        targets = site.ideas if kind == "idea" else site.topics
        if slug not in targets:
            message, hint = _unknown(slug, sorted(targets), kind)
            yield Problem(comment.path, comment.line_of("target"), "target", message, hint)
        elif comment.folder != slug:
            yield Problem(
                comment.path,
                comment.line_of("target"),
                "target",
                f"the file is in content/comments/{comment.folder}/ but is on '{slug}'",
                f"move it to content/comments/{slug}/",
            )
        reply_to = comment.meta.reply_to
        if reply_to is None:
            continue
        parent = by_ref.get(reply_to)
        if parent is None or parent.meta.target != comment.meta.target:
            yield Problem(
                comment.path,
                comment.line_of("reply_to"),
                "reply_to",
                f"no comment {reply_to} on {comment.meta.target}",
                "reply_to names the reference of a comment on the same idea or topic",
            )
        elif parent.meta.reply_to is not None:
            yield Problem(
                comment.path,
                comment.line_of("reply_to"),
                "reply_to",
                f"{reply_to} is itself a reply; replies go one level deep",
                f"reply to {parent.meta.reply_to} instead",
            )


def check_updates(site: Site) -> Iterator[Problem]:
    for update in site.updates.values():
        for slug in update.meta.ideas:
            if slug not in site.ideas:
                message, hint = _unknown(slug, sorted(site.ideas), "idea")
                yield Problem(update.path, update.line_of("ideas"), "ideas", message, hint)


def check_pages(site: Site) -> Iterator[Problem]:
    for slug in REQUIRED_PAGES:
        if slug not in site.pages:
            yield Problem(
                f"content/pages/{slug}.md", 1, "file", f"the {slug} page is missing; every form links to it", f"consult new page '{slug.title()}'"
            )


CHECKS = (check_ideas, check_duplicates, check_references, check_challenge_links, check_comments, check_updates, check_pages)


def validate(site: Site) -> list[Problem]:
    """Every cross-reference problem in the site, in file order."""
    return sorted(problem for check in CHECKS for problem in check(site))
