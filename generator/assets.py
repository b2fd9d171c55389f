"""Front-end assets: copied into the build with a content hash in the file name.

A hashed name lets a host cache each file for a year; the manifest
(`assets/manifest.json`) maps logical names to hashed URLs for the intake,
which renders pages in the same theme.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic
from .errors import BuildError
from .paths import COMPILED_CSS, NHSUK_DIST, THEME_DIR

MANIFEST = "assets/manifest.json"
SEARCH_JS = THEME_DIR / "scripts" / "search.js"
SUPPORT_JS = THEME_DIR / "scripts" / "support.js"


@dataclass
class Assets:
    """Logical name (e.g. `consult.css`) → URL path below the site root (e.g. `assets/consult.3f2a9c1e.css`)."""

    files: dict[str, str] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict, repr=False)

    def add(self, name: str, data: bytes, folder: str = "assets") -> str:
        digest = hashlib.sha256(data).hexdigest()[:10]
        stem, dot, ext = name.rpartition(".")
        path = f"{folder}/{stem}.{digest}.{ext}" if dot else f"{folder}/{name}.{digest}"
        self.files[name] = path
        self.contents[path] = data
        return path

    def write(self, output: Path) -> None:
        """Write every file, then the manifest, each atomically."""
        for path, data in self.contents.items():
            write_atomic(output / path, data)
        write_atomic(output / MANIFEST, json.dumps(self.files, indent=2, sort_keys=True))

    @classmethod
    def from_manifest(cls, site_dir: Path) -> Assets:
        path = site_dir / MANIFEST
        if not path.exists():
            raise BuildError(f"{path} is missing: run `consult build` first")
        return cls(files=json.loads(path.read_text(encoding="utf-8")))


CONSULT_JS = """import {{ initAll }} from "./{nhsuk}";
initAll();
"""


COMMENT_LINE = re.compile(r"^[ \t]*//[^\n]*\n", re.MULTILINE)


def without_comment_lines(script: str) -> str:
    """The script as shipped: whole-line `//` comments are for readers of the source, not for every page's download."""
    return COMMENT_LINE.sub("", script)


def _read(path: Path) -> bytes:
    if not path.exists():
        raise BuildError(f"{path} is missing: run `make run` or `make test` once to set up the front-end assets (npm ci, sass)")
    return path.read_bytes()


def collect() -> Assets:
    """Gather the stylesheet, scripts and icons, fingerprinted."""
    assets = Assets()
    assets.add("consult.css", _read(COMPILED_CSS), "assets/css")
    nhsuk_js = assets.add("nhsuk-frontend.js", _read(NHSUK_DIST / "nhsuk-frontend.min.js"), "assets/js")
    # The search page's and idea pages' scripts ride in the shared module, so visiting /search/ after any page fetches only its HTML.
    scripts = "".join(without_comment_lines(_read(path).decode("utf-8")) for path in (SEARCH_JS, SUPPORT_JS))
    consult_js = CONSULT_JS.format(nhsuk=Path(nhsuk_js).name) + scripts
    assets.add("consult.js", consult_js.encode(), "assets/js")
    assets.add("favicon.svg", _read(NHSUK_DIST / "assets" / "images" / "favicon.svg"), "assets/images")
    for svg in sorted((NHSUK_DIST / "assets" / "images").glob("nhsuk-icon-*.svg")):
        # The stylesheet refers to these by plain name under ../images/.
        data = svg.read_bytes()
        assets.contents[f"assets/images/{svg.name}"] = data
    extra = THEME_DIR / "static"
    if extra.is_dir():
        for path in sorted(p for p in extra.rglob("*") if p.is_file()):
            assets.add(path.name, path.read_bytes(), f"assets/{path.parent.relative_to(extra)}".rstrip("/."))
    return assets
