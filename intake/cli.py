"""`consult intake …` (serve, worker, purge) and `consult review …` (list, show, accept, reject)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import signal
import sys
from pathlib import Path

import click

from generator.errors import ConsultError


def _settings(root: Path, **overrides: object):  # type: ignore[no-untyped-def]
    from .settings import IntakeSettings

    return IntakeSettings.from_environment(root, **overrides)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)


def parse_age(text: str) -> dt.timedelta:
    """`90d`, `12h`, `30m` or a plain number of days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhm]?)\s*", text)
    if not match:
        raise click.BadParameter(f"expected a number of days like 90d (or hours 12h, minutes 30m), found {text!r}")
    number, unit = int(match.group(1)), match.group(2) or "d"
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: number})


def register(main: click.Group) -> None:
    """Add the intake and review commands to the `consult` command line."""
    from generator.cli import Context, friendly

    @main.group(invoke_without_command=True)
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", "-p", type=click.IntRange(1, 65535), default=8001, show_default=True)
    @click.option("--no-worker", is_flag=True, help="Only take submissions; run `consult intake worker` apart to publish them.")
    @click.pass_context
    def intake(ctx: click.Context, host: str, port: int, no_worker: bool) -> None:
        """Serve the submission intake alone (the site is served elsewhere)."""
        if ctx.invoked_subcommand is not None:
            return
        obj: Context = ctx.find_object(Context)  # type: ignore[assignment]

        @friendly
        def run() -> None:
            from generator.httpserver import run as serve_http

            from .app import create_app

            _logging()
            settings = _settings(obj.root, run_worker=not no_worker)
            click.echo(f"Intake for {settings.base_url} on http://{host}:{port}/ (data in {settings.data_dir})")
            serve_http(create_app(settings), host, port)

        run()

    @intake.command()
    @click.option("--once", is_flag=True, help="Publish what is due now, then stop.")
    @click.pass_obj
    @friendly
    def worker(obj: Context, once: bool) -> None:
        """Run the publisher apart from the web process: store → forge, with retries."""
        from .catalogue import CatalogueHolder
        from .store import Store
        from .worker import Worker, make_forge

        _logging()
        settings = _settings(obj.root)
        catalogue = CatalogueHolder(settings.root)
        store = Store(settings.db_path)
        runner = Worker(settings, store, make_forge(settings), catalogue)
        if once:
            count = runner.run_once()
            runner.sync()
            click.echo(f"Tried {count} submission(s).")
            return
        signal.signal(signal.SIGTERM, lambda *_: runner.stop_event.set())
        click.echo("Publishing submissions (Ctrl+C to stop).")
        try:
            runner.run()
        except KeyboardInterrupt:
            pass

    @intake.command()
    @click.option("--older-than", "older_than", default=None, help="Age past which contact details are deleted, e.g. 90d (default: site.yml moderation.retention_days).")
    @click.pass_obj
    @friendly
    def purge(obj: Context, older_than: str | None) -> None:
        """Delete contact details (and the text of decided submissions) past retention."""
        from .store import Store

        settings = _settings(obj.root)
        age = parse_age(older_than) if older_than else dt.timedelta(days=settings.config.moderation.retention_days)
        if not settings.db_path.exists():
            click.echo(f"No intake store at {settings.db_path}: nothing to purge.")
            return
        contacts, texts = Store(settings.db_path).purge(age)
        click.echo(f"Deleted the contact details of {contacts} submission(s) and the text of {texts} decided submission(s) received more than {age.days} day(s) ago.")

    @main.group()
    def review() -> None:
        """Review submissions proposed on the local git forge (branches submissions/<reference>)."""

    def _forge(obj: Context):  # type: ignore[no-untyped-def]
        from .forge.local import LocalGitForge

        settings = _settings(obj.root)
        if settings.config.forge != "local":
            raise ConsultError("site.yml says forge: github, so submissions are reviewed as pull requests on GitHub, not with `consult review`")
        return settings, LocalGitForge(settings.root, settings.main_branch)

    def _record(settings, reference: str, state: str, reason: str | None = None) -> None:  # type: ignore[no-untyped-def]
        from .store import Store

        if settings.db_path.exists():
            Store(settings.db_path).decide(reference, state, reason)

    def _ref(reference: str) -> str:
        from generator.schema import REFERENCE_PATTERN

        reference = reference.strip().upper()
        if not re.match(REFERENCE_PATTERN, reference):
            raise click.BadParameter(f"references look like TH-7QK2M, found {reference!r}")
        return reference

    @review.command("list")
    @click.pass_obj
    @friendly
    def list_(obj: Context) -> None:
        """Submissions waiting for a decision, oldest first."""
        _settings_, forge = _forge(obj)
        waiting = forge.open_proposals()
        if not waiting:
            click.echo("Nothing is waiting for review.")
            return
        for item in waiting:
            click.echo(f"{item.reference}  {item.date}  {item.title}")
        click.echo(f"{len(waiting)} waiting. See one with `consult review show REFERENCE`.")

    @review.command()
    @click.argument("reference")
    @click.pass_obj
    @friendly
    def show(obj: Context, reference: str) -> None:
        """The proposal's flags, details and the file it adds (as a diff)."""
        _settings_, forge = _forge(obj)
        click.echo(forge.show(_ref(reference)))

    @review.command()
    @click.argument("reference")
    @click.pass_obj
    @friendly
    def accept(obj: Context, reference: str) -> None:
        """Publish: merge the branch into the main branch."""
        settings, forge = _forge(obj)
        reference = _ref(reference)
        commit = forge.accept(reference)
        _record(settings, reference, "merged")
        click.echo(f"Accepted {reference}: merged into {settings.main_branch} ({commit[:10]}). `consult serve` rebuilds the site by itself; otherwise run `consult build`.")

    @review.command()
    @click.argument("reference")
    @click.option("--reason", required=True, help="Public reason shown on the submission's status page.")
    @click.pass_obj
    @friendly
    def reject(obj: Context, reference: str, reason: str) -> None:
        """Do not publish: delete the branch and record the public reason."""
        settings, forge = _forge(obj)
        reference = _ref(reference)
        if not reason.strip():
            raise click.BadParameter("give a reason the person can read, e.g. 'It names a member of staff.'", param_hint="--reason")
        forge.reject(reference, reason.strip())
        _record(settings, reference, "closed", reason.strip())
        click.echo(f"Rejected {reference}. The reason is shown on its status page.")
