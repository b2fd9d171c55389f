"""`consult moderate --pr N`: check a pull request's content, flag it, and keep one comment on it up to date.

The workflow only calls this. It:

1. lists the files the pull request changes (`git diff --name-only BASE...HEAD`
   when `--base` is given: no token needed, so it works for forks; otherwise
   GitHub's "list pull request files" API);
2. runs `consult check` over the whole site (a changed challenge can break
   ideas that were not touched) and prints every problem as a GitHub
   annotation, `::error file=PATH,line=N,title=KEY::MESSAGE`;
3. runs the automated moderation flags on the changed ideas, comments and topics
   (with a token, duplicates are also looked for among the ideas of the other open
   submission pull requests, read from the checkout's branches);
4. with `--comment` (the default), keeps ONE comment on the pull request up to
   date (found by a hidden marker, edited, never re-posted; boxes an editor
   ticked stay ticked) and sets the flag labels (adds those that apply, removes
   flag labels that no longer do, leaves every other label alone).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ConsultError, Problem
from generator.loader import Site, load_site
from generator.validate import validate

from .forge.base import Flag
from .forge.github_body import checklist
from .moderation import WaitingIdea

MARKER = "<!-- consult:moderation -->"
FLAG_LABELS = ("possible-personal-data", "offensive-language", "possible-duplicate", "all-capitals", "very-short")
CONTENT_ROOTS = ("content/", "challenges/")
MODERATED = {"content/ideas/": "idea", "content/comments/": "comment", "content/topics/": "topic"}
RESULT_WORDS = {"success": "✅ passed", "failure": "❌ failed", "cancelled": "⚪ cancelled", "skipped": "⚪ skipped", "": "⏳ not run yet"}


# -- annotations -------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(problem: Problem) -> str:
    """One problem in the workflow-command format GitHub turns into an annotation on the file and line."""
    message = f"{problem.message} (hint: {problem.hint})" if problem.hint else problem.message
    return f"::error file={_escape_property(problem.path)},line={problem.line},title={_escape_property(problem.key)}::{_escape_data(message)}"


def flag_annotation(path: str, flag: Flag) -> str:
    """A moderation flag as a warning annotation on the file."""
    return f"::warning file={_escape_property(path)},title={_escape_property(flag.code)}::{_escape_data(flag.detail)}"


# -- what changed ------------------------------------------------------------------------


def is_content(path: str) -> bool:
    return path == "site.yml" or path.startswith(CONTENT_ROOTS)


def changed_from_git(root: Path, base: str, head: str = "HEAD") -> list[str]:
    """Files changed between the merge base of BASE and HEAD, as `git diff BASE...HEAD` lists them."""
    result = subprocess.run(
        ["git", "-C", str(root), "diff", "--name-only", "--no-renames", f"{base}...{head}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ConsultError(f"git could not compare {base}...{head}: {result.stderr.strip()} (check out with fetch-depth: 0)")
    return [line for line in result.stdout.splitlines() if line]


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileFlags:
    """The flags raised on one changed file."""

    path: str
    kind: str
    title: str
    flags: tuple[Flag, ...]


@dataclass
class Report:
    changed: list[str]
    problems: list[Problem] = field(default_factory=list)
    flagged: list[FileFlags] = field(default_factory=list)

    @property
    def labels(self) -> set[str]:
        return {flag.code for item in self.flagged for flag in item.flags if flag.code in FLAG_LABELS}


def moderated_kind(path: str) -> str | None:
    return next((kind for prefix, kind in MODERATED.items() if path.startswith(prefix) and path.endswith(".md")), None)


def _fields(kind: str, entry: Any) -> tuple[str, dict[str, str]]:
    """(title for the editor, the public fields the flags read) of one loaded entry."""
    name = getattr(entry.meta, "attribution", None) or ""
    if kind == "comment":
        return f"Comment on {entry.meta.target}", {"comment": entry.body, "name": name}
    body_key = "idea" if kind == "idea" else "post"
    return entry.meta.title, {"title": entry.meta.title, body_key: entry.body, "name": name}


def waiting_from_git(root: Path, heads: Iterable[str]) -> list[WaitingIdea]:
    """The ideas that other open submission pull requests propose, read from this checkout's git.

    `heads` are their branch names (from GitHub's list of open pull requests); the
    workflow's checkout (fetch-depth: 0) holds every branch as origin/<name>. A
    branch the checkout lacks is skipped.
    """
    from generator import frontmatter

    found = []
    for head in heads:
        ref = next((r for r in (f"refs/remotes/origin/{head}", f"refs/heads/{head}") if _git_ok(root, "rev-parse", "--verify", "--quiet", r)), None)
        if ref is None:
            continue
        try:
            paths = changed_from_git(root, "HEAD", ref)
        except ConsultError:
            continue  # no history in common with this checkout: nothing to compare
        for path in paths:
            if moderated_kind(path) != "idea":
                continue
            shown = subprocess.run(["git", "-C", str(root), "show", f"{ref}:{path}"], capture_output=True, check=False)
            try:
                doc = frontmatter.parse(shown.stdout.decode("utf-8"))
            except (UnicodeDecodeError, frontmatter.FrontMatterError):
                continue  # its own pull request's check reports it
            found.append(WaitingIdea(str(doc.data.get("reference", head)), str(doc.data.get("title", "")), doc.body))
    return found


def _git_ok(root: Path, *args: str) -> bool:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False).returncode == 0


def flag_changed(root: Path, site: Site, changed: Iterable[str], waiting: Sequence[WaitingIdea] = ()) -> list[FileFlags]:
    """Run the moderation flags on each changed idea, comment and topic.

    Duplicates: against the published ideas and `waiting` (ideas in other open pull requests).
    """
    from .catalogue import load_catalogue
    from .moderation import flags_for

    by_path = {e.path: e for kind in MODERATED.values() for e in site.collection(kind).values()}
    wanted = [(p, moderated_kind(p)) for p in changed if moderated_kind(p) and p in by_path]
    if not wanted:
        return []
    catalogue = load_catalogue(root)
    for path, kind in wanted:
        if kind == "idea":
            catalogue.ideas.pop(by_path[path].slug, None)  # an idea is no duplicate of itself
    out = []
    for path, kind in wanted:
        title, fields = _fields(kind, by_path[path])  # type: ignore[arg-type]
        own = getattr(by_path[path].meta, "reference", None)
        others = [w for w in waiting if w.reference != own]
        out.append(FileFlags(path, kind, title, flags_for(kind, fields, catalogue, others)))  # type: ignore[arg-type]
    return out


def inspect(root: Path, changed: Sequence[str], waiting: Sequence[WaitingIdea] = ()) -> Report:
    """Check the whole site and flag the changed submissions (duplicates also against `waiting`)."""
    site, problems = load_site(root)
    if not problems:
        problems = validate(site)
    report = Report(list(changed), sorted(problems))
    report.flagged = flag_changed(root, site, changed, waiting)
    return report


# -- the comment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checks:
    """What the workflow's other jobs said (GitHub's job results), and where the built site is."""

    check: str | None = None
    """None: use this run's own check."""
    build: str = ""
    artifact_url: str = ""
    run_url: str = ""
    commit: str = ""


def ticked(body: str) -> set[str]:
    """Checklist items an editor already ticked in the comment."""
    return {m.group(1).strip() for m in re.finditer(r"^- \[[xX]\] (.+)$", body, re.MULTILINE)}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _flag_lines(item: FileFlags, site_url: str) -> list[str]:
    lines = [f"**{_cell(item.title)}** (`{item.path}`)"]
    if not item.flags:
        return lines + ["- No automated flags."]
    for flag in item.flags:
        line = f"- **{flag.code}**: {_cell(flag.detail)}"
        if flag.links:
            line += " (" + ", ".join(f"[{_cell(t)}]({site_url}{p})" for t, p in flag.links) + ")"
        lines.append(line)
    return lines


def render_comment(report: Report, checks: Checks, site_url: str, handbook_url: str, already_ticked: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """The whole comment: state of the checks, problems, flags, checklist, how to see the built site."""
    check_state = checks.check if checks.check is not None else ("failure" if report.problems else "success")
    check_text = RESULT_WORDS.get(check_state, check_state)
    if report.problems:
        check_text += f" ({len(report.problems)} problem{'s' if len(report.problems) != 1 else ''})"
    parts = [
        MARKER,
        "## Moderation checks",
        f"Content files changed: {sum(1 for p in report.changed if is_content(p))}.",
        (
            "| check | state |\n|---|---|\n"
            f"| Content check (`consult check`) | {check_text} |\n"
            f"| Site build | {RESULT_WORDS.get(checks.build, checks.build)} |"
        ),
    ]
    if report.problems:
        parts.append(
            "### Problems to fix\n"
            + "\n".join(
                f"- `{p.path}` line {p.line}, `{p.key}`: {_cell(p.message)}" + (f" ({_cell(p.hint)})" if p.hint else "") for p in report.problems
            )
        )
    flag_block = ["### Automated flags"]
    if not report.flagged:
        flag_block.append("No changed ideas, comments or topics to flag.")
    for item in report.flagged:
        flag_block.append("\n".join(_flag_lines(item, site_url)))
    parts.append("\n\n".join(flag_block))
    parts.append(checklist(f"{site_url}/moderation/", f"{handbook_url}editors/review/", already_ticked))
    parts.append(_artefact_text(checks))
    footer = f"_Updated by `consult moderate`{' for commit ' + checks.commit[:7] if checks.commit else ''}. Ticked boxes are kept when it updates._"
    parts.append(footer)
    return "\n\n".join(parts) + "\n"


def _artefact_text(checks: Checks) -> str:
    where = (
        f"[this run's artefacts]({checks.artifact_url})"
        if checks.artifact_url
        else (
            f"the **Artifacts** list at the bottom of [this run's summary]({checks.run_url})"
            if checks.run_url
            else "the **Artifacts** list of the workflow run"
        )
    )
    if checks.build and checks.build != "success":
        return "### See the site with this change\nThe site did not build, so there is nothing to preview yet: fix the problems above first."
    return (
        "### See the site with this change\n"
        f"1. Download `site-preview` from {where} (you must be signed in to GitHub).\n"
        "2. Unzip it.\n"
        "3. In the unzipped folder run `python3 -m http.server 8000` and open <http://localhost:8000/> in your browser."
    )


# -- GitHub --------------------------------------------------------------------------------


class PullRequestThread:
    """What `consult moderate` reads and writes on one pull request, through intake.forge.github_api."""

    def __init__(self, repo: Any, number: int) -> None:
        from .forge.github_api import PullRequestConversation

        self.repo, self.number = repo, number
        self.conversation = PullRequestConversation(repo, number)

    def changed_files(self) -> list[str]:
        return self.conversation.changed_files()

    def other_submission_heads(self) -> list[str]:
        """Branch names of the other open pull requests that carry submissions (one request per 100 pull requests)."""
        return [p.head.ref for p in self.repo.pull_requests(state="open") if p.number != self.number and p.head.ref.startswith("submissions/")]

    def find_comment(self) -> Any:
        """The comment (a github3.py IssueComment) carrying our marker, if there is one."""
        return self.conversation.find_comment(MARKER)

    def upsert_comment(self, body: str, existing: Any) -> Any:
        """Edit our comment (only when its text changed), or post it the first time."""
        return self.conversation.upsert_comment(body, existing)

    def set_flag_labels(self, wanted: set[str]) -> set[str]:
        """Add the flag labels that apply, remove flag labels that no longer do; return the pull request's labels."""
        from .forge.github_api import ensure_labels

        have = self.conversation.labels()
        missing = sorted(wanted - have)
        if missing:
            ensure_labels(self.repo, missing)
            self.conversation.add_labels(missing)
        for name in sorted((have & set(FLAG_LABELS)) - wanted):
            self.conversation.remove_label(name)
        return (have | wanted) - (set(FLAG_LABELS) - wanted)


def github_repository(url: str | None, token: str, repository: str) -> Any:
    """The repository through github3.py, logged in with `token`, every request governed as the forge's are
    (GitHub's limits of 80 content-creating requests a minute and 500 an hour, Retry-After honoured)."""
    from .forge.clock import SystemClock
    from .forge.github_api import client
    from .forge.github_api import repository as find_repository
    from .forge.ratelimit import Budget, Governor

    gh = client(url, Governor(SystemClock(), Budget()))
    gh.login(token=token)
    return find_repository(gh, repository)


def github_problem(error: Exception) -> ConsultError:
    """A failed GitHub request as a message that says what was asked and what GitHub answered."""
    from .forge.github_api import NotOnGitHub

    if isinstance(error, NotOnGitHub):
        return ConsultError(f"{error} Check --pr and --repo (or GITHUB_REPOSITORY, or github.repository in site.yml).")
    response = getattr(error, "response", None)
    request = getattr(response, "request", None)
    if response is not None and request is not None:
        return ConsultError(f"GitHub answered {response.status_code} to {request.method} {request.url}: {error}")
    return ConsultError(f"Could not reach GitHub: {error}")


def settings_from(env: Mapping[str, str], repository: str | None, url: str | None, site_repo: str, site_url: str | None) -> tuple[str, str | None]:
    """(owner/name, Enterprise URL or None): options first, then the Actions environment, then site.yml."""
    repo = repository or env.get("GITHUB_REPOSITORY") or site_repo
    if not repo or "/" not in repo:
        raise ConsultError("Which repository? Give --repo owner/name, or set GITHUB_REPOSITORY, or github.repository in site.yml.")
    server = env.get("GITHUB_SERVER_URL", "")
    url = url or site_url or (server if server and server.rstrip("/") != "https://github.com" else None)
    return repo, url
