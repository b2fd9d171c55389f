"""`SiteViews.by_identity`: every view the templates can reach, by identity, kept as `build_views` made them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.loader import load_site, render_markdown
from generator.reads import models_by_identity
from generator.views import SiteViews, View, build_views

from .conftest import BUILD_NOW


def reachable(views: SiteViews) -> dict[str, Any]:
    """Every view reached from the site's collections, comments and their replies included (walked afresh)."""
    found: dict[str, Any] = {}
    discussed: list[Any] = [*views.ideas.values(), *views.duplicates.values(), *views.topics.values()]
    comments = [comment for view in discussed for comment in view.comments]
    while comments:
        found.update((c.read_identity, c) for c in comments)
        comments = [reply for c in comments for reply in c.replies]
    for collection in (views.challenges, views.events, views.pages, views.updates):
        found.update((v.read_identity, v) for v in collection.values())
    found.update((v.read_identity, v) for v in discussed)
    return found


def test_every_reachable_view_and_front_matter_and_nothing_else(sample_repo: Path) -> None:
    site, problems = load_site(sample_repo)
    assert not problems
    render_markdown(site)
    views = build_views(site, BUILD_NOW, {})
    found = views.by_identity()
    walked = reachable(views)
    assert walked and any(":" in key and key.startswith("CommentView:") for key in walked), "the sample has comments"
    assert {key: value for key, value in found.items() if isinstance(value, View)} == walked
    assert all(found[key] is view for key, view in walked.items())
    assert found["views"] is views
    models = models_by_identity()
    assert {key: value for key, value in found.items() if not isinstance(value, View) and key != "views"} == models


def test_views_made_outside_a_build_or_by_an_earlier_one_are_not_this_builds(sample_repo: Path) -> None:
    site, _ = load_site(sample_repo)
    render_markdown(site)
    first = build_views(site, BUILD_NOW, {})
    idea = next(iter(first.ideas.values()))
    type(idea)(idea.entry, "/elsewhere/", idea.challenge)  # a single page's view, made after the build
    second = build_views(site, BUILD_NOW, {})
    assert all(view is reachable(second)[key] for key, view in second.made.items())
    assert second.by_identity()[idea.read_identity] is second.ideas[idea.slug] is not idea
    assert first.by_identity()[idea.read_identity] is idea, "each build keeps its own"
