"""`consult serve`: serves clean URLs and the 404 page, and rebuilds when a file changes."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from watchfiles import Change

from generator.build import build
from generator.serve import Rebuilder, SiteFiles


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture
def served(sample_repo: Path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "--root", str(sample_repo), "serve", "--no-intake", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(base + "/").status_code == 200, what="the server to start")
        yield base, sample_repo
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serves_clean_urls_and_404(served) -> None:
    base, _ = served
    assert "Talk Health and Care" in httpx.get(base + "/").text
    assert httpx.get(base + "/challenges/feeling-empowered/").status_code == 200
    missing = httpx.get(base + "/no/such/page/")
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_rebuilds_when_content_changes(served) -> None:
    base, repo = served
    challenge = repo / "challenges" / "feeling-empowered.md"
    challenge.write_text(challenge.read_text().replace("title:", "title: Edited", 1).replace("title: Edited ", "title: Edited ", 1))
    wait_for(lambda: "Edited" in httpx.get(base + "/challenges/feeling-empowered/").text, what="the edit to be served")


def test_an_edited_idea_is_served_at_once_then_everything_catches_up(served) -> None:
    base, repo = served
    idea = min((repo / "content" / "ideas").rglob("*.md"))
    idea.write_text(idea.read_text().rstrip() + "\n\nA sentence added while serving.\n")
    wait_for(lambda: "A sentence added while serving." in httpx.get(f"{base}/ideas/{idea.stem}/").text, what="the edited idea to be served")


def edit(path: Path, text: str) -> tuple[Change, str]:
    path.write_text(text)
    return (Change.modified, str(path))


def test_preview_renders_only_the_edited_ideas(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    rebuild = Rebuilder(sample_repo, out, None)
    assert rebuild()
    ideas = sorted((sample_repo / "content" / "ideas").rglob("*.md"))
    original = ideas[0].read_text()
    listing_before = (out / "ideas" / "index.html").read_bytes()

    assert rebuild.preview([edit(ideas[0], original.rstrip() + "\n\nPreviewed <b>text</b>.\n")]) == [f"/ideas/{ideas[0].stem}/"]
    page = (out / "ideas" / ideas[0].stem / "index.html").read_text()
    assert "Previewed &lt;b&gt;text&lt;/b&gt;." in page, "the body goes through the same Markdown and escaping"
    assert (out / "ideas" / "index.html").read_bytes() == listing_before, "only the idea's own page is previewed"

    assert rebuild([(Change.modified, str(ideas[0]))])
    fresh = tmp_path / "cold"
    build(sample_repo, fresh)
    assert (out / "ideas" / ideas[0].stem / "index.html").read_bytes() == (fresh / "ideas" / ideas[0].stem / "index.html").read_bytes()


def test_preview_leaves_anything_else_to_the_full_build(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    rebuild = Rebuilder(sample_repo, out, None)
    assert rebuild()
    ideas = sorted((sample_repo / "content" / "ideas").rglob("*.md"))
    text = ideas[0].read_text()
    page = out / "ideas" / ideas[0].stem / "index.html"
    before = page.read_bytes()

    assert rebuild.preview([edit(ideas[0], text.replace("title:", "titel:", 1))]) == [], "a problem: the full build reports it"
    other_challenge = next(c.stem for c in (sample_repo / "challenges").glob("*.md") if f"challenge: {c.stem}" not in text)
    challenge_line = next(line for line in text.splitlines() if line.startswith("challenge:"))
    assert rebuild.preview([edit(ideas[0], text.replace(challenge_line, f"challenge: {other_challenge}"))]) == [], "moved to another challenge"
    assert rebuild.preview([(Change.added, str(ideas[0]))]) == []
    challenge = sample_repo / "challenges" / "feeling-empowered.md"
    assert rebuild.preview([edit(challenge, challenge.read_text())]) == [], "not an idea"
    assert rebuild.preview([edit(ideas[0], text)] * (Rebuilder.PREVIEW_LIMIT + 1)) == [], "too many files at once"
    assert page.read_bytes() == before


def test_pages_carry_an_etag_of_their_bytes(served) -> None:
    base, _ = served
    first = httpx.get(base + "/")
    assert first.headers["etag"] and first.headers["cache-control"] == "no-cache"
    assert httpx.get(base + "/", headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_a_page_replaced_after_the_stat_is_sent_whole(tmp_path: Path) -> None:
    """A rebuild can replace a page between the server's stat and its read: the answer must match the bytes it sends."""
    page = tmp_path / "index.html"
    page.write_text("<p>old</p>")
    stale = os.stat(page)
    page.write_text("<p>new, and longer than before</p>")  # the rebuild, after the stat
    response = SiteFiles(directory=tmp_path, html=True).file_response(str(page), stale, {"type": "http", "headers": []})
    assert response.body == b"<p>new, and longer than before</p>"
    assert response.headers["content-length"] == str(len(response.body))


def test_pages_styles_and_scripts_are_sent_compressed_with_weak_etags(served) -> None:
    """Like a static host: gzip when the browser accepts it, a weak ETag on the compressed answer, 304s either way."""
    base, _ = served
    plain = httpx.get(base + "/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and not plain.headers["etag"].startswith("W/")
    packed = httpx.get(base + "/", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and "accept-encoding" in packed.headers["vary"].lower()
    assert packed.headers["etag"] == "W/" + plain.headers["etag"] and packed.content == plain.content
    for etag in (packed.headers["etag"], plain.headers["etag"]):
        again = httpx.get(base + "/", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304 and not again.content
    assets = re.findall(r'(?:href|src)="(/assets/[^"]+\.(?:css|js))"', plain.text)
    assert {a.rsplit(".", 1)[1] for a in assets} == {"css", "js"}
    for asset in assets:
        with httpx.stream("GET", base + asset, headers={"Accept-Encoding": "gzip"}) as response:
            wire = b"".join(response.iter_raw())
        size = len(gzip.decompress(wire))
        assert response.headers["content-encoding"] == "gzip" and len(wire) < size / 2, f"{asset}: {len(wire):,} bytes sent for {size:,}"


def indexed_urls(site: Path) -> dict[str, str]:
    """What Pagefind's index holds: each indexed page's URL and text, read from its fragments.

    A rebuild may swap the index in while it is read; the fragments of the generation it replaced are gone then
    (callers poll, so the next reading sees the new one whole)."""
    pages = {}
    for fragment in site.rglob("pagefind*/fragment/*.pf_fragment"):
        try:
            raw = fragment.read_bytes()
        except FileNotFoundError:
            continue
        data = json.loads(gzip.decompress(raw).removeprefix(b"pagefind_dcd"))
        pages[data["url"]] = data["content"]
    return pages


def test_the_search_index_catches_up_after_content_changes(served) -> None:
    _base, repo = served
    site = repo / "_site"
    wait_for(lambda: any(site.rglob("pagefind*/fragment/*.pf_fragment")), what="the first search index")
    source = min((repo / "content" / "ideas").rglob("*.md"))
    text = source.read_text().replace(
        re.search(r"^title: .*$", source.read_text(), re.MULTILINE).group(0), "title: Quokka rota swaps for night staff", 1
    )
    text = re.sub(r"^reference: .*$", "reference: TH-QQQQ7", text, flags=re.MULTILINE)
    new = source.with_name("quokka-rota-swaps.md")
    new.write_text(text)  # an idea accepted into the content
    wait_for(lambda: "/ideas/quokka-rota-swaps/" in indexed_urls(site), timeout=60, what="the new idea to be indexed for search")
    assert "Quokka rota swaps" in indexed_urls(site)["/ideas/quokka-rota-swaps/"]
