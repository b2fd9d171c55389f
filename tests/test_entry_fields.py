"""A view's `entry_fields` depend on nothing but its identity and its file's text (`generator.reads.ENTRY_FIELDS`).

A replay does not evaluate them while the file's text is unchanged, so a field
declared there that other files, the counts or the build's date could change
would leave pages stale. These tests change everything around the files they
keep (the challenge, the other ideas, comments, updates, duplicates, counts,
the date) and check every declared field of every view whose text is unchanged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from generator.loader import load_site, render_markdown
from generator.reads import ENTRY, ENTRY_FIELDS, IDENTIFIED, Recorder, Tables, token
from generator.validate import validate
from generator.views import IdeaView, SiteViews, View, build_views

from .conftest import BUILD_NOW, copy_sample

KEPT = "content/ideas/getting-the-basics-right/one-login-for-all-clinical-systems.md"


def arranged(repo: Path, now: dt.datetime, supports: dict[str, int] | None) -> SiteViews:
    site, problems = load_site(repo)
    assert not problems and not validate(site), "the changed sample must still build"
    render_markdown(site)
    return build_views(site, now, supports)


def every_view(views: SiteViews) -> list[View[Any]]:
    found = views.by_identity()
    return [value for value in found.values() if type(value) in IDENTIFIED and isinstance(value, View)]


def entry_tokens(views: SiteViews) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each view's file hash and the tokens of its declared fields, taken while its build's front matters are the known ones."""
    return {
        view.read_identity: (view.entry.digest, {name: token(getattr(view, name)) for name in sorted(ENTRY_FIELDS[type(view).__name__])})
        for view in every_view(views)
    }


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def change_everything_else(repo: Path) -> None:
    """Change what surrounds the kept idea: its challenge, the other ideas' titles and tags, its comments, an update, a duplicate of it."""
    replace_in(repo / "challenges/getting-the-basics-right.md", 'title: "Getting', 'title: "Renamed, getting')
    for idea in (repo / "content/ideas").rglob("*.md"):
        if idea.relative_to(repo).as_posix() != KEPT:
            replace_in(idea, 'title: "', 'title: "Changed: ')
            idea.write_text(idea.read_text(encoding="utf-8").replace("\n  - ", "\n  - other-"), encoding="utf-8")  # no tag shared
    for comment in (repo / "content/comments/one-login-for-all-clinical-systems").glob("*.md"):
        comment.unlink()
    duplicate = repo / "content/ideas/getting-the-basics-right/one-password-for-everything.md"
    text = (repo / KEPT).read_text(encoding="utf-8").replace("reference: ", "duplicate_of: one-login-for-all-clinical-systems\nreference: ")
    duplicate.write_text(text.replace("reference: TH-PD41P", "reference: TH-QD41P"), encoding="utf-8")
    update = next((repo / "content/updates").glob("*.md"))
    replace_in(update, "ideas:\n", "ideas:\n  - one-login-for-all-clinical-systems\n")


def test_every_view_class_declares_its_entry_fields() -> None:
    assert ENTRY_FIELDS["IdeaView"] >= {"meta", "slug", "read_identity", "title", "status", "date", "url", "challenge"}
    assert ENTRY_FIELDS["CommentView"] == {"meta", "slug", "read_identity", "title"}, "a comment's URL is its idea's: not its own"
    assert "comment_count" not in ENTRY_FIELDS["IdeaView"] and "supports" not in ENTRY_FIELDS["IdeaView"]


@pytest.mark.parametrize("supports", [None, {"one-login-for-all-clinical-systems": 7}])
def test_entry_fields_are_the_same_whatever_the_other_files_say(tmp_path: Path, supports: dict[str, int] | None) -> None:
    before = entry_tokens(arranged(copy_sample(tmp_path / "before"), BUILD_NOW, None))
    changed = copy_sample(tmp_path / "after")
    change_everything_else(changed)
    after_views = arranged(changed, BUILD_NOW + dt.timedelta(days=400), supports)
    after = entry_tokens(after_views)
    kept = [identity for identity, (digest, _) in before.items() if identity in after and after[identity][0] == digest]
    assert "IdeaView:one-login-for-all-clinical-systems" in kept and len(kept) > 20
    for identity in kept:
        assert after[identity][1] == before[identity][1], f"{identity}: a declared entry field changed with other files"
    kept_idea = after_views.ideas["one-login-for-all-clinical-systems"]
    assert isinstance(kept_idea, IdeaView) and kept_idea.comment_count == 0 and not kept_idea.related, "what is not declared did change"


def test_a_read_of_an_entry_field_keeps_its_files_hash() -> None:
    """Recording a declared field keeps the text's hash beside it, under the view's identity; an undeclared one does not."""
    sample = Path(__file__).resolve().parents[1]
    views = arranged(sample, BUILD_NOW, None)
    idea = views.ideas["one-login-for-all-clinical-systems"]
    recorder = Recorder({}, Tables.empty())
    with recorder.page({}):
        recorder.attribute(idea, "title", idea.title)
    assert recorder.tables.models == {idea.read_identity: idea.entry.digest}
    recorder = Recorder({}, Tables.empty())
    with recorder.page({}):
        recorder.attribute(idea, "comment_count", idea.comment_count)
    assert recorder.tables.models == {}


def test_a_read_of_a_views_file_keeps_its_hash() -> None:
    """A read of an attribute made from the view's file alone (its `html`: `reads.ENTRY`) keeps the text's hash too, for
    a replay to skip it while that text is unchanged, even on a page that reads none of the view's `entry_fields`."""
    sample = Path(__file__).resolve().parents[1]
    comment = next(iter(arranged(sample, BUILD_NOW, None).ideas["one-login-for-all-clinical-systems"].comments))
    recorder = Recorder({}, Tables.empty())
    with recorder.page({}) as seen:
        recorder.attribute(comment, "html", comment.html)
    assert recorder.tables.models == {comment.read_identity: comment.entry.digest}
    assert [recorder.tables.pairs[2 * n + 1] for n in seen.pairs] == [ENTRY]
