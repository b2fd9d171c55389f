"""A page's dependencies are what its templates read: a field a template starts to show can never leave a page stale.

Nothing lists what a page or a card shows (generator/reads.py): these tests
change the theme to show a field no signature ever named, then change only
that field, and expect every page showing it to follow, byte for byte as a
cold build writes it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import generator.engine
import generator.pagewriter
import generator.reads
from generator.build import build
from generator.manifest import read_manifest
from generator.paths import TEMPLATES_DIR

from .conftest import BUILD_NOW
from .test_incremental import assert_same_as_cold, recorded_pages

CARD_END = "      <span>Published {{ idea.date | long_date }}</span>"
ROLE_ON_CARD = '      {% if idea.meta.role %}<span class="consult-role">{{ idea.meta.role }}</span> · {% endif %}\n' + CARD_END
"""The card in listings starts to show who shared the idea: a field the old, hand-kept card signature left out."""


@pytest.fixture
def theme_showing_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A theme whose idea cards show the idea's role (macros.html overridden through Pelican's template overrides)."""
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    text = (TEMPLATES_DIR / "macros.html").read_text(encoding="utf-8")
    assert text.count(CARD_END) == 1, "the card macro changed: update CARD_END"
    (overrides / "macros.html").write_text(text.replace(CARD_END, ROLE_ON_CARD), encoding="utf-8")
    stock = generator.engine.settings_for

    def settings_with_overrides(*args: Any, **kwargs: Any) -> dict[str, Any]:
        settings = stock(*args, **kwargs)
        settings["THEME_TEMPLATES_OVERRIDES"] = [str(overrides), *settings["THEME_TEMPLATES_OVERRIDES"]]
        return settings

    monkeypatch.setattr(generator.engine, "settings_for", settings_with_overrides)
    return overrides


def newest_idea(repo: Path) -> Path:
    """The idea shown first on /ideas/ (newest published, then by slug, as the views order them)."""
    dated = []
    for path in (repo / "content/ideas").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        if "duplicate_of:" in text:
            continue
        published = re.search(r"^published: (\S+)", text, re.MULTILINE) or re.search(r"^submitted: (\S+)", text, re.MULTILINE)
        assert published is not None
        dated.append((published.group(1), path.stem, path))
    return max(dated)[2]


def set_role(idea: Path, role: str) -> None:
    text = idea.read_text(encoding="utf-8")
    if re.search(r"^role: .*$", text, re.MULTILINE):
        text = re.sub(r"^role: .*$", f"role: {role}", text, count=1, flags=re.MULTILINE)
    else:
        text = text.replace("\nchallenge:", f"\nrole: {role}\nchallenge:", 1)
    idea.write_text(text, encoding="utf-8")


def cards_with_role(page: Path) -> list[str]:
    return re.findall(r'<span class="consult-role">([^<]*)</span>', page.read_text(encoding="utf-8"))


def test_a_field_newly_shown_on_cards_is_followed_into_every_listing(sample_repo: Path, tmp_path: Path, theme_showing_roles: Path) -> None:
    idea = newest_idea(sample_repo)
    set_role(idea, "Nurse")
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    listing = out / "ideas" / "index.html"
    assert "Nurse" in cards_with_role(listing), "the changed theme shows roles on cards"

    set_role(idea, "Paramedic")  # only this field changes: no title, summary, status or body
    edited = build(sample_repo, out, now=BUILD_NOW, incremental=True)

    assert "Paramedic" in cards_with_role(listing)
    assert 0 < edited.render_stats.rendered < edited.render_stats.total / 4, "only the pages that show the idea are rendered again"
    assert_same_as_cold(sample_repo, out, tmp_path, "role")


def test_a_page_is_kept_only_while_what_it_read_is_unchanged(sample_repo: Path, tmp_path: Path) -> None:
    """The manifest records, for a listing, the reads of each card on it; a change to a field no card reads re-renders no listing."""
    idea = newest_idea(sample_repo)
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    manifest = read_manifest(out)
    identity = f"IdeaView:{idea.stem}"
    listing_reads = manifest.reads_of("/ideas/")
    accesses = {read[1] for read in listing_reads if read[0] == identity}
    assert {".title", ".status", ".comment_count"} <= accesses, "the listing recorded the card's reads of the idea"
    front_matter = {read[1] for read in listing_reads if read[0] == f"idea/{idea.stem}"}
    assert ".summary" in front_matter and ".role" not in front_matter, "and of its front matter, field by field"

    listing = (out / "ideas" / "index.html").read_bytes()
    set_role(idea, "Pharmacist")  # the idea page shows the role; the stock theme's cards do not
    edited = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert edited.render_stats.rendered >= 1
    assert "Pharmacist" in (out / "ideas" / idea.stem / "index.html").read_text(encoding="utf-8")
    assert (out / "ideas" / "index.html").read_bytes() == listing
    assert_same_as_cold(sample_repo, out, tmp_path, "role-unseen")


def test_reads_recorded_in_two_processes_are_those_one_process_records(sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked worker's reads and pieces are merged into the manifest, each once, numbered as the parent's."""
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    build(sample_repo, serial, now=BUILD_NOW)
    monkeypatch.setattr(generator.pagewriter, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(generator.pagewriter, "workers", lambda: 2)
    result = build(sample_repo, parallel, now=BUILD_NOW)
    assert result.render_stats is not None and result.render_stats.processes == 2
    assert recorded_pages(parallel) == recorded_pages(serial)
    tables = read_manifest(parallel).tables
    pairs = list(zip(tables.pairs[0::2], tables.pairs[1::2], strict=True))
    assert len(pairs) == len(set(pairs)), "a read made in both processes is kept once"

    set_role(newest_idea(sample_repo), "Midwife")
    build(sample_repo, parallel, now=BUILD_NOW, incremental=True)
    assert_same_as_cold(sample_repo, parallel, tmp_path, "parallel")


def test_every_view_is_found_by_the_identity_its_reads_are_kept_under(sample_repo: Path, tmp_path: Path) -> None:
    """Replaying a read finds the view by `read_identity`: a view missing from `by_identity` would make its pages render every time."""
    views = build(sample_repo, tmp_path / "site", now=BUILD_NOW).views
    found = views.by_identity()
    comments = [c for idea in views.ideas.values() for c in idea.comments]
    assert comments, "the sample has comments"
    for view in [*views.ideas.values(), *views.challenges.values(), *views.topics.values(), *comments, views]:
        assert found[view.read_identity] is view
    assert len({id(view) for view in found.values()}) == len(found)


def test_tokens_tell_apart_what_a_template_would_show_differently() -> None:
    """Equal tokens must mean values a template shows the same: dates, and lists of text, have tokens of their own."""
    import datetime as dt

    from generator.reads import SHORT, token

    assert token(dt.date(2026, 3, 1)) == token(dt.date(2026, 3, 1))
    assert token(dt.date(2026, 3, 1)) != token(dt.date(2026, 3, 2))
    assert token(dt.date(2026, 3, 1)) != token("2026-03-01"), "a date is not its text"
    assert token(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)) != token(dt.date(2026, 3, 1))
    assert token(["rotas", "parking"]) == token(["rotas", "parking"])
    assert token(["rotas", "parking"]) != token(["parking", "rotas"]), "order shows"
    assert token(["rotas,parking"]) != token(["rotas", "parking"])
    assert token(["a\x1fb"]) != token(["a", "b"])
    assert token(["rotas"]) != token(("rotas",)), "a list is not a tuple"
    long = ["x" * SHORT, "y" * SHORT]
    assert token(long) == token(list(long)) and token(long) != token(["x" * SHORT, "y" * (SHORT - 1)])
    assert len(str(token(long))) < SHORT, "long lists are hashed"


def test_a_replay_skips_the_fields_of_front_matter_whose_file_is_unchanged(
    sample_repo: Path, tmp_path: Path, theme_showing_roles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Front matter, and a view's `entry_fields`, are a function of its file's text: while that text is unchanged, their
    recorded reads are not evaluated again.

    The edited file's fields are, and a file edited back to its earlier text is followed too.
    """
    idea = newest_idea(sample_repo)
    original = idea.read_text(encoding="utf-8")
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    listing = out / "ideas" / "index.html"
    first = listing.read_bytes()
    role = "Midwife" if "role: Midwife" not in original else "Nurse"
    models = read_manifest(out).tables.models
    assert f"idea/{idea.stem}" in models and len(models) > 1, "the build kept the hash each read front matter had"

    assert f"IdeaView:{idea.stem}" in models, "and each view whose fields that come from its file alone were read"

    compared: list[generator.reads.SameTexts] = []
    stock = generator.reads.Replay.__init__

    def replay(self: generator.reads.Replay, *args: Any, **kwargs: Any) -> None:
        stock(self, *args, **kwargs)
        compared.append(self.same)

    monkeypatch.setattr(generator.reads.Replay, "__init__", replay)
    set_role(idea, role)
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    same = compared[-1]
    assert f"idea/{idea.stem}" not in same, "the edited file's fields are evaluated"
    assert f"IdeaView:{idea.stem}" not in same, "and its view's"
    assert {identity for identity in models if identity in same} == set(models) - {f"idea/{idea.stem}", f"IdeaView:{idea.stem}"}, (
        "every other file's are skipped"
    )
    assert same.edited == {f"IdeaView:{idea.stem}"}, "the edited idea's view is the one whose page is rendered ahead"
    assert listing.read_bytes() != first and cards_with_role(listing)[0] == role, "the newest idea's card shows its new role"

    idea.write_text(original, encoding="utf-8")  # its text, and hash, as at the first build
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert listing.read_bytes() == first
    assert_same_as_cold(sample_repo, out, tmp_path, "edited-back")
