"""One exception tree with a user-facing root, and the Problem a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click


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


class ConsultError(click.ClickException):
    """Root of every error a user can fix: `consult` prints `Error: <message>` and exits 1, without a traceback unless --debug."""


class ContentError(ConsultError):
    """The content or settings have problems; every one is listed."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def show(self, file: IO[Any] | None = None) -> None:
        """Every problem on a line of its own, then how many there are."""
        for problem in self.problems:
            click.echo(str(problem), file=file, err=True)
        noun = "problem" if len(self.problems) == 1 else "problems"
        click.echo(f"Found {len(self.problems)} {noun}; nothing was built.", file=file, err=True)


class BuildError(ConsultError):
    """The build could not complete for a reason outside the content."""


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
