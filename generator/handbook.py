"""The editors' handbook: `handbook/` (MkDocs + Material), built strictly and published under /handbook/.

Kept out of the plain `consult build` (MkDocs takes seconds; `consult serve`
rebuilds on every save): `consult build --with-handbook` adds it as a
post-render stage, and `consult handbook` builds it alone (`make run` builds
it once into `.consult/handbook/`, which `consult serve` mounts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from .errors import BuildError
from .views import SiteViews

HANDBOOK_PATH = "handbook"
"""Where the handbook is published on the site, and where its sources live in the repository."""


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


def handbook_stage(root: Path) -> Callable[[Path, SiteViews], None]:
    """A build stage that writes the handbook into the site's /handbook/ folder."""

    def handbook(staging: Path, _views: SiteViews) -> None:
        build_handbook(root, staging / HANDBOOK_PATH)

    return handbook
