"""The manifest is kept as a base and the changes since (`generator.manifest`): read back, the two give what was written."""

from __future__ import annotations

import pickle
from pathlib import Path

from generator.build import build
from generator.manifest import CHANGES, MANIFEST, REWRITE_FRACTION, Manifest, PageRecord, read_manifest, write_manifest
from generator.reads import Tables

from .conftest import BUILD_NOW
from .test_incremental import assert_same_as_cold, edit_body

PAGES = 40


def written(count: int = PAGES) -> Manifest:
    """A manifest as a build leaves it: a read of each card's title, a piece every page includes, each card's front matter known."""
    tables = Tables([], [], [(0, 1)], [()])
    for n in range(count):
        tables.pairs += [f"Card:{n}", ".title"]
        tables.tokens.append(f"Card {n}")
    tables.models = {f"card/{n}": f"digest-{n}" for n in range(count)}
    pages = {f"/cards/{n}/": PageRecord("", False, (n,), (0,), {"page_url": f"/cards/{n}/"}) for n in range(count)}
    return Manifest("code", tables, pages, compacted=sum(tables.sizes))


def rendered_again(previous: Manifest, records: dict[str, PageRecord]) -> Manifest:
    """What `render_pages` makes of the last build's manifest after rendering the pages of records."""
    pages = {**previous.pages, **records}
    return Manifest(previous.made_with, previous.tables, pages, previous.compacted, previous.base, previous.changed | set(records))


def same(a: Manifest, b: Manifest) -> bool:
    return (a.made_with, a.tables, a.pages, a.compacted) == (b.made_with, b.tables, b.pages, b.compacted)


def an_edit(manifest: Manifest, n: int) -> Manifest:
    """Card n renamed: its page reads the new title (a read added to the tables), its front matter's hash changed."""
    manifest.tables.pairs += [f"Card:{n}", ".title"]
    manifest.tables.tokens.append(f"Card {n}, renamed")
    manifest.tables.models[f"card/{n}"] = f"digest-{n}-edited"
    return rendered_again(manifest, {f"/cards/{n}/": PageRecord("", False, (len(manifest.tables.tokens) - 1,), (0,), {"page_url": f"/cards/{n}/"})})


def test_the_first_write_is_whole_and_reads_back_the_same(tmp_path: Path) -> None:
    manifest = written()
    write_manifest(tmp_path, manifest)
    assert (tmp_path / MANIFEST).read_bytes().startswith(b"consult-manifest ")
    back = read_manifest(tmp_path)
    assert same(back, manifest) and back.base.name and back.changed == set()


def test_an_edit_writes_only_the_changes_and_reads_back_what_it_wrote(tmp_path: Path) -> None:
    write_manifest(tmp_path, written())
    base = (tmp_path / MANIFEST).read_bytes()

    edited = an_edit(read_manifest(tmp_path), 3)
    del edited.pages["/cards/7/"]  # a page gone
    edited.pages["/cards/new/"] = PageRecord("abc", True, (0,), (), {"page_url": "/cards/new/"})
    edited.changed.add("/cards/new/")
    write_manifest(tmp_path, edited)
    assert (tmp_path / MANIFEST).read_bytes() == base, "the base is not written again"
    assert len((tmp_path / CHANGES).read_bytes()) < len(base) / 4
    back = read_manifest(tmp_path)
    assert same(back, edited)
    assert back.tables.models["card/3"] == "digest-3-edited" and "/cards/7/" not in back.pages

    again = an_edit(back, 5)  # the changes hold every build's since the base
    write_manifest(tmp_path, again)
    assert (tmp_path / MANIFEST).read_bytes() == base
    back = read_manifest(tmp_path)
    assert same(back, again) and back.changed == {"/cards/3/", "/cards/5/", "/cards/new/"}


def test_the_whole_manifest_is_written_again_once_the_changes_have_grown(tmp_path: Path) -> None:
    write_manifest(tmp_path, written())
    base = (tmp_path / MANIFEST).read_bytes()
    manifest = read_manifest(tmp_path)
    for n in range(PAGES // REWRITE_FRACTION + 1):
        manifest = an_edit(manifest, n)
    assert manifest.rewrite_due()
    write_manifest(tmp_path, manifest)
    assert (tmp_path / MANIFEST).read_bytes() != base
    back = read_manifest(tmp_path)
    assert same(back, manifest) and back.changed == set() and not back.rewrite_due(), "the changes start again from the new base"


def test_changes_older_than_the_base_are_not_applied(tmp_path: Path) -> None:
    """A whole write writes the base, then empties the changes: stopped between the two, the base alone is the latest."""
    write_manifest(tmp_path, written())
    edited = an_edit(read_manifest(tmp_path), 1)
    write_manifest(tmp_path, edited)
    older = (tmp_path / CHANGES).read_bytes()
    latest = an_edit(read_manifest(tmp_path), 2)
    latest.compacted = 0  # compaction is due: a whole write
    write_manifest(tmp_path, latest)
    (tmp_path / CHANGES).write_bytes(older)
    back = read_manifest(tmp_path)
    assert back.pages == latest.pages and back.tables == latest.tables


def test_a_base_without_readable_changes_is_not_used(tmp_path: Path) -> None:
    """The records of the pages rendered since the base would be lost: every page is rendered instead."""
    write_manifest(tmp_path, written())
    write_manifest(tmp_path, an_edit(read_manifest(tmp_path), 1))
    changes = (tmp_path / CHANGES).read_bytes()
    (tmp_path / CHANGES).unlink()
    assert read_manifest(tmp_path).pages == {}
    (tmp_path / CHANGES).write_bytes(changes[: len(changes) // 2])
    assert read_manifest(tmp_path).pages == {}
    (tmp_path / CHANGES).write_bytes(pickle.dumps(Path("/etc/passwd")))  # names a class: refused, not loaded
    assert read_manifest(tmp_path).pages == {}
    (tmp_path / CHANGES).write_bytes(changes)
    assert read_manifest(tmp_path).pages != {}


def test_an_edited_build_keeps_the_base_and_records_what_a_cold_build_does(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    base = (out / MANIFEST).read_bytes()
    idea = min((sample_repo / "content/ideas").rglob("*.md"))
    edit_body(idea, "A line added by an editor.")
    edited = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert 0 < edited.render_stats.rendered < edited.render_stats.total / REWRITE_FRACTION
    assert (out / MANIFEST).read_bytes() == base, "only the changes were written"
    assert f"/ideas/{idea.stem}/" in read_manifest(out).changed
    assert_same_as_cold(sample_repo, out, tmp_path, "edit")
