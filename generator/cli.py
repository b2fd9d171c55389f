"""The `consult` command line.

A problem a person can fix prints its lines and exits 1; a usage mistake
exits 2 (Click); a traceback appears only with --debug.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import ConsultError, ContentError

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(self, root: Path, debug: bool):
        self.root = root
        self.debug = debug


def friendly(func: F) -> F:
    """Turn ConsultError into its message and exit code 1 (traceback with --debug)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context().find_object(Context)
        try:
            return func(*args, **kwargs)
        except ContentError as exc:
            if ctx and ctx.debug:
                raise
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            noun = "problem" if len(exc.problems) == 1 else "problems"
            click.echo(f"Found {len(exc.problems)} {noun}; nothing was built.", err=True)
            sys.exit(1)
        except ConsultError as exc:
            if ctx and ctx.debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True, help="The site's repository (with site.yml).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="consult")
@click.pass_context
def main(ctx: click.Context, root: Path, debug: bool) -> None:
    """Build, check, serve and review a consultation site kept in git."""
    ctx.obj = Context(root.resolve(), debug)


@main.command()
@click.pass_obj
@friendly
def check(obj: Context) -> None:
    """Validate site.yml and every content file; change nothing."""
    from .build import check as run_check

    site = run_check(obj.root)
    click.echo(f"OK: {len(site.challenges)} challenges, {len(site.ideas)} ideas, {len(site.events)} events, {len(site.pages)} pages, {len(site.topics)} topics, {len(site.comments)} comments, {len(site.updates)} updates.")


@main.command()
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), default="_site", show_default=True, help="Folder to write the site to (replaced only when the build succeeds).")
@click.option("--base-url", help="Public address of the site, overriding site.yml's base_url.")
@click.option("--timings", is_flag=True, help="Print the time each stage took.")
@click.pass_obj
@friendly
def build(obj: Context, output: Path, base_url: str | None, timings: bool) -> None:
    """Validate, then build the static site into OUTPUT."""
    from .build import build as run_build

    out = output if output.is_absolute() else obj.root / output
    result = run_build(obj.root, out, base_url=base_url)
    click.echo(f"Built {result.pages_written} pages into {result.output}")
    if timings:
        for line in result.timings.lines():
            click.echo(line)


@main.command()
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), default="_site", show_default=True)
@click.option("--no-intake", is_flag=True, help="Serve the static site only, without the submission service.")
@click.pass_obj
@friendly
def serve(obj: Context, port: int, host: str, output: Path, no_intake: bool) -> None:
    """Build, serve on http://HOST:PORT and rebuild when a file changes."""
    from .serve import serve as run_serve

    out = output if output.is_absolute() else obj.root / output
    run_serve(obj.root, out, host, port, with_intake=not no_intake)


@main.command()
@click.argument("kind", type=click.Choice(["challenge", "idea", "event", "page"]))
@click.argument("title")
@click.option("--challenge", help="For an idea: the challenge's slug.")
@click.pass_obj
@friendly
def new(obj: Context, kind: str, title: str, challenge: str | None) -> None:
    """Write a new, valid KIND file titled TITLE, ready to edit."""
    from .scaffold import new_file

    path = new_file(obj.root, kind, title, challenge)
    click.echo(f"Wrote {path.relative_to(obj.root)}")


@main.command()
def reference() -> None:
    """Print the content reference (every site.yml and front-matter key) as Markdown."""
    from .reference import content_reference

    click.echo(content_reference(), nl=False)


def _register_optional_commands() -> None:
    """Commands from the intake package, when it is installed."""
    import importlib.util

    if importlib.util.find_spec("intake") is None or importlib.util.find_spec("intake.cli") is None:
        return
    from intake.cli import register

    register(main)


_register_optional_commands()

if __name__ == "__main__":
    main()
