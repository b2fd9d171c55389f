"""The `consult` command line.

A problem a person can fix prints its lines and exits 1; a usage mistake
exits 2 (Click); a traceback appears only with --debug.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from .cli_context import Context
from .collector import batch_collection
from .errors import ConsultError


class _Debugging(Exception):
    """Carries a ConsultError past Click's own handling of it, so --debug shows its traceback."""

    def __init__(self, error: ConsultError):
        super().__init__(str(error))
        self.error = error


class ConsultGroup(click.Group):
    """The root group: Click prints a ConsultError (a ClickException) and exits 1; with --debug it is raised with its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConsultError as error:
            options = ctx.find_object(Context)
            if options is not None and options.debug:
                raise _Debugging(error) from error
            raise

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except _Debugging as debugging:
            error = debugging.error
        raise error  # outside the handler, so the traceback is the error's own


@click.group("consult", cls=ConsultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True, help="The site's repository (with site.yml)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="consult")
@click.pass_context
def main(ctx: click.Context, root: Path, debug: bool) -> None:
    """Build, check, serve and review a consultation site kept in git."""
    ctx.obj = Context(root.resolve(), debug)


def output_option(default: str, help_text: str) -> Any:
    """The --output option of a command that writes files; a relative folder is under --root (`Context.within`),
    which `help_text` says."""
    return click.option(
        "--output",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=True,
        help=help_text,
    )


@main.command()
@click.pass_obj
def check(obj: Context) -> None:
    """Validate site.yml and every content file; change nothing."""
    from .build import check as run_check

    site = run_check(obj.root)
    notices = site.notices()
    for notice in notices:
        click.echo(f"{notice}", err=True)
    if notices:
        many = len(notices) != 1
        click.echo(
            f"Found {len(notices)} deprecated value{'s' if many else ''}: the site still builds, but change {'them' if many else 'it'} as the hint says.",
            err=True,
        )
    click.echo(
        f"OK: {len(site.challenges)} challenges, {len(site.ideas)} ideas, {len(site.events)} events, {len(site.pages)} pages, {len(site.topics)} topics, {len(site.comments)} comments, {len(site.updates)} updates."
    )


@main.command()
@output_option("_site", "Folder to write the site to, under --root unless absolute (replaced only when the build succeeds).")
@click.option("--base-url", help="Public address of the site, overriding site.yml's base_url.")
@click.option("--timings", is_flag=True, help="Print the time each stage took.")
@click.option("--clean", is_flag=True, help="Rebuild every page from scratch instead of only what changed since the last build.")
@click.option("--with-handbook", is_flag=True, help="Also build the editors' handbook (handbook/) into OUTPUT/handbook/.")
@click.option(
    "--counts", "counts_source", metavar="FILE_OR_URL", help="Support counts to show: the intake's counts.json, as a file or an http(s) address."
)
@click.pass_obj
@batch_collection()
def build(obj: Context, output: Path, base_url: str | None, timings: bool, clean: bool, with_handbook: bool, counts_source: str | None) -> None:
    """Validate, then build the static site into OUTPUT (only what changed, unless --clean)."""
    from .clock import system_clock
    from .contentcache import ContentCache
    from .contentfiles import ContentFiles
    from .counts import load_counts
    from .freshness import FileStates, input_fingerprint, up_to_date
    from .lastoutput import LastOutput

    out = obj.within(output)
    now = system_clock().now()
    supports = load_counts(counts_source, obj.root) if counts_source else None
    if clean:
        states: FileStates = {}
        inputs = input_fingerprint(obj.root, base_url, supports, states)  # once: the build records the same one, and loads with states
        cache = ContentCache()
        files: ContentFiles | None = None  # the load stage lists them
        last_output: LastOutput | None = None  # a clean build renders every page into a staging folder
    else:
        from .startup import start

        started = start(
            obj.root,
            base_url,
            supports,
            lambda inputs: with_handbook or not up_to_date(obj.root, out, base_url, now, supports, inputs),
            out,
            idle=lambda: importlib.import_module("generator.build"),  # the pipeline, imported below in any case: while the forked process works
        )
        if started.cache is None:
            click.echo(f"Nothing changed since the last build: {out} is up to date (--clean rebuilds everything).")
            _finished(started.abandoned)
            return
        inputs, states, cache, files, last_output = started.inputs, started.states, started.cache, started.files, started.last_output
    from .build import build as run_build  # the whole pipeline (Pelican and the plugins): only when there is something to build
    from .handbook import handbook_stage
    from .progress import BuildProgress
    from .progress import wanted as progress_wanted

    stages = [handbook_stage(obj.root)] if with_handbook else []
    with BuildProgress(progress_wanted()) as progress:
        result = run_build(
            obj.root,
            out,
            base_url=base_url,
            now=now,
            incremental=not clean,
            extra_stages=stages,
            content_cache=cache,
            keep_cache=True,
            progress=progress,
            supports=supports,
            inputs=inputs,
            file_states=states,
            file_listing=files,
            last_output=last_output,
            one_shot=_ONE_SHOT,
        )
    _finished((result, cache, states, files))
    stats = result.render_stats
    changed = f" ({stats.rendered} rendered, {stats.total - stats.rendered} unchanged)" if stats else ""
    click.echo(f"Built {result.pages_written} pages{changed} into {result.output}")
    if timings:
        for line in result.timings.lines():
            click.echo(line)


@main.command()
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@output_option("_site", "Folder to build the site into, under --root unless absolute.")
@click.option("--no-intake", is_flag=True, help="Serve the static site only, without the submission service.")
@click.pass_obj
def serve(obj: Context, port: int, host: str, output: Path, no_intake: bool) -> None:
    """Build, serve on http://HOST:PORT and rebuild when a file changes."""
    from .serve import serve as run_serve

    run_serve(obj.root, obj.within(output), host, port, with_intake=not no_intake)


@main.command()
@click.argument("kind", type=click.Choice(["challenge", "idea", "event", "page"]))
@click.argument("title")
@click.option("--challenge", help="For an idea: the challenge's slug.")
@click.pass_obj
def new(obj: Context, kind: str, title: str, challenge: str | None) -> None:
    """Write a new, valid KIND file titled TITLE, ready to edit."""
    from .scaffold import new_file

    path = new_file(obj.root, kind, title, challenge)
    click.echo(f"Wrote {path.relative_to(obj.root)}")


@main.command()
@output_option(
    ".consult/handbook", "Folder to write the handbook to, under --root unless absolute (`consult serve` mounts the default one at /handbook/)."
)
@click.pass_obj
def handbook(obj: Context, output: Path) -> None:
    """Build the editors' handbook (handbook/, MkDocs strict: a broken link fails)."""
    from .handbook import build_handbook

    out = build_handbook(obj.root, obj.within(output))
    click.echo(f"Built the handbook into {out}")


@main.command()
def reference() -> None:
    """Print the content reference (every site.yml and front-matter key) as Markdown."""
    from .reference import content_reference

    click.echo(content_reference(), nl=False)


@main.command()
@click.option(
    "--format",
    "formats",
    type=click.Choice(["csv", "json"]),
    multiple=True,
    required=True,
    help="csv (ideas.csv, comments.csv) or json (ideas.json); give it twice for both.",
)
@click.option("--challenge", help="Only this challenge's ideas and comments (its slug).")
@output_option("export", "Folder to write the files to, under --root unless absolute (created if missing).")
@click.option(
    "--counts",
    "counts_source",
    metavar="FILE_OR_URL",
    help="Support counts for the supports field: the intake's counts.json, as a file or an http(s) address.",
)
@click.pass_obj
def export(obj: Context, formats: tuple[str, ...], challenge: str | None, output: Path, counts_source: str | None) -> None:
    """Write the open data files the site publishes under /data/, for analysts."""
    from .build import check as run_check
    from .counts import load_counts
    from .opendata import write_files
    from .views import build_views

    supports = load_counts(counts_source, obj.root) if counts_source else None
    views = build_views(run_check(obj.root), supports=supports)
    if challenge is not None and challenge not in views.challenges:
        raise click.BadParameter(f"no challenge '{challenge}'; choose one of: {', '.join(sorted(views.challenges))}", param_hint="--challenge")
    for path in write_files(views, obj.within(output), dict.fromkeys(formats), challenge):  # type: ignore[arg-type]
        click.echo(f"Wrote {path}")


def _add_intake_commands(group: click.Group) -> None:
    """The intake's commands (`consult intake`, `review`, `moderate`), when the intake package is installed."""
    import importlib.util

    if importlib.util.find_spec("intake") is None:
        return
    from intake.cli import intake, review
    from intake.moderate_cli import moderate

    for command in (intake, review, moderate):
        group.add_command(command)


_add_intake_commands(main)

_BUILD_DONE = False
"""Set once `consult build` has written the site and its caches, or found nothing to do: `run` may then end the process at once."""
_ONE_SHOT = False
"""Set by `run`: this process is the `consult` command, which ends after one build (not a test calling `main`)."""
_KEPT: list[object] = []
"""In the `consult` command, what `consult build` made (its result and content cache) or loaded before it found
nothing to do, kept until `run` ends the process: freed as the command returned, they took 0.12 s and 0.17 s at
50,000 ideas."""


def _finished(made: object) -> None:
    """`consult build` has done its work: `run` may end the process at once, without freeing `made` object by object first."""
    global _BUILD_DONE
    _BUILD_DONE = True
    if _ONE_SHOT:
        _KEPT.append(made)


def run() -> None:
    """The `consult` command (the console script): Click's `main`, then, after a build, an immediate exit.

    Freeing a large build's objects one by one at exit takes about a third of a second at 10,000
    ideas; once `consult build` has written everything, its output is flushed and the process ends
    without that (no other command skips Python's normal exit).
    """
    global _ONE_SHOT
    _ONE_SHOT = True
    try:
        main()
    except SystemExit as exiting:
        if not _BUILD_DONE:
            raise
        code = exiting.code
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code if isinstance(code, int) else 0 if code is None else 1)


if __name__ == "__main__":
    run()
