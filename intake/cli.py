"""`consult intake …` (serve, worker, purge, outbox) and `consult review …` (list, show, edit, accept, reject)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli_context import Context
from generator.errors import ConsultError

if TYPE_CHECKING:  # imported late at run time: `consult` starts without loading the intake
    from .catalogue import Catalogue
    from .forge.local import LocalGitForge
    from .settings import IntakeSettings


def _settings(root: Path, run_worker: bool | None = None) -> IntakeSettings:
    from .settings import IntakeSettings

    settings = IntakeSettings.from_environment(root)
    if run_worker is not None:
        settings.run_worker = run_worker
    return settings


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)


DRAFTS = Path(".consult/review")
"""Where `consult review edit` keeps an edit that does not pass the checks yet (git-ignored), by reference."""


def _drop_draft(root: Path, reference: str) -> None:
    import shutil

    shutil.rmtree(root / DRAFTS / reference, ignore_errors=True)


def parse_age(text: str) -> dt.timedelta:
    """`90d`, `12h`, `30m` or a plain number of days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhm]?)\s*", text)
    if not match:
        raise click.BadParameter(f"expected a number of days like 90d (or hours 12h, minutes 30m), found {text!r}")
    number, unit = int(match.group(1)), match.group(2) or "d"
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: number})


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option("--no-worker", is_flag=True, help="Only take submissions; run `consult intake worker` apart to publish them.")
@click.pass_context
def intake(ctx: click.Context, host: str, port: int, no_worker: bool) -> None:
    """Serve the submission intake alone (the site is served elsewhere)."""
    if ctx.invoked_subcommand is not None:
        return
    from generator.httpserver import run as serve_http

    from .app import create_app
    from .db import redacted

    obj: Context = ctx.obj
    _logging()
    settings = _settings(obj.root, run_worker=not no_worker)
    where = f"database {redacted(settings.database_url)}" if settings.database_url else f"data in {settings.data_dir}"
    click.echo(f"Intake for {settings.base_url} on http://{host}:{port}/ ({where})")
    # The publisher in a child process of its own (not a thread), so it never slows the answers down.
    serve_http(create_app(settings, worker_process=True), host, port)


@intake.command()
@click.option("--once", is_flag=True, help="Publish (and send the emails) due now, then stop.")
@click.option("--supervised", is_flag=True, hidden=True, help="Run as the child of `consult intake` (woken and stopped through standard input).")
@click.pass_obj
def worker(obj: Context, once: bool, supervised: bool) -> None:
    """Run the publisher apart from the web process: store → forge, with retries."""
    from .catalogue import CatalogueHolder
    from .store import Store
    from .worker import Worker, make_forge, run_supervised

    _logging()
    settings = _settings(obj.root)
    catalogue = CatalogueHolder(settings.root, settings.clock)
    store = Store.from_settings(settings)
    runner = Worker(settings, store, make_forge(settings, store.db), catalogue)
    try:
        if once:
            count = runner.run_once()
            runner.sync()
            runner.events.run_once(look_now=True)
            emails = runner.notify.run_once()
            click.echo(f"Tried {count} submission(s) and {emails} email(s).")
            return
        if supervised:
            run_supervised(runner, sys.stdin.buffer, sys.stdout.buffer)
            return
        signal.signal(signal.SIGTERM, lambda *_: runner.stop_event.set())
        click.echo("Publishing submissions (Ctrl+C to stop).")
        try:
            runner.run()
        except KeyboardInterrupt:
            pass
    finally:
        store.close()


@intake.command()
@click.option(
    "--older-than",
    "older_than",
    default=None,
    help="Age past which contact details are deleted, e.g. 90d (default: site.yml moderation.retention_days).",
)
@click.pass_obj
def purge(obj: Context, older_than: str | None) -> None:
    """Delete contact details (and the text of decided submissions) past retention."""
    from .store import Store

    settings = _settings(obj.root)
    age = parse_age(older_than) if older_than else dt.timedelta(days=settings.config.moderation.retention_days)
    if not settings.database_url and not settings.db_path.exists():
        click.echo(f"No intake store at {settings.db_path}: nothing to purge.")
        return
    from .notify.privacy import purge_email_addresses

    store = Store.from_settings(settings)
    try:
        addresses = purge_email_addresses(store, age)  # first: the store's purge then checkpoints the WAL for both
        contacts, texts = store.purge(age)
    finally:
        store.close()
    click.echo(
        f"Deleted the contact details of {contacts} submission(s) and the text of {texts} decided submission(s) received more than {age.days} day(s) ago."
    )
    click.echo(f"Deleted {addresses} email address(es) kept for emails about submissions (subscriptions and messages) older than that.")


@intake.command()
@click.pass_obj
def migrate(obj: Context) -> None:
    """Create or bring up to date the intake's database (also done on start); safe to run again."""
    from .db import open_database
    from .migrations import MIGRATIONS
    from .migrations import migrate as apply_migrations

    settings = _settings(obj.root)
    db = open_database(settings)
    try:
        applied = apply_migrations(db)
    finally:
        db.close()
    for migration in applied:
        click.echo(f"Applied migration {migration.version}: {migration.name}")
    latest = MIGRATIONS[-1].version
    if not applied:
        click.echo(f"The {db.describe()} is up to date (schema version {latest}): nothing to apply.")
    else:
        click.echo(f"The {db.describe()} is now at schema version {latest}.")


@intake.command()
@click.argument("file", required=False)
@click.pass_obj
def outbox(obj: Context, file: str | None) -> None:
    """List the emails written to the outbox folder (no Notify API key set), or show one: outbox FILE."""
    from .notify.outbox import listing, outbox_folder, read

    settings = _settings(obj.root)
    folder = outbox_folder(settings.db_path)
    if file is not None:
        path = folder / Path(file).name
        if not path.is_file():
            raise ConsultError(f"No email {file!r} in the outbox ({folder}): run `consult intake outbox` to list them")
        message = read(path)
        for header in ("Date", "From", "To", "Subject", "List-Unsubscribe"):
            click.echo(f"{header}: {message[header]}")
        body = message.get_body(("plain",))
        click.echo("\n" + (body.get_content() if body is not None else ""))
        return
    items = listing(folder)
    if not items:
        click.echo(f"The outbox ({folder}) is empty. Without CONSULT_NOTIFY_API_KEY, each email the intake would send is written there.")
        return
    rows = [(f"{i.date:%Y-%m-%d %H:%M}", i.to, i.subject, i.path.name) for i in items]
    widths = [max(len(row[n]) for row in [("Date (UTC)", "To", "Subject", "File"), *rows]) for n in range(3)]
    for row in [("Date (UTC)", "To", "Subject", "File"), *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3])
    click.echo(f"{len(items)} email(s) in {folder}. Show one with: consult intake outbox FILE")


@click.group()
def review() -> None:
    """Review submissions proposed on the local git forge (branches submissions/<reference>)."""


def _forge(obj: Context) -> tuple[IntakeSettings, LocalGitForge]:
    from .forge.local import LocalGitForge

    settings = _settings(obj.root)
    if settings.config.forge != "local":
        raise ConsultError(
            "site.yml says forge: github, so submissions are reviewed as pull requests on GitHub, not with `consult review`: "
            "edit the file in the pull request (the Moderation checks run `consult check` and recompute the flags on every push) "
            "and merge or close it there (handbook: Review on GitHub)"
        )
    return settings, LocalGitForge(settings.root, settings.main_branch)


def _record(settings: IntakeSettings, reference: str, state: str, reason: str | None = None) -> None:
    from .store import Store

    if settings.database_url or settings.db_path.exists():
        store = Store.from_settings(settings)
        try:
            store.decide(reference, state, reason)
        finally:
            store.close()  # releases PostgreSQL's pool now, not when it is collected


def _ref(reference: str) -> str:
    from generator.schema import REFERENCE_PATTERN

    reference = reference.strip().upper()
    if not re.match(REFERENCE_PATTERN, reference):
        raise click.BadParameter(f"references look like TH-7QK2M, found {reference!r}")
    return reference


def _catalogue(settings: IntakeSettings) -> Catalogue:
    from .catalogue import load_catalogue

    return load_catalogue(settings.root)


@review.command("list")
@click.pass_obj
def list_(obj: Context) -> None:
    """Submissions waiting for a decision, oldest first: kind, challenge, age and flags (computed now)."""
    from generator.clock import wall_time

    from .review import age, waiting

    settings, forge = _forge(obj)
    items = waiting(forge, _catalogue(settings))
    if not items:
        click.echo("Nothing is waiting for review.")
        return
    now = wall_time()
    rows = [("REFERENCE", "KIND", "CHALLENGE", "WAITING", "FLAGS", "TITLE")]
    rows += [
        (w.reference, w.kind or "-", w.challenge or "-", age(w.proposed_at, now), ", ".join(f.code for f in w.flags) or "-", w.title) for w in items
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[5])
    click.echo(f"{len(items)} waiting. See one with `consult review show REFERENCE`.")


@review.command()
@click.argument("reference")
@click.pass_obj
def show(obj: Context, reference: str) -> None:
    """The proposal's flags (computed now), its history and the change it makes (as a diff)."""
    from generator.clock import wall_time

    from .review import age, waiting

    settings, forge = _forge(obj)
    reference = _ref(reference)
    forge.proposed_files(reference)  # says clearly when it is not waiting
    items = waiting(forge, _catalogue(settings))
    item = next(w for w in items if w.reference == reference)
    now = wall_time()
    click.echo(f"{item.reference}: {item.title}")
    click.echo(f"Kind: {item.kind or '-'}\nChallenge: {item.challenge or '-'}\nFile: {item.path}")
    click.echo(f"Waiting: {age(item.proposed_at, now)} (since {item.proposed_at:%Y-%m-%d %H:%M})")
    click.echo(f"\nModeration flags, computed now against the published ideas and the {len(items) - 1} other waiting submission(s):")
    for flag in item.flags:
        click.echo(f"- {flag.code}: {flag.detail}")
        for title, link in flag.links:
            click.echo(f"  - {title}: {link}")
    if not item.flags:
        click.echo("- none")
    click.echo(f"\nHistory of submissions/{reference} (its first commit keeps the flags as they stood on arrival):\n{forge.history(reference)}\n")
    click.echo(forge.diff(reference))


@review.command()
@click.argument("reference")
@click.pass_obj
def edit(obj: Context, reference: str) -> None:
    """Edit the proposed file in $EDITOR, check it like `consult check`, and commit it to the submission's branch."""
    from .moderate import moderated_kind
    from .review import check_file, path_for, proposed_path

    settings, forge = _forge(obj)
    reference = _ref(reference)
    path = proposed_path(forge, reference)
    original = forge.read_file(reference, path)
    draft = settings.root / DRAFTS / reference / path
    if draft.exists():
        click.echo(f"Carrying on with your unfinished edit of {reference}, kept in {draft} (delete that file to start again from the branch).")
    else:
        draft.parent.mkdir(parents=True, exist_ok=True)
        draft.write_text(original, encoding="utf-8")
    while True:
        click.edit(filename=str(draft))
        text = draft.read_text(encoding="utf-8")
        if text == original:
            _drop_draft(settings.root, reference)
            click.echo(f"No change to {path}: nothing committed.")
            return
        new_path = path_for(moderated_kind(path) or "", path, text)
        problems = check_file(settings.root, new_path, text, replaces=path)
        if not problems:
            break
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"Found {len(problems)} problem{'s' if len(problems) != 1 else ''} in your edit; nothing was committed.", err=True)
        if not click.confirm("Open the editor again to fix it?", default=True, err=True):
            raise ConsultError(f"your edit is kept in {draft}: run `consult review edit {reference}` to carry on with it")
    moved = f", moved to {new_path}" if new_path != path else ""
    commit = forge.commit_edit(reference, path, new_path, text, f"Edit {reference}: {new_path}\n\nEdited during review with `consult review edit`.")
    _drop_draft(settings.root, reference)
    click.echo(
        f"Committed your edit of {reference} to submissions/{reference} ({commit[:10]}{moved}). Publish it with `consult review accept {reference}`."
    )


@review.command()
@click.argument("reference")
@click.option("--summary", help="The curated summary to publish with an idea (replaces the file's summary).")
@click.option("--tags", help='Tags for an idea, separated by commas, e.g. "night-shifts,food" (replaces the file\'s tags; "" clears them).')
@click.pass_obj
def accept(obj: Context, reference: str, summary: str | None, tags: str | None) -> None:
    """Publish: check the file like `consult check`, then merge the branch into the main branch."""
    from .moderate import moderated_kind
    from .review import check_file, proposed_path, set_summary_and_tags, split_tags

    settings, forge = _forge(obj)
    reference = _ref(reference)
    path = proposed_path(forge, reference)
    text = forge.read_file(reference, path)
    edited = text
    if summary is not None or tags is not None:
        if moderated_kind(path) != "idea":
            raise click.UsageError(f"{reference} is a {moderated_kind(path)}: only ideas have a summary and tags")
        edited = set_summary_and_tags(text, summary.strip() if summary is not None else None, split_tags(tags) if tags is not None else None)
    problems = check_file(settings.root, path, edited)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise ConsultError(
            f"{reference} was not accepted: fix the {'problem' if len(problems) == 1 else f'{len(problems)} problems'} above (with --summary, --tags or `consult review edit {reference}`), then accept again"
        )
    if edited != text:
        forge.commit_edit(reference, path, path, edited, f"Edit {reference}: summary and tags\n\nSet with `consult review accept`.")
    commit = forge.accept(reference)
    _record(settings, reference, "merged")
    click.echo(
        f"Accepted {reference}: merged into {settings.main_branch} ({commit[:10]}). `consult serve` rebuilds the site by itself; otherwise run `consult build`."
    )


@review.command()
@click.argument("reference")
@click.option("--reason", required=True, help="Public reason shown on the submission's status page.")
@click.pass_obj
def reject(obj: Context, reference: str, reason: str) -> None:
    """Do not publish: delete the branch and record the public reason."""
    settings, forge = _forge(obj)
    reference = _ref(reference)
    if not reason.strip():
        raise click.BadParameter("give a reason the person can read, e.g. 'It names a member of staff.'", param_hint="--reason")
    forge.reject(reference, reason.strip())
    _record(settings, reference, "closed", reason.strip())
    click.echo(f"Rejected {reference}. The reason is shown on its status page.")
