"""A table of bad inputs: each gets its status and a message a person can act on, and nothing is half-written."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import IDEA, Running, git, make_repo, running_intake

COMMENT = {"target": "idea:hot-food-for-staff-working-nights", "comment": "Our ward tried this and it worked well.", "name": "", "consent": "yes"}
TOPIC = {
    "challenge": "getting-the-basics-right",
    "title": "Lockers for agency staff",
    "post": "Where do agency staff keep their things?",
    "consent": "yes",
}
FOREIGN = {"Origin": "https://evil.example"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def idea(**changes: Any) -> dict[str, Any]:
    return {**IDEA, **changes}


# (id, path, how the body is sent, body, extra headers, status, words the message must contain)
CASES: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    ("missing-title", "/ideas", "form", idea(title=""), {}, 422, "Enter a short title for your idea"),
    ("missing-idea", "/ideas", "form", idea(idea="   "), {}, 422, "Enter your idea"),
    ("missing-challenge", "/ideas", "form", idea(challenge=""), {}, 422, "Select the challenge your idea is about"),
    ("missing-consent", "/ideas", "form", idea(consent=""), {}, 422, "Tick the box to agree"),
    ("everything-missing", "/ideas", "raw-form", b"", {}, 422, "Enter a short title for your idea"),
    ("title-too-long", "/ideas", "form", idea(title="t" * 121), {}, 422, "The title must be 120 characters or fewer"),
    ("title-too-short", "/ideas", "form", idea(title="ab"), {}, 422, "The title must be 3 characters or more"),
    ("idea-too-long", "/ideas", "form", idea(idea="word " * 1001), {}, 422, "Your idea must be 5,000 characters or fewer"),
    ("name-too-long", "/ideas", "form", idea(name="n" * 81), {}, 422, "Your name must be 80 characters or fewer"),
    ("bad-email", "/ideas", "form", idea(email="not-an-email"), {}, 422, "Enter an email address in the correct format"),
    (
        "email-with-newline-header-trick",
        "/ideas",
        "form",
        idea(email="a@b.com\nBcc: x@y.com"),
        {},
        422,
        "Enter an email address in the correct format",
    ),
    ("unknown-role", "/ideas", "form", idea(role="Astronaut"), {}, 422, "Select your role from the list"),
    ("unknown-region", "/ideas", "form", idea(region="Atlantis"), {}, 422, "Select where you work from the list"),
    ("wrong-challenge", "/ideas", "form", idea(challenge="no-such-challenge"), {}, 422, "Select a challenge from the list"),
    ("closed-challenge", "/ideas", "form", idea(challenge="closed-one"), {}, 422, "is closed to new ideas"),
    ("path-trick-challenge", "/ideas", "form", idea(challenge="../../etc"), {}, 422, "Select a challenge from the list"),
    ("path-trick-challenge-absolute", "/ideas", "form", idea(challenge="/etc/passwd"), {}, 422, "Select a challenge from the list"),
    ("path-trick-role", "/ideas", "form", idea(role="../../../etc/passwd"), {}, 422, "Select your role from the list"),
    ("path-trick-comment-target", "/comments", "form", {**COMMENT, "target": "idea:../../site"}, {}, 422, "could not be found"),
    ("path-trick-topic-challenge", "/topics", "form", {**TOPIC, "challenge": "..%2F..%2Fetc"}, {}, 422, "Select a challenge from the list"),
    ("comment-missing-target", "/comments", "form", {**COMMENT, "target": ""}, {}, 422, "Comments can only be sent from the page"),
    ("comment-unknown-target", "/comments", "form", {**COMMENT, "target": "idea:does-not-exist"}, {}, 422, "could not be found"),
    ("comment-target-on-closed", "/comments", "form", {**COMMENT, "target": "idea:closed-idea"}, {}, 422, "closed"),
    ("comment-too-long", "/comments", "form", {**COMMENT, "comment": "c" * 2001}, {}, 422, "Your comment must be 2,000 characters or fewer"),
    ("comment-missing", "/comments", "form", {**COMMENT, "comment": ""}, {}, 422, "Enter your comment"),
    ("topic-missing-post", "/topics", "form", {**TOPIC, "post": ""}, {}, 422, "Enter the opening post"),
    ("topic-title-too-long", "/topics", "form", {**TOPIC, "title": "x" * 121}, {}, 422, "The title must be 120 characters or fewer"),
    ("json-wrong-type-title", "/ideas", "json", idea(title=123), {}, 422, "The title must be text"),
    ("json-wrong-type-idea-list", "/ideas", "json", idea(idea=["a", "b"]), {}, 422, "Your idea must be text"),
    ("json-wrong-type-object", "/ideas", "json", idea(name={"$ref": "x"}), {}, 422, "The name must be text"),
    ("json-not-an-object", "/ideas", "json", ["title", "idea"], {}, 400, "Send a JSON object"),
    ("json-malformed", "/ideas", "raw-json", b'{"title": "unfinished', {}, 400, "The JSON could not be read"),
    (
        "json-lone-surrogate",
        "/ideas",
        "raw-json",
        json.dumps(idea(title="bad \\ud800 text")).replace("\\\\ud800", "\\ud800").encode(),
        {},
        400,
        "could not be read",
    ),
    ("honeypot-filled", "/ideas", "form", idea(website="http://spam.example"), {}, 400, "hidden field"),
    ("honeypot-filled-comment", "/comments", "form", {**COMMENT, "website": "buy now"}, {}, 400, "hidden field"),
    ("oversized-body", "/ideas", "form", idea(idea="x" * 70_000), {}, 413, "too large"),
    ("oversized-declared-length", "/ideas", "socket", b"title=a", {"Content-Length": "999999"}, 413, "too large"),
    ("wrong-content-type-text", "/ideas", "raw", b"title=hello", {"Content-Type": "text/plain"}, 415, "application/x-www-form-urlencoded"),
    ("wrong-content-type-xml", "/ideas", "raw", b"<idea/>", {"Content-Type": "application/xml"}, 415, "application/json"),
    ("no-content-type", "/ideas", "raw", b"title=hello", {"Content-Type": ""}, 415, "application/x-www-form-urlencoded"),
    ("multipart-not-accepted", "/ideas", "raw", b"--x\r\n", {"Content-Type": "multipart/form-data; boundary=x"}, 415, "normal web form"),
    ("foreign-origin", "/ideas", "form", idea(), FOREIGN, 403, "can only be sent from"),
    ("foreign-origin-json", "/ideas", "json", idea(), FOREIGN, 403, "can only be sent from"),
    ("foreign-referer", "/ideas", "bare", idea(), {"Referer": "https://evil.example/page"}, 403, "can only be sent from"),
    ("no-origin-or-referer", "/ideas", "bare", idea(), {}, 403, "no Origin or Referer header"),
    (
        "own-host-header-is-not-an-origin",
        "/ideas",
        "bare",
        idea(),
        {"Origin": "http://evil.example", "Host": "evil.example"},
        403,
        "can only be sent from",
    ),
    ("null-origin", "/ideas", "form", idea(), {"Origin": "null"}, 403, "can only be sent from"),
    ("invalid-utf8-raw", "/ideas", "raw-form", b"title=caf\xe9&idea=x", {}, 400, "not valid UTF-8"),
    (
        "invalid-utf8-percent-encoded",
        "/ideas",
        "raw-form",
        b"title=caf%E9+au+lait&idea=x&challenge=getting-the-basics-right&consent=yes",
        {},
        400,
        "not valid UTF-8",
    ),
    ("invalid-utf8-json", "/ideas", "raw-json", b'{"title": "caf\xe9"}', {}, 400, "not valid UTF-8"),
    ("null-bytes-only-title", "/ideas", "form", idea(title="\x00\x00\x00"), {}, 422, "Enter a short title for your idea"),
    ("bidi-overrides-only-title", "/ideas", "form", idea(title="\u202e\u202d\u2066\u2069"), {}, 422, "Enter a short title for your idea"),
    ("control-chars-only-idea", "/ideas", "form", idea(idea="\x01\x02\x1b\x7f\x00\u0085"), {}, 422, "Enter your idea"),
    ("zero-width-only-title", "/ideas", "form", idea(title="\u200d\u200c\u200b\u2060"), {}, 422, "Enter a short title for your idea"),
    ("invisible-only-idea", "/ideas", "form", idea(idea="\u200d \u200c\n\u3164\u2800\ufe0f"), {}, 422, "Enter your idea"),
    ("invisible-only-comment", "/comments", "json", {**COMMENT, "comment": "\u200c\u200d\u00a0\u115f"}, {}, 422, "Enter your comment"),
    ("invisible-only-topic-post", "/topics", "form", {**TOPIC, "post": "\u2800\u200d\U000e0041"}, {}, 422, "Enter the opening post"),
    ("json-nested-deeply", "/ideas", "raw-json", b"[" * 20_000, {}, 400, "nested too deeply"),
    ("json-nested-deeply-in-a-field", "/ideas", "raw-json", b'{"title": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", {}, 400, "nested too deeply"),
    ("json-number-of-5000-digits", "/ideas", "raw-json", b'{"title": ' + b"9" * 5_000 + b"}", {}, 400, "number too long"),
    ("get-not-allowed", "/ideas", "get", None, {}, 405, ""),
]


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str]
    text: str


def send_raw(url: str, path: str, body: bytes, headers: dict[str, str]) -> RawResponse:
    """An HTTP request httpx will not send: a Content-Length that does not match the body."""
    host, port = url.removeprefix("http://").split(":")
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {url}\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    raw_head, _, raw_body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return RawResponse(int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, raw_body.decode(errors="replace"))


def send(client: Any, path: str, how: str, body: Any, headers: dict[str, str]) -> Any:
    if how == "socket":
        return send_raw(str(client.base_url).rstrip("/"), path, body, headers)
    if how == "bare":  # neither the client's Origin nor any other: only the headers given
        request = client.build_request("POST", path, data=body)
        del request.headers["Origin"]
        request.headers.update(headers)
        return client.send(request)
    if how == "form":
        return client.post(path, data=body, headers=headers)
    if how == "json":
        return client.post(path, json=body, headers=headers)
    if how == "raw-json":
        return client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
    if how == "raw-form":
        return client.post(path, content=body, headers={**FORM, **headers})
    if how == "raw":
        return client.post(path, content=body, headers=headers)
    return client.get(path)


def test_the_table_is_long_enough() -> None:
    assert len(CASES) >= 40


@pytest.fixture(scope="module")
def closed_site(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One intake (no worker) for the whole table, over a repository with a closed challenge too."""
    base = tmp_path_factory.mktemp("table")
    root = make_repo(base / "repo")
    (root / "challenges" / "closed-one.md").write_text(
        "---\ntitle: A closed challenge\nsummary: A challenge that no longer takes ideas.\nquestion: What would you have said?\n"
        "order: 9\nstatus: closed\nopens: 2026-01-01\ncloses: 2026-02-01\n---\n\nClosed.\n",
        encoding="utf-8",
    )
    folder = root / "content" / "ideas" / "closed-one"
    folder.mkdir()
    (folder / "closed-idea.md").write_text(
        "---\ntitle: An idea on a closed challenge\nchallenge: closed-one\nsubmitted: 2026-01-10\nreference: TH-CCCCC\n---\nText.\n", encoding="utf-8"
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "A closed challenge")
    with running_intake(root, site_dir, base / "data", run_worker=False) as running:
        yield running


def nothing_written(running: Running) -> None:
    store = running.app.state.intake.store  # type: ignore[attr-defined]
    assert store.conn.execute("SELECT COUNT(*) AS n FROM submissions").fetchone()["n"] == 0
    assert git(running.settings.root, "branch", "--list", "submissions/*") == ""
    assert git(running.settings.root, "status", "--porcelain") == ""


@pytest.mark.parametrize(("case", "path", "how", "body", "headers", "status", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly(
    closed_site: Running, case: str, path: str, how: str, body: Any, headers: dict[str, str], status: int, message: str
) -> None:
    with closed_site.client() as client:
        response = send(client, path, how, body, headers)
    assert response.status_code == status, response.text[:500]
    if message:
        text = response.text if how not in ("json", "raw-json") else json.dumps(response.json(), ensure_ascii=False)
        assert message in text.replace("&#39;", "'").replace("&#34;", '"'), text[:2000]
    if how in ("json", "raw-json"):
        assert response.headers["content-type"].startswith("application/json")
    elif status in (403, 413, 415, 422, 400) and how != "get":
        assert response.headers["content-type"].startswith("text/html")
        assert "nhsuk-error-summary" in response.text
    nothing_written(closed_site)


@pytest.mark.parametrize("typed", ["a/b", "TH-7QK2M/../x", "%2F", "<script>", "TH 7QK2M."])
def test_the_status_box_takes_anything(closed_site: Running, typed: str) -> None:
    with closed_site.client() as client:
        response = client.get("/status", params={"reference": typed}, follow_redirects=True)
    assert response.status_code == 404, "no such submission: a page that says so, never a 500"
    assert re.fullmatch(r"/status/[A-Z0-9-]+", response.url.path), response.url.path


def test_422_fills_every_field_back_in(intake_on_build_day: Running) -> None:
    from bs4 import BeautifulSoup

    typed = idea(title="", idea="Line one\nLine <b>two</b> & more", name="Ayesha O'Neill", email="a@example.org")
    with intake_on_build_day.client() as client:
        response = client.post("/ideas", data=typed)
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#idea").get_text() == "Line one\nLine <b>two</b> & more"
    assert page.select_one("#name")["value"] == "Ayesha O'Neill"
    assert page.select_one("#email")["value"] == "a@example.org"
    assert page.select_one("#role option[selected]")["value"] == "Nurse"
    assert page.select_one("#region option[selected]")["value"] == "London"
    assert page.select_one("#challenge option[selected]")["value"] == "getting-the-basics-right"
    assert page.select_one("#consent").has_attr("checked")
    summary_links = [a["href"] for a in page.select(".nhsuk-error-summary a")]
    assert summary_links == ["#title"]
    assert page.select_one("#title").find_parent(class_="nhsuk-form-group--error") is not None
    assert page.select_one("link[rel=stylesheet]")["href"].startswith("/assets/css/consult.")


def test_comment_and_topic_errors_link_to_their_fields(quiet_intake: Running) -> None:
    from bs4 import BeautifulSoup

    with quiet_intake.client() as client:
        comment = BeautifulSoup(client.post("/comments", data={**COMMENT, "comment": "", "consent": ""}).text, "html.parser")
        topic = BeautifulSoup(client.post("/topics", data={**TOPIC, "post": "", "title": "Kept title"}).text, "html.parser")
    assert [a["href"] for a in comment.select(".nhsuk-error-summary a")] == ["#comment", "#comment-consent"]
    assert comment.select_one("input[name=target]")["value"] == COMMENT["target"]
    assert [a["href"] for a in topic.select(".nhsuk-error-summary a")] == ["#topic-post"]
    assert topic.select_one("#topic-title")["value"] == "Kept title"
    assert topic.select_one("input[name=challenge]")["value"] == TOPIC["challenge"]


HOSTILE = [
    ("script-tag", "<script>alert(1)</script> please fix the rota"),
    ("event-handler", '<img src=x onerror="alert(1)"> and <a href="#" onclick="steal()">link</a>'),
    ("javascript-link", "[click me](javascript:alert(document.cookie)) and <a href='javascript:alert(1)'>x</a>"),
    ("iframe", '<iframe src="https://evil.example"></iframe> better parking'),
    ("yaml-document-marker", "---\ntitle: hacked\nstatus: adopted\n---\nreal text"),
    ("yaml-anchors", "&a [*a, *a, *a]\n<<: *a\n!!python/object/apply:os.system ['rm -rf /']"),
    ("null-and-bidi", "fine\x00 text \u202eevil\u202c with\u2066 marks\u2069"),
]


@pytest.mark.parametrize(("case", "text"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_text_is_only_ever_data(quiet_intake: Running, case: str, text: str) -> None:
    """Accepted (it is someone's words), but stored as plain data and rendered harmless."""
    from bs4 import BeautifulSoup

    from generator import frontmatter
    from generator.markdown import render
    from intake.proposals import build_proposal

    title = "Title " + text.replace("\n", " ")[:100]
    with quiet_intake.client() as client:
        response = client.post("/ideas", json=idea(title=title, idea=text, name=text[:80]))
    assert response.status_code == 202, response.text
    reference = response.json()["reference"]
    intake = quiet_intake.app.state.intake  # type: ignore[attr-defined]
    record = intake.store.get(reference)
    proposal = build_proposal(record, intake.catalogue.current, set())
    assert proposal.path.startswith("content/ideas/getting-the-basics-right/") and ".." not in proposal.path
    doc = frontmatter.parse(proposal.content)
    assert set(doc.data) <= {"title", "challenge", "summary", "submitted", "reference", "attribution", "role", "region", "tags", "status"}
    assert doc.data["status"] == "waiting" and doc.data["reference"] == reference
    assert doc.body.rstrip("\n") == record.fields["idea"]
    assert "\x00" not in proposal.content and "\u202e" not in proposal.content and "\u2066" not in proposal.content
    page = BeautifulSoup(str(render(doc.body)), "html.parser")
    assert not page.find_all(["script", "iframe", "img", "object", "embed"])
    for tag in page.find_all(True):
        assert not any(name.startswith("on") for name in tag.attrs), tag
        assert not tag.get("href", "").strip().lower().startswith("javascript:"), tag
