"""The cycle collector's policy for a build (`generator.collector`)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.build
from generator.cli import main
from generator.collector import BATCH_THRESHOLD, batch_collection


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
