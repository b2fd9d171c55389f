"""The cycle collector's policy for a build (`generator.collector`)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.build
import generator.serve
from generator.cli import main
from generator.collector import BATCH_THRESHOLD, batch_collection
from generator.serve import Rebuilder


def test_batch_collection_raises_the_young_threshold_and_restores_every_threshold_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), batch_collection():
        assert gc.get_threshold() == (BATCH_THRESHOLD, *before[1:])
        raise RuntimeError("the build failed")
    assert gc.get_threshold() == before


def test_consult_build_runs_with_rare_collections_and_leaves_the_process_as_it_was(
    sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, ...]] = []
    build = generator.build.build

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold())
        return build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generator.build, "build", watched)
    before = gc.get_threshold()
    result = CliRunner().invoke(main, ["--root", str(sample_repo), "build", "--output", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert [threshold[0] for threshold in seen] == [BATCH_THRESHOLD]
    assert gc.get_threshold() == before


@pytest.mark.parametrize("one_shot", [True, False])
def test_a_one_shot_build_freezes_its_views_before_the_collector_can_walk_them(
    sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_shot: bool
) -> None:
    """Frozen only after the collector resumed, the views were first walked by a young collection (0.27 s at 50,000 ideas)."""
    window = {"open": False, "collections": 0}
    made: list[object] = []
    watched: list[bool] = []
    build_views = generator.build.build_views
    prepare_target = generator.build.prepare_target

    def views_made(*args: object, **kwargs: object) -> object:
        views = build_views(*args, **kwargs)  # type: ignore[arg-type]
        window["open"] = True
        made.append(views)
        return views

    def target_prepared(*args: object, **kwargs: object) -> object:
        window["open"] = False
        watched.append(any(tracked is made[0] for tracked in gc.get_objects()))  # frozen objects are in no generation
        return prepare_target(*args, **kwargs)  # type: ignore[arg-type]

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and window["open"]:
            window["collections"] += 1

    monkeypatch.setattr(generator.build, "build_views", views_made)
    monkeypatch.setattr(generator.build, "prepare_target", target_prepared)
    thresholds = gc.get_threshold()
    gc.set_threshold(50, *thresholds[1:])  # the sample's views are small: a low threshold makes any pending collection run
    gc.callbacks.append(collected)
    try:
        generator.build.build(sample_repo, tmp_path / "site", search_index=False, one_shot=one_shot)
    finally:
        gc.callbacks.remove(collected)
        gc.set_threshold(*thresholds)
    if one_shot:
        assert window["collections"] == 0
        assert watched == [False]
    else:  # `consult serve` replaces its views on every rebuild: not frozen here, collected as usual
        assert window["collections"] > 0
        assert watched == [True]


def test_rebuilds_under_consult_serve_freeze_nothing_and_free_what_they_replace_at_once(
    sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`consult serve` rebuilds in one process: what a rebuild froze was never freed where it held reference cycles
    (an idea's view and its comments' views, the Jinja environment), about 20 MiB a rebuild at 10,000 ideas.
    Each rebuild now runs with rare collections, then one full collection frees the build it replaced.
    """
    thresholds: list[int] = []
    build = generator.serve.build

    def watched(*args: object, **kwargs: object) -> object:
        thresholds.append(gc.get_threshold()[0])
        return build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generator.serve, "build", watched)
    rebuild = Rebuilder(sample_repo, tmp_path / "site", None, search_delay=3600)
    frozen, before = gc.get_freeze_count(), gc.get_threshold()
    try:
        assert rebuild()
        assert rebuild.last is not None and rebuild.last.renderer is not None
        idea_view = next(view for view in rebuild.last.views.ideas.values() if view.comments)
        first = [weakref.ref(idea_view), weakref.ref(idea_view.comments[0]), weakref.ref(rebuild.last.renderer.env)]
        del idea_view
        idea = min((sample_repo / "content" / "ideas").rglob("*.md"))
        idea.write_text(idea.read_text().rstrip() + "\n\nEdited while served.\n")
        assert rebuild()
        assert [ref() for ref in first] == [None, None, None], "the first build's objects are still held after the rebuild replaced them"
    finally:
        rebuild.stop()
    assert gc.get_freeze_count() == frozen
    assert thresholds == [BATCH_THRESHOLD, BATCH_THRESHOLD]
    assert gc.get_threshold() == before
    assert rebuild.last.render_stats is not None and rebuild.last.render_stats.manifest is None, "the written manifest is not kept"
