"""A search part's pages, cut for Pagefind, are kept between builds and used again only for a page with the same hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from generator import pagefind
from generator.cutpages import CutStore
from generator.searchable import searchable


def page(title: str, words: str) -> bytes:
    return (
        f"<!doctype html><html lang='en-gb'><head><title>{title}</title></head><body><header>Site header</header>"
        f"<main><article data-pagefind-body><h2>{title}</h2><p>{words}</p></article></main><footer>Footer</footer></body></html>"
    ).encode()


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_site(site: Path, pages: dict[str, bytes]) -> dict[str, str]:
    for rel, data in pages.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    return {rel: digest(data) for rel, data in pages.items()}


def three_pages_kept(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, str], CutStore]:
    """A site of three idea pages, their part prepared once with their digests and its cut pages kept."""
    site = tmp_path / "site"
    pages = {f"ideas/idea-{n}/index.html": page(f"Idea {n}", "rota swaps") for n in range(3)}
    digests = write_site(site, pages)
    store = CutStore(tmp_path / "search", "code")
    pagefind.prepare_part(site, 0, list(pages), digests=digests, store=store).keep_cut()
    return site, pages, digests, store


@pytest.fixture
def counted_cuts(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The pages `pagefind` cuts from now on."""
    cut: list[bytes] = []

    def counting(data: bytes) -> bytes:
        cut.append(data)
        return searchable(data)

    monkeypatch.setattr(pagefind, "searchable", counting)
    return cut


def scratch_files(scratch: pagefind.Scratch) -> dict[str, bytes]:
    return {p.relative_to(scratch.source).as_posix(): p.read_bytes() for p in scratch.source.rglob("*") if p.is_file()}


def test_kept_cut_pages_load_back_for_the_code_that_cut_them(tmp_path: Path) -> None:
    store = CutStore(tmp_path / "search", "code-1")
    cut = {"ideas/a/index.html": ("d1", b"<html>a</html>"), "ideas/b/index.html": ("d2", b"<html>b</html>")}
    store.save(3, cut)
    assert store.load(3) == cut
    assert store.load(4) == {}, "a part with nothing kept"
    assert CutStore(tmp_path / "search", "code-2").load(3) == {}, "other code may cut pages otherwise: its pages are not used"
    store.path(3).write_bytes(b"not what a build writes")
    assert store.load(3) == {}, "a damaged file is read as an empty one"


def test_a_part_cuts_only_the_pages_whose_hash_is_not_kept(tmp_path: Path, counted_cuts: list[bytes]) -> None:
    site = tmp_path / "site"
    pages = {f"ideas/idea-{n}/index.html": page(f"Idea {n}", f"rota swaps {n}") for n in range(6)}
    digests = write_site(site, pages)
    store = CutStore(tmp_path / "search", "code")
    first = pagefind.prepare_part(site, 2, list(pages), digests=digests, store=store)
    assert len(counted_cuts) == 6 and first.fresh == 6
    assert scratch_files(first) == {rel: searchable(data) for rel, data in pages.items()}
    first.keep_cut()
    assert store.load(2) == {rel: (digests[rel], searchable(data)) for rel, data in pages.items()}

    counted_cuts.clear()
    edited = "ideas/idea-4/index.html"
    pages[edited] = page("Idea 4", "quiet rooms for night staff")
    digests = write_site(site, {edited: pages[edited]}) | {rel: d for rel, d in digests.items() if rel != edited}
    again = pagefind.prepare_part(site, 2, list(pages), digests=digests, store=store)
    assert counted_cuts == [pages[edited]], "only the edited page is read and cut: the others are kept"
    assert scratch_files(again) == {rel: searchable(data) for rel, data in pages.items()}, "the same folder as if every page were cut"
    again.keep_cut()
    assert store.load(2)[edited] == (digests[edited], searchable(pages[edited]))


def test_a_page_given_by_its_bytes_is_cut_from_them(tmp_path: Path, counted_cuts: list[bytes]) -> None:
    """An edit's own page, rendered ahead and not written yet: the site still holds the page before the edit."""
    site, pages, digests, store = three_pages_kept(tmp_path)
    counted_cuts.clear()
    rendered = page("Idea 1", "handover notes that stay with the patient")
    prepared = pagefind.prepare_part(
        site, 0, list(pages), {"ideas/idea-1/index.html": rendered}, digests | {"ideas/idea-1/index.html": digest(rendered)}, store
    )
    assert counted_cuts == [rendered]
    assert scratch_files(prepared)["ideas/idea-1/index.html"] == searchable(rendered)


def test_without_digests_every_page_is_read_and_nothing_is_kept(tmp_path: Path, counted_cuts: list[bytes]) -> None:
    site, pages, _digests, store = three_pages_kept(tmp_path)
    counted_cuts.clear()
    unknown = pagefind.prepare_part(site, 0, list(pages), store=store)
    assert len(counted_cuts) == 3, "a page whose hash is not known is read from the site"
    unknown.keep_cut()
    assert set(store.load(0)) == set(pages), "what was kept stays"


def test_a_store_not_to_be_reused_gives_nothing_and_keeps_what_is_cut(tmp_path: Path, counted_cuts: list[bytes]) -> None:
    """`consult build --clean` trusts no cache: every page is cut again, and what it cuts is kept for the next build."""
    site, pages, digests, store = three_pages_kept(tmp_path)
    (site / "ideas/idea-1/index.html").write_bytes(page("Idea 1", "changed by hand, under the same hash"))
    counted_cuts.clear()
    clean = pagefind.prepare_part(site, 0, list(pages), digests=digests, store=CutStore(tmp_path / "search", "code", reuse=False))
    assert len(counted_cuts) == 3 and b"changed by hand" in scratch_files(clean)["ideas/idea-1/index.html"]
    clean.keep_cut()
    assert b"changed by hand" in store.load(0)["ideas/idea-1/index.html"][1], "kept for the builds after it"
