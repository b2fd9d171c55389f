"""Support counts and duplicates on the built site: `consult build --counts`, the pages, open data, numbers,
the listing by support, duplicate pages, validation, and incremental builds that re-render exactly what shows a count."""

from __future__ import annotations

import csv
import http.server
import io
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from generator.build import BuildResult, build, check
from generator.cli import main
from generator.counts import CountsError, fold, load_counts, parse_counts, support_sentence
from generator.errors import ContentError
from generator.manifest import read_manifest
from generator.pagewriter import page_file

from .conftest import BUILD_NOW, copy_sample
from .test_incremental import assert_same_as_cold

ORIGINAL = "hot-food-for-staff-working-nights"
DUPLICATE = "a-canteen-that-stays-open-after-midnight"
"""The sample's duplicate (content/ideas/getting-the-basics-right/), merged into ORIGINAL."""
CHALLENGE = "getting-the-basics-right"
COUNTS = {ORIGINAL: 4, DUPLICATE: 2, "one-login-for-all-clinical-systems": 1, "no-such-idea": 9}


def document(ideas: dict[str, int]) -> str:
    return json.dumps({"generated_at": "2026-11-25T12:00:00Z", "ideas": dict(sorted(ideas.items()))})


def soup(site: Path, url: str) -> BeautifulSoup:
    return BeautifulSoup((site / page_file(url)).read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The sample site built with COUNTS (read-only)."""
    root = copy_sample(tmp_path_factory.mktemp("counted") / "repo")
    return build(root, root.parent / "_site", now=BUILD_NOW, supports=COUNTS)


# --- reading counts -------------------------------------------------------------------------------------------


def test_parse_counts_reads_the_intakes_document() -> None:
    assert parse_counts(document({"a": 3, "b": 0}).encode(), "x.json") == {"a": 3, "b": 0}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "the document is a list, not an object"),
        (b'{"ideas": {}}', "generated_at is None, not an ISO 8601 time"),
        (b'{"generated_at": "yesterday", "ideas": {}}', "generated_at is 'yesterday'"),
        (b'{"generated_at": "2026-11-25T12:00:00Z"}', 'it has no "ideas" object'),
        (b'{"generated_at": "2026-11-25T12:00:00Z", "ideas": {"a": -1}}', "the count of 'a' is -1"),
        (b'{"generated_at": "2026-11-25T12:00:00Z", "ideas": {"a": "3"}}', "the count of 'a' is '3'"),
        (b'{"generated_at": "2026-11-25T12:00:00Z", "ideas": {"a": true}}', "the count of 'a' is True"),
        (b'{"generated_at": "2026-11-25T12:00:00Z", "ideas": {"a": 1.5}}', "the count of 'a' is 1.5"),
    ],
)
def test_malformed_counts_are_named_with_the_expected_shape(data: bytes, expected: str) -> None:
    with pytest.raises(CountsError) as info:
        parse_counts(data, "counts.json")
    assert expected in str(info.value) and str(info.value).startswith("--counts counts.json: ")
    assert '"generated_at"' in str(info.value), "the hint shows the document expected"


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CountsError, match="no such file"):
        load_counts("absent.json", tmp_path)
    (tmp_path / "counts.json").write_text(document({"a": 1}))
    assert load_counts("counts.json", tmp_path) == {"a": 1}, "a relative path is read from the site's root"


class CountsHandler(http.server.BaseHTTPRequestHandler):
    """Serves /counts.json as the intake does; any other path is a 404; /slow never answers in time."""

    body = document(COUNTS).encode()

    def do_GET(self) -> None:
        if self.path == "/slow":
            threading.Event().wait(2)
        status = 200 if self.path == "/counts.json" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body if status == 200 else b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def counts_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_counts_from_a_url(counts_server: str, tmp_path: Path) -> None:
    assert load_counts(f"{counts_server}/counts.json", tmp_path) == COUNTS


def test_unreachable_or_failing_urls_stop_with_a_reason(counts_server: str, tmp_path: Path) -> None:
    with pytest.raises(CountsError, match="the server answered 404"):
        load_counts(f"{counts_server}/wrong.json", tmp_path)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CountsError, match="could not reach it"):
        load_counts(f"http://127.0.0.1:{port}/counts.json", tmp_path)
    with pytest.raises(CountsError, match="could not reach it"):
        load_counts(f"{counts_server}/slow", tmp_path, timeout=0.3)


def test_fold_adds_duplicates_to_their_original_and_drops_unknown_slugs() -> None:
    originals = {"a": "a", "b": "b", "dup": "a"}
    assert fold({"a": 2, "dup": 3, "zzz": 5}, originals) == {"a": 5}
    assert [support_sentence(n) for n in (0, 1, 2)] == [
        "No one has supported this idea yet",
        "1 person supports this idea",
        "2 people support this idea",
    ]


def test_cli_build_with_counts(counts_server: str, sample_repo: Path) -> None:
    runner = CliRunner()
    out = sample_repo / "_site"
    missing = runner.invoke(main, ["--root", str(sample_repo), "build", "--counts", "nope.json"])
    assert missing.exit_code == 1 and "--counts nope.json: no such file" in missing.output and not out.exists()
    (sample_repo / "bad.json").write_text("{}")
    bad = runner.invoke(main, ["--root", str(sample_repo), "build", "--counts", "bad.json"])
    assert bad.exit_code == 1 and "generated_at is None" in bad.output

    url = f"{counts_server}/counts.json"
    first = runner.invoke(main, ["--root", str(sample_repo), "build", "--counts", url])
    assert first.exit_code == 0, first.output
    assert "6 people support this idea" in (out / "ideas" / ORIGINAL / "index.html").read_text()
    again = runner.invoke(main, ["--root", str(sample_repo), "build", "--counts", url])
    assert "Nothing changed" in again.output
    (sample_repo / "other.json").write_text(document({ORIGINAL: 1}))
    changed = runner.invoke(main, ["--root", str(sample_repo), "build", "--counts", "other.json"])
    assert "Nothing changed" not in changed.output, "other counts are a change"
    assert "1 person supports this idea" in (out / "ideas" / ORIGINAL / "index.html").read_text()


def test_export_with_counts(sample_repo: Path) -> None:
    (sample_repo / "counts.json").write_text(document(COUNTS))
    result = CliRunner().invoke(
        main, ["--root", str(sample_repo), "export", "--format", "json", "--counts", "counts.json", "-o", str(sample_repo / "out")]
    )
    assert result.exit_code == 0, result.output
    ideas = json.loads((sample_repo / "out/ideas.json").read_text())["ideas"]
    assert {i["url"].rsplit("/ideas/", 1)[1].strip("/"): i["supports"] for i in ideas}[ORIGINAL] == 6


# --- the pages ------------------------------------------------------------------------------------------------


def support_block(site: Path, slug: str) -> tuple[BeautifulSoup, BeautifulSoup | None]:
    page = soup(site, f"/ideas/{slug}/")
    count = page.find(id="support-count")
    assert count is not None and count["data-support-idea"] == slug and count.name == "p" and "nhsuk-body" in count["class"]
    return count, page.find("form", action="/intake/supports")


def test_idea_page_shows_the_count_and_the_support_form(counted: BuildResult) -> None:
    site = counted.output
    count, form = support_block(site, ORIGINAL)
    assert count.get_text(strip=True) == "6 people support this idea" and not count.has_attr("hidden"), "the duplicate's 2 are added"
    assert form is not None and form["method"] == "post" and form.has_attr("novalidate")
    fields = {i["name"]: i["value"] for i in form.find_all("input")}
    assert fields == {"idea": ORIGINAL, "action": "support", "website": ""}
    assert [b.get_text(strip=True) for b in form.find_all("button")] == ["I support this idea"]
    assert form.find_previous(id="support-count") is count, "the count sits right above the button"
    one, _ = support_block(site, "one-login-for-all-clinical-systems")
    none, _ = support_block(site, "proper-rest-rooms-for-breaks-on-long-shifts")
    assert one.get_text(strip=True) == "1 person supports this idea"
    assert none.get_text(strip=True) == "No one has supported this idea yet"


def test_without_counts_the_count_is_an_empty_hidden_element(site_dir: Path) -> None:
    count, form = support_block(site_dir, ORIGINAL)
    assert count.has_attr("hidden") and count.get_text(strip=True) == "" and form is not None
    assert count["data-counts"] == "/intake/counts.json"
    assert not (site_dir / "challenges" / CHALLENGE / "by-support").exists(), "no counts: no listing by support"
    assert "Sort by" not in soup(site_dir, f"/challenges/{CHALLENGE}/").get_text()


def test_one_main_action_on_an_idea_page(counted: BuildResult) -> None:
    page = soup(counted.output, f"/ideas/{ORIGINAL}/")
    primary = [b for b in page.select("main button.nhsuk-button") if "nhsuk-button--secondary" not in b["class"]]
    assert [b.get_text(strip=True) for b in primary] == ["I support this idea"]


def test_raised_by_and_support_are_told_apart(counted: BuildResult) -> None:
    """`supporters` (people who sent the same idea in, merged by editors) and supports ("me too") read differently."""
    text = soup(counted.output, f"/ideas/{ORIGINAL}/").get_text(" ", strip=True)
    supporters = counted.views.ideas[ORIGINAL].meta.supporters
    assert supporters > 1 and f"Raised by {supporters} people who sent in the same idea" in text and "6 people support this idea" in text


def test_closed_ideas_show_the_count_without_the_form(tmp_path: Path) -> None:
    import datetime as dt

    root = copy_sample(tmp_path / "repo")
    later = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)
    result = build(root, tmp_path / "site", now=later, supports={"protected-time-for-mandatory-training": 2})
    count, form = support_block(result.output, "protected-time-for-mandatory-training")
    assert count.get_text(strip=True) == "2 people support this idea" and form is None


def test_listing_by_support(counted: BuildResult) -> None:
    site = counted.output
    page = soup(site, f"/challenges/{CHALLENGE}/by-support/")
    titles = [a.get_text(strip=True) for a in page.select("#ideas ~ ul.consult-card-list h3 a")]
    views = counted.views
    assert titles[:2] == [views.ideas[ORIGINAL].title, views.ideas["one-login-for-all-clinical-systems"].title]
    assert views.duplicates[DUPLICATE].title not in titles
    assert "6 people support it" in page.get_text(" ")
    assert "support it" not in soup(site, f"/challenges/{CHALLENGE}/").get_text(" "), "the newest-first listing's cards have no count"
    assert not page.select("[data-pagefind-body]"), "a second listing of the same ideas is not indexed for search"
    assert page.find("form", action="/intake/ideas") is None
    sort = page.find("nav", attrs={"aria-label": "Sort ideas"})
    assert [a.get_text(strip=True) for a in sort.find_all("a")] == ["Newest", "Most supported"]
    assert [a.get_text(strip=True) for a in page.find_all("a", attrs={"aria-current": "page"})] == ["Most supported"]
    newest = soup(site, f"/challenges/{CHALLENGE}/").find("nav", attrs={"aria-label": "Sort ideas"})
    assert newest.find("a", attrs={"aria-current": "page"}).get_text(strip=True) == "Newest"
    assert newest.find("a", string="Most supported")["href"] == f"/challenges/{CHALLENGE}/by-support/#ideas"
    assert f"/challenges/{CHALLENGE}/by-support/</loc>" in (site / "sitemap.xml").read_text()


def test_open_data_carries_supports(counted: BuildResult, site_dir: Path) -> None:
    rows = list(csv.DictReader(io.StringIO((counted.output / "data/ideas.csv").read_text(encoding="utf-8-sig"))))
    by_url = {row["url"].rsplit("/ideas/", 1)[1].strip("/"): row for row in rows}
    assert by_url[ORIGINAL]["supports"] == "6" and by_url["proper-rest-rooms-for-breaks-on-long-shifts"]["supports"] == "0"
    data = json.loads((counted.output / "data/ideas.json").read_text())
    assert "supports" in data["fields"] and {i["url"].rsplit("/ideas/", 1)[1].strip("/"): i["supports"] for i in data["ideas"]}[ORIGINAL] == 6
    plain = json.loads((site_dir / "data/ideas.json").read_text())
    assert {i["supports"] for i in plain["ideas"]} == {None}, "no counts: empty, not 0"
    assert "supports" in soup(counted.output, "/data/").get_text()


def test_numbers_page_lists_the_most_supported_ideas(counted: BuildResult, site_dir: Path) -> None:
    page = soup(counted.output, "/numbers/")
    section = page.find("section", attrs={"data-figure": "most-supported"})
    assert section.find("h2").get_text(strip=True) == "Most supported ideas"
    chart = section.find("svg")
    assert chart["role"] == "img" and "7 supports in all" in chart.find("desc").get_text()
    rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in section.select("tbody tr")]
    assert rows == [[counted.views.ideas[ORIGINAL].title, "6"], [counted.views.ideas["one-login-for-all-clinical-systems"].title, "1"]]
    assert section.select_one("thead").get_text(" ", strip=True).endswith("Supports")
    assert soup(site_dir, "/numbers/").find("section", attrs={"data-figure": "most-supported"}) is None


# --- duplicates -----------------------------------------------------------------------------------------------


def test_a_duplicates_page_points_to_the_original(counted: BuildResult) -> None:
    site = counted.output
    page = soup(site, f"/ideas/{DUPLICATE}/")
    assert page.find("link", rel="canonical")["href"] == f"/ideas/{ORIGINAL}/"
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex, follow"
    action = page.select_one("a.nhsuk-action-link")
    assert action["href"] == f"/ideas/{ORIGINAL}/" and "Hot food for staff working nights" in action.get_text()
    assert not page.select("[data-pagefind-body]") and page.find("form", action="/intake/supports") is None
    assert "follow what happens to it and support it on the original idea’s page" in page.get_text(" ")


def test_a_duplicate_leaves_listings_feeds_search_numbers_data_and_sitemap(counted: BuildResult) -> None:
    site, url = counted.output, f"/ideas/{DUPLICATE}/"
    for listed in (f"/challenges/{CHALLENGE}/", "/ideas/", "/", "/tags/food-at-night/"):
        assert f'href="{url}"' not in (site / page_file(listed)).read_text(), listed
    for path in ("sitemap.xml", "feeds/all.atom.xml", f"feeds/challenges/{CHALLENGE}.atom.xml", "data/ideas.csv", "data/ideas.json"):
        assert DUPLICATE not in (site / path).read_text(), path
    assert f"/ideas/{ORIGINAL}/" in (site / "sitemap.xml").read_text()
    assert url not in counted.render_stats.indexed
    published = soup(site, "/numbers/").find("dl").find(string="Ideas published").find_parent("div").find("dd").get_text(strip=True)
    assert int(published) == len(counted.views.ideas) == len(counted.views.site.ideas) - 1


def test_duplicate_of_is_validated(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "repo")
    folder = root / "content/ideas" / CHALLENGE
    (folder / f"{DUPLICATE}.md").write_text(
        (folder / f"{DUPLICATE}.md").read_text().replace(f"duplicate_of: {ORIGINAL}", "duplicate_of: hot-food-for-staff-working-night")
    )
    cases = {
        "publish-rotas-at-least-six-weeks-ahead": "duplicate_of: publish-rotas-at-least-six-weeks-ahead",
        "scrap-hospital-parking-charges-for-all-staff": f"duplicate_of: {DUPLICATE}",
    }
    for slug, line in cases.items():
        path = folder / f"{slug}.md"
        path.write_text(path.read_text().replace("reference:", f"{line}\nreference:", 1))
    with pytest.raises(ContentError) as info:
        check(root)
    messages = {p.path.rsplit("/", 1)[1]: (p.key, p.message, p.hint) for p in info.value.problems}
    assert messages[f"{DUPLICATE}.md"][:2] == ("duplicate_of", "no idea 'hot-food-for-staff-working-night' (expected one of the ideas that exist)")
    assert f"did you mean '{ORIGINAL}'" in messages[f"{DUPLICATE}.md"][2]
    assert messages["publish-rotas-at-least-six-weeks-ahead.md"][1] == "an idea cannot be a duplicate of itself"
    # The sample's duplicate now points nowhere, so it is not itself a duplicate of a known idea; point it back first.
    (folder / f"{DUPLICATE}.md").write_text((folder / f"{DUPLICATE}.md").read_text().replace("hot-food-for-staff-working-night\n", f"{ORIGINAL}\n"))
    with pytest.raises(ContentError) as info:
        check(root)
    chained = [p for p in info.value.problems if p.path.endswith("scrap-hospital-parking-charges-for-all-staff.md")]
    assert [(p.message, p.hint) for p in chained] == [
        (f"'{DUPLICATE}' is itself a duplicate of '{ORIGINAL}'", f"write duplicate_of: {ORIGINAL} (point at the original idea)")
    ]
    assert (
        chained[0].line
        == (folder / "scrap-hospital-parking-charges-for-all-staff.md").read_text().splitlines().index(f"duplicate_of: {DUPLICATE}") + 1
    )


# --- incremental builds ---------------------------------------------------------------------------------------


def written_pages(out: Path, since: dict[str, int]) -> set[str]:
    """URLs of the manifest's pages whose files were written after `since` (file → mtime) was taken."""
    return {url for url in read_manifest(out).pages if (out / page_file(url)).stat().st_mtime_ns != since.get(page_file(url))}


def mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*.html")}


def test_a_changed_count_re_renders_exactly_the_pages_that_show_it(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True, supports=COUNTS)
    before = mtimes(out)
    changed = {**COUNTS, "proper-rest-rooms-for-breaks-on-long-shifts": 1}  # joins the top of the listing by support
    result = build(sample_repo, out, now=BUILD_NOW, incremental=True, supports=changed)
    # /numbers/ is one of the site's pages (in the manifest) and its "Most supported ideas" chart and total show the count
    assert written_pages(out, before) == {"/ideas/proper-rest-rooms-for-breaks-on-long-shifts/", f"/challenges/{CHALLENGE}/by-support/", "/numbers/"}
    assert result.render_stats.rendered == 3
    cold = tmp_path / "cold"
    build(sample_repo, cold, now=BUILD_NOW, supports=changed)
    assert (out / "data/ideas.csv").read_bytes() == (cold / "data/ideas.csv").read_bytes()
    assert (out / "numbers/index.html").read_bytes() == (cold / "numbers/index.html").read_bytes()

    before = mtimes(out)
    build(sample_repo, out, now=BUILD_NOW, incremental=True, supports={**changed, DUPLICATE: 5})  # the duplicate's count moves its original
    assert written_pages(out, before) == {f"/ideas/{ORIGINAL}/", f"/challenges/{CHALLENGE}/by-support/", "/numbers/"}


def test_incremental_builds_with_counts_and_duplicates_match_cold(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    build(sample_repo, out, now=BUILD_NOW, incremental=True, supports=COUNTS)
    cold = tmp_path / "cold-counts"
    build(sample_repo, cold, now=BUILD_NOW, supports=COUNTS)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == sorted(p.relative_to(cold).as_posix() for p in cold.rglob("*.html"))
    for page in cold.rglob("*.html"):
        assert (out / page.relative_to(cold)).read_bytes() == page.read_bytes(), page

    idea = sample_repo / "content/ideas" / CHALLENGE / "publish-rotas-at-least-six-weeks-ahead.md"
    idea.write_text(idea.read_text().replace("reference:", f"duplicate_of: {ORIGINAL}\nreference:", 1))
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert "Go to the idea: Hot food" in (out / "ideas/publish-rotas-at-least-six-weeks-ahead/index.html").read_text()
    update = (out / "updates/you-said-we-did-rotas-shift-swaps-night-food-and-parking/index.html").read_text()
    assert 'href="/ideas/publish-rotas-at-least-six-weeks-ahead/"' not in update, "an update about a duplicate lists its original"
    assert update.count(f'href="/ideas/{ORIGINAL}/"') == 1, "once, though the update names both"
    assert_same_as_cold(sample_repo, out, tmp_path, "marked duplicate, counts dropped")
    shutil.rmtree(tmp_path / "cold-counts")
