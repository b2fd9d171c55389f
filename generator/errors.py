"""One exception tree with a user-facing root, and the Problem a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, printed as `path:line: key: message (hint)`."""

    path: str
    line: int
    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.key}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConsultError(Exception):
    """Root of every error a user can fix; the CLI prints it without a traceback."""


class ContentError(ConsultError):
    """The content or settings have problems; every one is listed."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class BuildError(ConsultError):
    """The build could not complete for a reason outside the content."""


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
