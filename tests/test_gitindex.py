"""What git's index tells the content cache: the blob id of every file whose working copy git finds unmodified."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.gitindex import blob_id, unmodified_blobs


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd, check=True, capture_output=True)
    return done.stdout.decode()


def repository(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "files", cwd=root)
    return root


def test_unmodified_files_are_known_by_the_blob_id_git_gives_their_bytes(tmp_path: Path) -> None:
    root = repository(
        tmp_path / "repo",
        {"content/ideas/a/one.md": "one\n", "content/ideas/a/two.md": "two\n", "content/ideas/b/three.md": "three\n", "other/four.md": "four\n"},
    )
    (root / "content/ideas/a/two.md").write_text("TWO\n", encoding="utf-8")  # the same size, just after the commit: git reads it to tell
    (root / "content/ideas/b/new.md").write_text("new\n", encoding="utf-8")  # not in the index
    git("update-index", "--assume-unchanged", "content/ideas/b/three.md", cwd=root)  # git would not look: not trusted

    blobs = unmodified_blobs(root, ["content/ideas"])

    assert blobs == {"content/ideas/a/one.md": blob_id(b"one\n")}
    assert blobs["content/ideas/a/one.md"].hex() == git("hash-object", "content/ideas/a/one.md", cwd=root).strip()


def test_paths_are_relative_to_the_root_when_it_is_inside_the_repository(tmp_path: Path) -> None:
    top = repository(tmp_path / "repo", {"site/content/ideas/a/one.md": "one\n"})
    (top / "site" / "content/ideas/a/one.md").write_text("changed\n", encoding="utf-8")
    assert unmodified_blobs(top / "site", ["content/ideas"]) == {}
    git("checkout", "--", ".", cwd=top)
    assert unmodified_blobs(top / "site", ["content/ideas"]) == {"content/ideas/a/one.md": blob_id(b"one\n")}


def test_outside_a_repository_git_knows_nothing(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "one.md").write_text("one\n", encoding="utf-8")
    assert unmodified_blobs(tmp_path, ["content"]) == {}
