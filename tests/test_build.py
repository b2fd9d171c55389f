"""The built sample site: every page type renders what it should, with no asset from another origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from generator.build import build
from generator.errors import ContentError

from .conftest import BUILD_NOW


def page(site_dir: Path, url: str) -> BeautifulSoup:
    path = site_dir / url.strip("/") / "index.html" if not url.endswith(".html") else site_dir / url.strip("/")
    assert path.exists(), f"{url} was not built"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def texts(soup: BeautifulSoup, selector: str) -> list[str]:
    return [" ".join(el.get_text(" ").split()) for el in soup.select(selector)]


def test_home_lists_challenges_with_counts_latest_ideas_and_events(site_dir: Path, built_sample) -> None:
    soup = page(site_dir, "/")
    assert soup.html["lang"] == "en-GB"
    assert texts(soup, "h1") == ["Talk Health and Care"]
    cards = soup.select(".nhsuk-card-group__item")
    assert len(cards) == 5
    views = built_sample.views
    basics = views.challenges["getting-the-basics-right"]
    card = next(c for c in cards if c.a["href"] == "/challenges/getting-the-basics-right/")
    assert f"{len(basics.ideas)} ideas" in card.get_text()
    assert "Open for ideas" in card.get_text()
    latest = [a["href"] for a in soup.find("h2", string="Latest ideas").find_next("ul").select(".nhsuk-card__link")]
    assert latest == [i.url for i in views.ideas_newest_first[:5]]
    update = [a["href"] for a in soup.find("h2", string="You said, we did").find_next("ul").select(".nhsuk-card__link")]
    assert update == [next(iter(views.updates.values())).url], "the latest update, and only that one"
    upcoming = [a["href"] for a in soup.find("h2", string="Upcoming events").find_next("ul").select("a")]
    assert upcoming and all(u.startswith("/events/") for u in upcoming)


def test_challenge_page_has_question_dates_ideas_counts_and_filters(site_dir: Path, built_sample) -> None:
    challenge = built_sample.views.challenges["getting-the-basics-right"]
    soup = page(site_dir, challenge.url)
    assert texts(soup, "h1") == [challenge.title]
    assert challenge.meta.question in soup.get_text()
    assert "No closing date: this challenge stays open for ideas" in soup.get_text()
    listed = soup.select("#ideas ~ ul.consult-card-list .nhsuk-card__link")
    per_page = built_sample.views.site.config.ideas_per_page
    assert len(listed) == min(per_page, len(challenge.ideas))
    counts = texts(soup, ".consult-counts li")
    assert f"Adopted: {challenge.counts['adopted']}" in counts
    if len(challenge.ideas) > per_page:
        assert soup.select_one(".nhsuk-pagination a[href$='page/2/']")
        assert page(site_dir, challenge.url + "page/2/").select(".nhsuk-card__link")
    status_link = soup.select_one(".consult-counts a[href$='status/adopted/']")
    filtered = page(site_dir, status_link["href"])
    assert {a["href"] for a in filtered.select(".consult-card-list .nhsuk-card__link")} == {i.url for i in challenge.ideas if i.status == "adopted"}
    form = soup.select_one("form#share-form")
    assert form["action"] == "/intake/ideas" and form["method"] == "post"
    assert form.select_one("select#challenge option[selected]")["value"] == challenge.slug


def test_a_challenge_page_counts_the_days_to_its_closing_date(site_dir: Path, built_sample) -> None:
    challenge = built_sample.views.challenges["feeling-empowered"]
    days = (challenge.meta.closes - BUILD_NOW.date()).days
    soup = page(site_dir, challenge.url)
    rows = dict(zip(texts(soup, ".nhsuk-summary-list__key"), texts(soup, ".nhsuk-summary-list__value")))
    assert rows["Closes"] == f"31 January 2027 (in {days} days)"
    home = " ".join(page(site_dir, "/").get_text(" ").split())
    assert "Open for ideas until 31 January 2027" in home and "Open for ideas, with no closing date" in home


def test_idea_page_has_summary_body_status_response_attribution_and_related(site_dir: Path, built_sample) -> None:
    idea = next(i for i in built_sample.views.ideas.values() if i.meta.response and i.meta.attribution and i.meta.role)
    soup = page(site_dir, idea.url)
    assert texts(soup, "h1") == [idea.title]
    rows = dict(zip(texts(soup, ".nhsuk-summary-list__key"), texts(soup, ".nhsuk-summary-list__value")))
    assert rows["Shared by"] == idea.meta.attribution
    assert rows["Role"] == idea.meta.role
    assert rows["Reference"] == idea.meta.reference
    assert texts(soup, "article .nhsuk-tag")[0] == idea.meta.status.label
    assert idea.meta.summary in soup.get_text()
    response = soup.find("h2", string="Our response").find_parent("div")
    assert idea.meta.response.by in response.get_text()
    related = [a["href"] for a in soup.find("h2", string="Related ideas").find_next("ul").select("a")]
    assert related and all(r in {i.url for i in idea.challenge.ideas} for r in related)
    assert [a["href"] for a in soup.select(".consult-tag-list a")] == [f"/tags/{t}/" for t in idea.meta.tags]


def test_anonymous_idea_says_so(site_dir: Path, built_sample) -> None:
    idea = next(i for i in built_sample.views.ideas.values() if not i.meta.attribution)
    soup = page(site_dir, idea.url)
    rows = dict(zip(texts(soup, ".nhsuk-summary-list__key"), texts(soup, ".nhsuk-summary-list__value")))
    assert rows["Shared by"] == "Anonymous"


def test_events_split_upcoming_and_past(site_dir: Path, built_sample) -> None:
    soup = page(site_dir, "/events/")
    upcoming, past = built_sample.views.events_split(BUILD_NOW)
    assert upcoming and past
    up_list = soup.find("h2", string="Upcoming").find_next("ul")
    past_list = soup.find("h2", string="Past events").find_next("ul")
    assert [a["href"] for a in up_list.select("h3 a")] == [e.url for e in upcoming]
    assert [a["href"] for a in past_list.select("h3 a")] == [e.url for e in past]
    event = page(site_dir, past[0].url)
    assert "This event has taken place." in event.get_text()
    online = next(e for e in upcoming if e.meta.online)
    assert "Online" in page(site_dir, online.url).get_text()


def test_tag_static_404_and_share_pages(site_dir: Path, built_sample) -> None:
    tag, ideas = next(iter(built_sample.views.tags.items()))
    tag_page = page(site_dir, f"/tags/{tag}/")
    assert len(tag_page.select(".nhsuk-card__link")) == min(len(ideas), built_sample.views.site.config.ideas_per_page)
    for slug in ("about", "moderation", "privacy", "accessibility", "terms"):
        soup = page(site_dir, f"/{slug}/")
        assert texts(soup, "h1") == [built_sample.views.pages[slug].title]
        assert soup.select_one(f"footer a[href='/{slug}/']")
    assert texts(page(site_dir, "/404.html"), "h1") == ["Page not found"]
    share = page(site_dir, "/share/")
    names = {el["name"] for el in share.select("form#share-form [name]")}
    assert {"challenge", "title", "idea", "role", "region", "name", "email", "consent", "website"} <= names
    assert share.select_one("label[for=consent] a[href='/privacy/']")
    assert not (site_dir / "share" / "thank-you").exists(), "the intake renders its own confirmation page"


ASSET_ATTRS = {"link": "href", "script": "src", "img": "src", "source": "src", "iframe": "src"}


def test_no_asset_from_another_origin_and_assets_are_fingerprinted(site_dir: Path) -> None:
    pages = list(site_dir.rglob("*.html"))
    assert len(pages) > 60
    for path in pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag, attr in ASSET_ATTRS.items():
            for el in soup.find_all(tag):
                ref = el.get(attr)
                if ref is None or (tag == "link" and "alternate" in (el.get("rel") or [])):
                    continue
                assert not re.match(r"^(https?:)?//", ref), f"{path}: {tag} loads {ref} from another origin"
                if ref.startswith("/assets/"):
                    assert re.search(r"\.[0-9a-f]{10}\.\w+$", ref), f"{ref} has no content hash"
                    assert (site_dir / ref.lstrip("/")).exists()
    for css in site_dir.glob("assets/**/*.css"):
        assert not re.search(r"url\((['\"]?)(https?:)?//", css.read_text()), f"{css} loads from another origin"


def test_markdown_raw_html_never_reaches_the_page(sample_repo: Path, tmp_path: Path) -> None:
    idea = next((sample_repo / "content/ideas/feeling-empowered").glob("*.md"))
    text = idea.read_text()
    idea.write_text(
        text
        + '\n<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n[click](javascript:alert(3))\n\n<iframe src="https://evil.example"></iframe>\n'
    )
    result = build(sample_repo, tmp_path / "out", now=BUILD_NOW)
    html = (result.output / "ideas" / idea.stem / "index.html").read_text()
    body = BeautifulSoup(html, "html.parser").select_one("article")
    assert not body.find_all(["script", "img", "iframe"])
    assert not [a for a in body.find_all("a") if "javascript" in a.get("href", "").lower()]
    assert not [el for el in body.find_all(True) if any(attr.startswith("on") for attr in el.attrs)]
    assert "&lt;script&gt;" in str(body)  # shown as text, harmless


def test_failed_build_writes_nothing(sample_repo: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    build(sample_repo, output, now=BUILD_NOW)
    before = sorted(p.relative_to(output) for p in output.rglob("*"))
    marker = (output / "index.html").read_bytes()
    (sample_repo / "challenges" / "feeling-empowered.md").write_text("---\ntitle: [broken\n---\n")
    with pytest.raises(ContentError):
        build(sample_repo, output, now=BUILD_NOW)
    assert sorted(p.relative_to(output) for p in output.rglob("*")) == before
    assert (output / "index.html").read_bytes() == marker
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], "staging folder left behind"


def test_failed_first_build_creates_no_output(sample_repo: Path, tmp_path: Path) -> None:
    (sample_repo / "site.yml").write_text("title: [broken\n")
    with pytest.raises(ContentError):
        build(sample_repo, tmp_path / "out", now=BUILD_NOW)
    assert list(tmp_path.iterdir()) == [sample_repo]


def test_base_url_with_a_sub_path_prefixes_every_link(sample_repo: Path, tmp_path: Path) -> None:
    result = build(sample_repo, tmp_path / "out", base_url="https://example.github.io/consult", now=BUILD_NOW)
    soup = BeautifulSoup((result.output / "index.html").read_text(), "html.parser")
    hrefs = [a["href"] for a in soup.find_all("a") if a["href"].startswith("/")]
    assert hrefs and all(h.startswith("/consult/") for h in hrefs)
    assert soup.select_one("link[rel=stylesheet]")["href"].startswith("/consult/assets/")


def test_challenge_past_its_closing_date_shows_no_form(sample_repo: Path, tmp_path: Path) -> None:
    challenge = sample_repo / "challenges" / "feeling-empowered.md"
    challenge.write_text(challenge.read_text().replace("closes: 2027-01-31", "closes: 2026-11-01"))
    result = build(sample_repo, tmp_path / "out", now=BUILD_NOW)
    soup = BeautifulSoup((result.output / "challenges/feeling-empowered/index.html").read_text(), "html.parser")
    assert not soup.select("form#share-form")
    assert "closed to new ideas" in soup.get_text()
    share = BeautifulSoup((result.output / "share/index.html").read_text(), "html.parser")
    assert "feeling-empowered" not in [o["value"] for o in share.select("select#challenge option")]
