"""The editors' handbook: `handbook/` (MkDocs + Material), built strictly and published under /handbook/.

Kept out of the plain `consult build` (MkDocs takes seconds; `consult serve`
rebuilds on every save): `consult build --with-handbook` adds it as a
post-render stage, and `consult handbook` builds it alone (`make run` builds
it once into `.consult/handbook/`, which `consult serve` mounts).

The stage runs MkDocs only when the handbook's inputs changed since it last
built into that folder (`handbook_signature`, kept in the folder as a hidden
file, which GitHub Pages' upload leaves out): the publishing workflow passes
`--with-handbook` on every run, and most runs only bring new content.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from .atomic import write_atomic
from .errors import BuildError
from .hashing import package_versions
from .views import SiteViews

HANDBOOK_PATH = "handbook"
"""Where the handbook is published on the site, and where its sources live in the repository."""

BUILT_FROM = ".consult-handbook"
"""In the built handbook's folder: the `handbook_signature` it was built from."""

PACKAGES = ("mkdocs", "mkdocs-material", "pymdown-extensions", "Markdown", "Pygments")
"""Installed packages whose version can change the built handbook."""


def config_file(root: Path) -> Path:
    path = root / HANDBOOK_PATH / "mkdocs.yml"
    if not path.is_file():
        raise BuildError(f"there is no handbook at {path}: the handbook's sources live in {HANDBOOK_PATH}/ with a mkdocs.yml")
    return path


def build_handbook(root: Path, output: Path) -> Path:
    """Build the handbook with `mkdocs build --strict` into output; a broken link or missing page fails it."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file(root)), site_dir=str(output), strict=True)
        build(config)
    except MkDocsException as exc:
        raise BuildError(f"the handbook did not build: {exc} (the warnings above say what to fix)") from exc
    return output


def handbook_signature(root: Path, code: str) -> str:
    """A hash of everything the built handbook comes from: every file below handbook/ (by its bytes, so a fresh
    checkout's new modification times do not count), the code (its hook writes the content reference from the
    schemas) and the packages that build it."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(code.encode())
    digest.update(f"\0{package_versions(PACKAGES)}".encode())
    sources = root / HANDBOOK_PATH
    for folder, dirnames, filenames in os.walk(sources):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = Path(folder, name)
            digest.update(f"\0{path.relative_to(sources).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def handbook_stage(root: Path) -> Callable[[Path, SiteViews], str]:
    """A build stage that writes the handbook into the site's /handbook/ folder, unless it is there already built from the same inputs."""

    def handbook(site: Path, _views: SiteViews) -> str:
        from .freshness import code_signature

        folder = site / HANDBOOK_PATH
        stamp = folder / BUILT_FROM
        signature = handbook_signature(root, code_signature())
        try:
            if (folder / "index.html").is_file() and stamp.read_text(encoding="utf-8") == signature:
                return f"{HANDBOOK_PATH}/"
        except OSError:
            pass  # never built here
        stamp.unlink(missing_ok=True)  # a build that fails half way leaves no stamp claiming it is whole
        build_handbook(root, folder)
        write_atomic(stamp, signature)
        return f"{HANDBOOK_PATH}/"

    return handbook
