"""What every `consult` command shares: the Context the root group makes from --root and --debug.

`generator.cli` (the root group and the site's commands) and `intake.cli` (the intake's groups)
both import this module; neither imports the other's commands back, so there is no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Context:
    """The `consult` options every command reads (`ctx.obj`): the site's repository and --debug."""

    root: Path
    debug: bool

    def within(self, path: Path) -> Path:
        """A path a command was given (an --output folder, say): as it is when absolute, else under --root,
        like the site's own files (`consult --root site build -o public` writes to site/public)."""
        return path if path.is_absolute() else self.root / path
