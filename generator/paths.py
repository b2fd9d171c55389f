"""Where the project's own theme, plugins and front-end packages live."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
THEME_DIR = PROJECT_DIR / "theme"
TEMPLATES_DIR = THEME_DIR / "templates"
PLUGINS_DIR = PROJECT_DIR / "plugins"
NODE_MODULES = PROJECT_DIR / "node_modules"
NHSUK_DIST = NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk"
COMPILED_CSS = THEME_DIR / "build" / "consult.css"
