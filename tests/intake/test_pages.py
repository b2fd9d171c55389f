"""The intake's own pages: the confirmation (reference in the panel, no script), the status page's summary of what
was sent, state words and colours, and the site's footer on every page the intake renders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from generator.theme import STATUS_TAG_COLOURS
from intake.pages import STATE_TAGS

from .conftest import IDEA, Running

COMMENT = {"target": "idea:hot-food-for-staff-working-nights", "comment": "Yes please, and <b>soup</b> too.", "consent": "yes", "website": ""}
TOPIC = {
    "challenge": "getting-the-basics-right",
    "title": "Lockers for agency staff",
    "post": "Where do agency staff keep their things?",
    "consent": "yes",
    "website": "",
}


def send(intake: Running, path: str, data: dict[str, str]) -> tuple[str, BeautifulSoup]:
    """Post a form as a browser does; return the reference and the confirmation page the 303 leads to."""
    with intake.client() as client:
        response = client.post(path, data=data, headers={"Origin": intake.url})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        # Served alone, the intake is where a proxy would put it: below intake_url's path, /intake.
        assert location.startswith("/intake/confirmation/TH-"), location
        page = client.get(location.removeprefix("/intake"))
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"]
    return location.rsplit("/", 1)[1], BeautifulSoup(page.text, "html.parser")


def test_the_confirmation_page_has_the_reference_in_its_panel_without_script(quiet_intake: Running) -> None:
    reference, page = send(quiet_intake, "/ideas", IDEA)
    panel = page.select_one(".nhsuk-panel.nhsuk-panel--confirmation")
    assert panel is not None and panel.select_one("h1").get_text(strip=True) == "We have received your idea"
    assert panel.select_one(".nhsuk-panel__body .consult-reference").get_text(strip=True) == reference
    assert not panel.select("[hidden]"), "nothing in the panel waits for a script"
    status_link = next(a for a in page.select("main a") if a.get_text(" ", strip=True) == f"Check the status of {reference}")
    assert status_link["href"] == f"/intake/status/{reference}"
    text = page.select_one("main").get_text(" ", strip=True)
    assert "We will email you when your idea is published or not published, and when it is answered" in text, "IDEA asks for emails"
    assert "address bar" not in text and "ref=" not in text
    assert page.select_one("main a[href='/challenges/getting-the-basics-right/']"), "a way back to the challenge"
    assert "sam@example.org" not in str(page)


def test_json_posts_still_get_202_with_the_reference(quiet_intake: Running) -> None:
    with quiet_intake.client() as client:
        response = client.post("/ideas", json=IDEA, headers={"Origin": quiet_intake.url})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "received" and body["status_url"].endswith(f"/status/{body['reference']}")


def test_after_a_comment_or_a_topic_the_confirmation_links_back_to_its_discussion(quiet_intake: Running) -> None:
    _, comment = send(quiet_intake, "/comments", COMMENT)
    assert comment.select_one("h1").get_text(strip=True) == "We have received your comment"
    back = comment.select_one("main a[href='/ideas/hot-food-for-staff-working-nights/#discussion']")
    assert back is not None and back.get_text(strip=True).startswith("Back to the discussion on")
    _, topic = send(quiet_intake, "/topics", TOPIC)
    assert topic.select_one("h1").get_text(strip=True) == "We have received your discussion topic"
    back = topic.select_one("main a[href='/challenges/getting-the-basics-right/']")
    assert back is not None and "discussion topics" in back.get_text()


def summary(page: BeautifulSoup) -> dict[str, str]:
    rows = page.select(".nhsuk-summary-list .nhsuk-summary-list__row")
    return {row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(" ", strip=True) for row in rows}


def test_the_status_page_shows_what_was_sent_and_its_state_in_words(quiet_intake: Running) -> None:
    reference, _ = send(quiet_intake, "/comments", COMMENT)
    with quiet_intake.client() as client:
        page = BeautifulSoup(client.get(f"/status/{reference}").text, "html.parser")
    rows = summary(page)
    assert rows["Status"] == "Received" and rows["Reference"] == reference
    assert rows["Comment on"] == "Hot food for staff working nights"
    assert rows["Your comment"] == "Yes please, and <b>soup</b> too."
    assert page.select_one("strong.nhsuk-tag.nhsuk-tag--white").get_text(strip=True) == "Received"
    assert not page.select(".nhsuk-summary-list b"), "what a person sent is shown as text, never as markup"
    assert page.select_one(".nhsuk-caption-l .consult-reference").get_text(strip=True) == reference
    assert "on its way to the editors" in page.get_text()

    reference, _ = send(quiet_intake, "/ideas", IDEA)
    with quiet_intake.client() as client:
        page = BeautifulSoup(client.get(f"/status/{reference}").text, "html.parser")
    rows = summary(page)
    assert (rows["Challenge"], rows["Title"]) == ("Getting the basics right", IDEA["title"])
    assert rows["Your idea"] == IDEA["idea"]
    assert "Sam" not in rows.values() and "sam@example.org" not in str(page), "never the name or contact details"


def test_once_the_text_is_purged_the_status_page_says_so(quiet_intake: Running) -> None:
    reference, _ = send(quiet_intake, "/ideas", IDEA)
    store = quiet_intake.app.state.intake.store  # type: ignore[attr-defined]
    assert store.decide(reference, "closed", "It names a member of staff.")
    store.purge(dt.timedelta(0))
    with quiet_intake.client() as client:
        page = BeautifulSoup(client.get(f"/status/{reference}").text, "html.parser")
    rows = summary(page)
    assert rows["Status"] == "Not published" and "Your idea" not in rows and "Title" not in rows
    assert "We no longer keep a copy of what you sent" in page.get_text()
    assert "It names a member of staff." in page.get_text()


def test_the_status_page_shows_the_stored_state_when_the_forge_cannot_answer(quiet_intake: Running, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reference, _ = send(quiet_intake, "/ideas", IDEA)
    intake = quiet_intake.app.state.intake  # type: ignore[attr-defined]
    intake.store.mark_proposed({reference: f"submissions/{reference}"})

    def unreachable(ref: str) -> None:
        raise ConnectionError("the forge is down")

    monkeypatch.setattr(intake.forge, "state", unreachable)
    with quiet_intake.client() as client:
        response = client.get(f"/status/{reference}")
    assert response.status_code == 200
    assert summary(BeautifulSoup(response.text, "html.parser"))["Status"] == "With the editors"


def test_an_unknown_reference_gets_the_reference_form(quiet_intake: Running) -> None:
    with quiet_intake.client() as client:
        for path in ("/confirmation/TH-ZZZZZ", "/status/TH-ZZZZZ", "/confirmation/nonsense"):
            response = client.get(path)
            assert response.status_code == 404, path
            page = BeautifulSoup(response.text, "html.parser")
            assert page.select_one("h1").get_text(strip=True) == "We could not find that submission"
            assert page.select_one("form[action='/intake/status'] input#reference")


def test_state_words_and_colours_are_never_those_of_an_idea_status() -> None:
    from generator.schema import IDEA_STATUS_LABELS

    labels = [label for label, _ in STATE_TAGS.values()] + list(IDEA_STATUS_LABELS.values())
    colours = [colour for _, colour in STATE_TAGS.values()] + list(STATUS_TAG_COLOURS.values())
    assert len(set(labels)) == len(labels) and len(set(colours)) == len(colours), "one word and one colour per status"
    assert not any("published" in label.lower() for label in IDEA_STATUS_LABELS.values()), "every idea on the site is published"


def footer_links(html: str) -> list[tuple[str, str]]:
    footer = BeautifulSoup(html, "html.parser").select_one("footer")
    assert footer is not None
    return [(a.get_text(strip=True), urlsplit(a["href"]).path) for a in footer.select("a")]


def test_every_intake_page_has_the_site_footer(quiet_intake: Running, site_dir: Path) -> None:
    site_footer = footer_links((site_dir / "share" / "index.html").read_text(encoding="utf-8"))
    assert ("Search", "/search/") in site_footer and ("Numbers", "/numbers/") in site_footer and ("Open data", "/data/") in site_footer
    reference, _ = send(quiet_intake, "/ideas", IDEA)
    with quiet_intake.client() as client:
        pages = {
            "confirmation": client.get(f"/confirmation/{reference}"),
            "status": client.get(f"/status/{reference}"),
            "not found": client.get("/status/TH-ZZZZZ"),
            "error": client.post("/ideas", data={"title": ""}, headers={"Origin": quiet_intake.url}),
        }
    for name, response in pages.items():
        assert footer_links(response.text) == site_footer, name
