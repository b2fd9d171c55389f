"""The build pipeline: its stages run in the order docs/architecture.md gives, and Pelican's extension points work."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pelican import signals
from pelican.generators import Generator

from generator import engine
from generator.build import FILES, build, cache_file
from generator.contentcache import ContentCache
from generator.manifest import read_manifest
from generator.pagewriter import PageSpec
from generator.paths import PROJECT_DIR

from .conftest import BUILD_NOW


def documented_stages() -> list[str]:
    """The stage names in the first column of docs/architecture.md's pipeline block."""
    text = (PROJECT_DIR / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [re.split(r"\s{2,}", line.strip())[0] for line in block.strip().splitlines()]


def test_stages_run_in_the_documented_order(sample_repo: Path, tmp_path: Path) -> None:
    result = build(sample_repo, tmp_path / "site", now=BUILD_NOW, content_cache=ContentCache(), keep_cache=True)  # as `consult build` does
    ran = [name for name in result.timings.stages if name != "write pages"]  # rendering's share spent writing, reported on its own
    documented = [name.replace("swap / sweep", "swap") for name in documented_stages()]
    assert ran == documented


def test_an_incremental_build_sweeps_instead_of_swapping(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    result = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert list(result.timings.stages)[-1] == "sweep"
    assert result.render_stats is not None and result.render_stats.rendered == 0


def test_the_sweep_removes_what_the_last_build_left_from_its_record_of_files(sample_repo: Path, tmp_path: Path) -> None:
    """The build records the files it leaves (outside the search bundle); the next sweep removes those it no longer makes."""
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    walked = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.relative_to(out).as_posix().startswith("pagefind/")}
    assert set((out / FILES).read_text().splitlines()) == walked, "the record lists every file a cold build left"

    event = min((sample_repo / "content" / "events").glob("*.md"))
    ics = [p for p in out.rglob("*.ics") if event.stem in p.as_posix()]
    assert ics, "each event has its own calendar file"
    event.unlink()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert not any(p.exists() for p in ics), "a deleted event's calendar file is swept"
    assert not any(event.stem in line for line in (out / FILES).read_text().splitlines())
    cold = tmp_path / "cold"
    build(sample_repo, cold, now=BUILD_NOW)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(cold).as_posix() for p in cold.rglob("*") if p.is_file()
    )


def test_files_an_extra_stage_wrote_are_swept_once_it_no_longer_runs(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"

    def notes(staging: Path, _views: Any) -> None:
        (staging / "notes").mkdir(exist_ok=True)
        (staging / "notes" / "index.html").write_text("<p>Written by an extra stage, by its own means.</p>")

    build(sample_repo, out, now=BUILD_NOW, extra_stages=[notes])
    assert "notes/index.html" in (out / FILES).read_text().splitlines()
    build(sample_repo, out, now=BUILD_NOW, incremental=True, extra_stages=[notes])
    assert (out / "notes" / "index.html").is_file(), "kept while the stage still runs"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert not (out / "notes").exists()


def test_a_pelican_plugin_on_finalized_sees_the_whole_site(sample_repo: Path, tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def on_finalized(pelican: Any) -> None:
        output = Path(pelican.output_path)
        seen.append(sorted(p.relative_to(output).as_posix() for p in output.glob("*.xml")))
        assert (output / "index.html").is_file() and (output / "pagefind" / "pagefind.js").is_file()

    signals.finalized.connect(on_finalized)
    try:
        build(sample_repo, tmp_path / "site", now=BUILD_NOW)
    finally:
        signals.finalized.disconnect(on_finalized)
    assert len(seen) == 1 and "sitemap.xml" in seen[0], "sent once, after every other stage"


class ReportGenerator(Generator):
    """A plugin's generator adding a page of its own and a footer link, as docs/architecture.md says to."""

    def generate_context(self) -> None:
        self.views = self.context["views"]
        self.context.setdefault("feature_links", []).append({"href": "/report/", "text": "Report"})

    def page_specs(self) -> Iterator[PageSpec]:
        message = f"{len(self.views.ideas)} ideas so far"
        yield PageSpec("/report/", "404", {"report": message})


def report_plugin() -> ModuleType:
    module = ModuleType("report_plugin")

    def get_generators(_pelican: Any) -> type[Generator]:
        return ReportGenerator

    def register() -> None:
        signals.get_generators.connect(get_generators)

    module.get_generators = get_generators  # type: ignore[attr-defined]
    module.register = register  # type: ignore[attr-defined]
    return module


@pytest.fixture
def with_report_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    plugin = report_plugin()
    listed = engine.plugins
    monkeypatch.setattr(engine, "plugins", lambda: [*listed(), plugin])
    yield
    signals.get_generators.disconnect(plugin.get_generators)


def test_a_plugin_adds_a_page_and_a_footer_link(with_report_plugin: None, sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    assert (out / "report" / "index.html").is_file()
    assert "/report/" in read_manifest(out).pages
    assert "/report/</loc>" in (out / "sitemap.xml").read_text()
    assert 'href="/report/"' in (out / "index.html").read_text(), "the footer link the generator put in the shared context"
    result = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert result.render_stats is not None and result.render_stats.rendered == 0, "unchanged, so not rendered again"


def test_building_leaves_the_process_loggers_alone(sample_repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Pelican, once imported, would make new loggers drop a message logged twice: the intake's warnings must all reach the log."""
    build(sample_repo, tmp_path / "site", now=BUILD_NOW)
    logger = logging.getLogger("consult.test.after-a-build")
    assert type(logger) is logging.Logger and type(logging.getLogger()) is logging.RootLogger
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("Could not send email %s (attempt 1)", "broken")
        logger.warning("Could not send email %s (attempt 1)", "broken")
    assert caplog.text.count("Could not send email broken (attempt 1)") == 2


def test_a_build_prints_only_what_it_built(sample_repo: Path, tmp_path: Path) -> None:
    """No warning from Pelican's own settings checks (its feeds are off: the feeds plugin writes the site's)."""
    done = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(sample_repo), "build", "--output", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CONSULT_NOW": BUILD_NOW.isoformat()},
    )
    assert done.stderr == "" and done.stdout.startswith("Built ") and done.stdout.count("\n") == 1, done.stdout + done.stderr


def test_the_manifest_and_the_content_cache_are_written_once_pagefind_runs(
    sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pickling the manifest (and the content cache) holds the GIL: they wait until the search thread has Pagefind running in a process of its own."""
    import generator.build
    import generator.pagefind

    events: list[str] = []
    real_run, real_write = generator.pagefind._run, generator.build.write_manifest

    def run(command: list[str], timeout: float, started: Any = None) -> Any:
        events.append("pagefind")
        return real_run(command, timeout, started)

    def write(output: Path, manifest: Any) -> None:
        events.append("manifest")
        real_write(output, manifest)

    class Cache(ContentCache):
        def save(self, path: Path) -> None:
            events.append("content cache")
            super().save(path)

    monkeypatch.setattr(generator.pagefind, "_run", run)
    monkeypatch.setattr(generator.build, "write_manifest", write)
    cache = Cache()
    build(sample_repo, tmp_path / "site", now=BUILD_NOW, content_cache=cache, keep_cache=True)
    assert events[0] == "pagefind" and events.index("manifest") < events.index("content cache")
    assert ContentCache.load(cache_file(sample_repo)).entries.keys() == cache.entries.keys() != set(), "every parsed file kept"


def test_a_search_index_that_fails_before_pagefind_starts_fails_the_build(sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline waits for Pagefind to start before writing the manifest: a failure first must end that wait, and the build."""
    import plugins.consult_search

    def broken(*_args: Any) -> Any:
        raise RuntimeError("no parts for you")

    monkeypatch.setattr(plugins.consult_search, "update_index", broken)  # in the search thread, before any Pagefind
    with pytest.raises(RuntimeError, match="no parts for you"):
        build(sample_repo, tmp_path / "site", now=BUILD_NOW)
    assert not (tmp_path / "site").exists()
