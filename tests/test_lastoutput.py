"""What the last build left in the output folder, looked at once (generator/lastoutput.py).

`consult build` looks for the last build's pages in the forked process that takes the inputs'
fingerprint (`generator.startup`), not on the main thread of the build: a page removed by hand
is still written again, and a page the last build did not list is still looked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import startup
from generator.build import build
from generator.cli import main
from generator.contentcache import ContentCache
from generator.freshness import cache_file
from generator.lastoutput import FILES, look_at

from .conftest import BUILD_NOW
from .test_incremental import assert_same_as_cold, edit_body


@pytest.fixture
def site(sample_repo: Path, tmp_path: Path) -> Path:
    """The sample built once, in place, its content cache saved as `consult build` saves it."""
    out = tmp_path / "site"
    cache = ContentCache()
    build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache)
    cache.save(cache_file(sample_repo))
    return out


def an_idea_page(repo: Path) -> str:
    return f"ideas/{min((repo / 'content/ideas').rglob('*.md')).stem}/index.html"


def test_look_at_finds_the_listed_pages_that_are_gone_and_nothing_else(sample_repo: Path, site: Path) -> None:
    page = an_idea_page(sample_repo)
    (site / page).unlink()
    (site / "data" / "ideas.csv").unlink()  # not a page: not looked for
    looked = look_at(site)
    assert looked is not None
    assert looked.files == set((site / FILES).read_text(encoding="utf-8").splitlines())
    assert page in looked.files and "data/ideas.csv" in looked.files
    assert looked.gone == {page}
    assert looked.is_gone(page) is True
    assert looked.is_gone("privacy/index.html") is False
    assert looked.is_gone("data/ideas.csv") is None, "only pages are looked for"
    assert looked.is_gone("not/listed/index.html") is None, "a page the last build did not list was not looked for"


def test_look_at_an_output_with_no_list_of_files(tmp_path: Path) -> None:
    assert look_at(tmp_path / "nowhere") is None
    (tmp_path / "empty").mkdir()
    assert look_at(tmp_path / "empty") is None


@pytest.mark.parametrize("forking", [True, False], ids=["forked", "in place"])
def test_startup_looks_at_the_output_in_its_forked_process(sample_repo: Path, site: Path, monkeypatch: pytest.MonkeyPatch, forking: bool) -> None:
    if not forking:
        monkeypatch.setattr(startup, "sending", lambda there: None)
    page = an_idea_page(sample_repo)
    (site / page).unlink()
    started = startup.start(sample_repo, None, None, lambda inputs: True, site)
    if forking:
        assert started.last_output == look_at(site)
        assert started.last_output is not None and started.last_output.gone == {page}
    else:
        assert started.last_output is None, "without a fork the build looks for its pages itself"
    assert startup.start(sample_repo, None, None, lambda inputs: True).last_output is None, "no output folder given"
    assert startup.start(sample_repo, None, None, lambda inputs: False, site).last_output is None, "no build wanted"


@pytest.mark.parametrize("when", ["looked at", "not looked at"])
def test_a_page_gone_since_the_last_build_is_written_again_either_way(sample_repo: Path, site: Path, tmp_path: Path, when: str) -> None:
    page = an_idea_page(sample_repo)
    (site / page).unlink()
    (site / "privacy" / "index.html").unlink()
    looked = look_at(site) if when == "looked at" else None
    again = build(sample_repo, site, now=BUILD_NOW, incremental=True, last_output=looked)
    assert again.render_stats is not None and again.render_stats.rendered == 2
    assert (site / page).is_file() and (site / "privacy" / "index.html").is_file()
    assert_same_as_cold(sample_repo, site, tmp_path, when.replace(" ", "-"))


def test_a_page_the_last_build_did_not_list_is_looked_for(sample_repo: Path, site: Path, tmp_path: Path) -> None:
    """A list of files older than the manifest (a build stopped between the two, say): the pages it lacks are looked for here."""
    page = an_idea_page(sample_repo)
    listed = (site / FILES).read_text(encoding="utf-8").splitlines()
    (site / FILES).write_text("".join(f"{rel}\n" for rel in listed if rel != page), encoding="utf-8")
    (site / page).unlink()
    looked = look_at(site)
    assert looked is not None and looked.gone == set() and looked.is_gone(page) is None
    again = build(sample_repo, site, now=BUILD_NOW, incremental=True, last_output=looked)
    assert again.render_stats is not None and again.render_stats.rendered == 1
    assert (site / page).is_file()
    assert_same_as_cold(sample_repo, site, tmp_path, "unlisted")


def test_consult_build_looks_for_the_pages_once_outside_its_main_process(sample_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    out = sample_repo / "_site"
    first = runner.invoke(main, ["--root", str(sample_repo), "build"])
    assert first.exit_code == 0, first.output
    page = an_idea_page(sample_repo)
    before = {rel: (out / rel).read_bytes() for rel in (page, "privacy/index.html")}
    for rel in before:
        (out / rel).unlink()
    other = max((sample_repo / "content/ideas").rglob("*.md"))  # an edit: a page removed by hand alone is not a change to the inputs
    edit_body(other, "A line added by an editor.")
    here, asked = os.getpid(), []
    exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda path: (os.getpid() == here and asked.append(os.fspath(path))) or exists(path))
    again = runner.invoke(main, ["--root", str(sample_repo), "build"])
    assert again.exit_code == 0, again.output
    assert "(3 rendered" in again.output, again.output
    assert {rel: (out / rel).read_bytes() for rel in before} == before, "written again as they were"
    looked_for_here = [path for path in asked if path.startswith(os.fspath(out)) and path.endswith(".html")]
    assert looked_for_here == [], "the forked process looked for the pages; the build did not look again"
