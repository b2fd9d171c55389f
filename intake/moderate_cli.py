"""`consult moderate --pr N`: the command the moderation workflow calls (logic in moderate.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli_context import Context

if TYPE_CHECKING:
    from .moderate import Checks


def _run(
    root: Path,
    pr: int,
    base: str | None,
    comment: bool,
    annotate: bool,
    repository: str | None,
    github_url: str | None,
    checks: Checks,
    handbook_url: str | None,
) -> int:
    """Moderate, with a failed GitHub request said as a ConsultError (what was asked, what GitHub answered)."""
    from github3.exceptions import GitHubException

    from .forge.github_api import NotOnGitHub
    from .moderate import github_problem

    try:
        return _moderate(root, pr, base, comment, annotate, repository, github_url, checks, handbook_url)
    except (GitHubException, NotOnGitHub) as error:
        raise github_problem(error) from error


def _moderate(
    root: Path,
    pr: int,
    base: str | None,
    comment: bool,
    annotate: bool,
    repository: str | None,
    github_url: str | None,
    checks: Checks,
    handbook_url: str | None,
) -> int:
    from generator.errors import ConsultError
    from generator.loader import load_config

    from .moderate import (
        PullRequestThread,
        annotation,
        changed_from_git,
        flag_annotation,
        github_repository,
        inspect,
        render_comment,
        settings_from,
        ticked,
        waiting_from_git,
    )

    config, _ = load_config(root)
    thread = None
    if comment or base is None:
        token = os.environ.get("GITHUB_TOKEN", "")
        if not token:
            raise ConsultError(
                "GITHUB_TOKEN is not set: it is needed to read or comment on the pull request (use --base and --no-comment to check without it)."
            )
        repo, url = settings_from(os.environ, repository, github_url, config.github.repository, config.github.url)
        thread = PullRequestThread(github_repository(url, token, repo), pr)
    changed = changed_from_git(root, base) if base else thread.changed_files()  # type: ignore[union-attr]
    waiting = waiting_from_git(root, thread.other_submission_heads()) if thread is not None else []
    report = inspect(root, changed, waiting)
    if annotate:
        for problem in report.problems:
            click.echo(annotation(problem))
    for item in report.flagged:
        for flag in item.flags:
            click.echo(flag_annotation(item.path, flag) if annotate else f"{item.path}: {flag.code}: {flag.detail}")
    if thread is not None and comment:
        existing = thread.find_comment()
        body = render_comment(
            report, checks, config.base_url, handbook_url or f"{config.base_url}/handbook/", ticked(existing.body or "") if existing else set()
        )
        made = thread.upsert_comment(body, existing)
        labels = thread.set_flag_labels(report.labels)
        click.echo(
            f"{'Updated' if existing else 'Posted'} the moderation comment {made.html_url}; labels: {', '.join(sorted(labels)) or 'none'}", err=True
        )
    click.echo(
        f"{len(report.problems)} problem(s); {sum(len(i.flags) for i in report.flagged)} flag(s) on {len(report.flagged)} changed submission(s).",
        err=True,
    )
    return 1 if annotate and report.problems else 0


@click.command()
@click.option("--pr", "pr", type=click.IntRange(1), required=True, help="Number of the pull request.")
@click.option("--base", help="Base commit: list changed files with `git diff BASE...HEAD` instead of the API.")
@click.option(
    "--comment/--no-comment", default=True, show_default=True, help="Keep the moderation comment and flag labels up to date (needs GITHUB_TOKEN)."
)
@click.option("--annotate/--no-annotate", default=True, show_default=True, help="Print problems as GitHub annotations and exit 1 when there are any.")
@click.option("--repo", "repository", help="owner/name (default: $GITHUB_REPOSITORY, then site.yml github.repository).")
@click.option("--github-url", help="GitHub Enterprise Server (or test server) address (default: site.yml github.url, then $GITHUB_SERVER_URL).")
@click.option(
    "--check-result",
    type=click.Choice(["success", "failure", "cancelled", "skipped"]),
    help="Result of the workflow's check job (default: this run's own check).",
)
@click.option("--build-result", default="", help="Result of the workflow's build job.")
@click.option("--artifact-url", default="", help="Where the built site can be downloaded.")
@click.option("--run-url", default="", help="The workflow run's page.")
@click.option("--commit", default="", help="The pull request's head commit.")
@click.option("--handbook-url", help="The editors' handbook (default: <base_url>/handbook/).")
@click.pass_obj
def moderate(
    obj: Context,
    pr: int,
    base: str | None,
    comment: bool,
    annotate: bool,
    repository: str | None,
    github_url: str | None,
    check_result: str | None,
    build_result: str,
    artifact_url: str,
    run_url: str,
    commit: str,
    handbook_url: str | None,
) -> None:
    """Check a pull request's content, flag its submissions and keep one comment on it up to date."""
    from .moderate import Checks

    checks = Checks(check_result, build_result, artifact_url, run_url, commit)
    sys.exit(_run(obj.root, pr, base, comment, annotate, repository, github_url, checks, handbook_url))
