"""The readers' journeys (issue 14): one main action per page, search in the header, "you said, we did" in the
menu, tags and filters, search results that say what they are, feeds, and a numbers page that fits a phone.

Each journey is walked in Chromium as a person would: by keyboard where the count matters, at 320 and 1280 px.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from .pages import CHALLENGE, IDEA

FOCUSED = """() => {
  const el = document.activeElement;
  const form = el.closest("form");
  const fields = form ? [...form.elements].filter((f) => f.type !== "hidden" && !f.closest("[hidden], .nhsuk-u-visually-hidden")) : [];
  return { tag: el.tagName, id: el.id, text: el.textContent.trim(), cls: el.className, form: form ? form.id : null, firstField: fields[0] === el };
}"""
MAX_TABS = 5
"""From the top of a challenge page to the idea form's first field (issue 14, item 1)."""
NUMBERS_HEIGHT_320 = 3600
"""The numbers page's height at 320 px with every table folded away (6,700 px when each chart was followed by its table)."""


@pytest.fixture
def page_at(browser):
    """A page in a fresh context of the given width (JavaScript on unless told)."""
    contexts = []

    def make(width: int, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": 640 if width < 768 else 800}, java_script_enabled=javascript)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("width", [320, 1280])
def test_a_challenge_page_leads_to_the_idea_form_by_keyboard(width: int, page_at, live_site) -> None:
    page = page_at(width)
    page.goto(live_site.base_url + CHALLENGE, wait_until="load")
    tabs = 0

    def tab() -> dict:
        nonlocal tabs
        page.keyboard.press("Tab")
        tabs += 1
        return page.evaluate(FOCUSED)

    assert "nhsuk-skip-link" in tab()["cls"]
    page.keyboard.press("Enter")
    action = tab()
    assert action["text"] == "Share an idea on this challenge", f"at {width}px the first stop in the content is {action}, not the main action"
    assert "nhsuk-action-link" in action["cls"]
    page.keyboard.press("Enter")
    field = tab()
    assert field["form"] == "share-form" and field["firstField"], f"at {width}px, after the action link, Tab reached {field}"
    assert tabs <= MAX_TABS, f"{tabs} Tab presses to the idea form's first field at {width}px"


@pytest.mark.parametrize("width", [320, 1280])
def test_one_activated_link_brings_the_idea_form_into_view(width: int, page_at, live_site) -> None:
    page = page_at(width)
    page.goto(live_site.base_url + CHALLENGE, wait_until="load")
    main = page.locator("main")
    actions = main.locator(".nhsuk-action-link")
    assert actions.count() == 1, "one main action on the challenge page"
    first_heading = main.locator("h2").first.bounding_box()
    assert actions.bounding_box()["y"] < first_heading["y"], "the main action comes before the page's sections"
    assert not main.locator("#topic-form").count(), "the topic form has its own page"
    actions.click()
    page.wait_for_function("() => location.hash === '#share-idea'")
    heading = page.locator("#share-idea").bounding_box()
    assert 0 <= heading["y"] < page.viewport_size["height"], f"the form's heading is at {heading['y']}px after following the link"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["firstField"]


def test_starting_a_topic_has_its_own_page(page_at, live_site) -> None:
    page = page_at(1280)
    page.goto(live_site.base_url + CHALLENGE, wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name=re.compile("^Start a new topic")).click()
    assert urlsplit(page.url).path == CHALLENGE + "new-topic/"
    assert page.locator("h1").inner_text() == "Start a new topic"
    form = page.locator("form#topic-form")
    assert form.get_attribute("action").endswith("/topics") and form.locator("[name=challenge]").get_attribute("value") == "getting-the-basics-right"


def test_home_page_main_action_is_visible_at_320(page_at, live_site) -> None:
    page = page_at(320)
    stylesheet = []
    page.on("response", lambda r: stylesheet.append(r) if r.request.resource_type == "stylesheet" else None)
    page.goto(live_site.base_url + "/", wait_until="load")
    action = page.locator("main .nhsuk-action-link")
    assert action.count() == 1 and action.is_visible()
    assert action.inner_text().strip() == "Share your idea" and action.get_attribute("href") == "/share/"
    box = action.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320
    assert box["y"] < page.locator("main h2").first.bounding_box()["y"], "under the introduction, before the sections"
    assert stylesheet and stylesheet[0].header_value("content-encoding") == "gzip", "consult serve compresses the stylesheet"


def test_home_page_shows_the_latest_update_and_the_feed(page_at, live_site) -> None:
    page = page_at(1280)
    page.goto(live_site.base_url + "/updates/", wait_until="load")
    newest = page.locator("main .nhsuk-card a").first.get_attribute("href")
    page.goto(live_site.base_url + "/", wait_until="load")
    assert page.locator(f"main a[href='{newest}']").is_visible()
    assert page.locator("main a[href='/updates/']").is_visible()
    feed = page.locator("main a[href$='.atom.xml']")
    assert feed.count() >= 1 and feed.first.is_visible()


@pytest.mark.parametrize("path", ["/", CHALLENGE, "/updates/"], ids=["home", "challenge", "updates"])
def test_feeds_are_linked_visibly(path: str, page_at, live_site) -> None:
    page = page_at(320)
    page.goto(live_site.base_url + path, wait_until="load")
    link = page.locator("main a[href$='.atom.xml']").first
    assert link.is_visible() and "feed" in link.inner_text()
    response = page.request.get(live_site.base_url + link.get_attribute("href"))
    assert response.ok and response.body().startswith(b"<?xml") and b"<feed" in response.body()


def test_you_said_we_did_is_in_the_main_menu(page_at, live_site) -> None:
    page = page_at(1280)
    page.goto(live_site.base_url + "/", wait_until="load")
    item = page.locator("header nav a[href='/updates/']")
    assert item.inner_text().strip() == "You said, we did" and item.is_visible()
    page.goto(live_site.base_url + "/updates/", wait_until="load")
    assert page.locator("header nav a[aria-current]").get_attribute("href") == "/updates/"


@pytest.mark.parametrize("javascript", [False, True], ids=["without JavaScript", "with JavaScript"])
def test_header_search_submits_to_the_search_page(javascript: bool, page_at, live_site) -> None:
    page = page_at(1280, javascript)
    page.goto(live_site.base_url + IDEA, wait_until="load")
    page.locator("header #search-field").fill("hot food")
    with page.expect_navigation(wait_until="load"):
        page.locator("header #search-field").press("Enter")
    parts = urlsplit(page.url)
    assert parts.path == "/search/" and parse_qs(parts.query)["q"] == ["hot food"]
    if javascript:
        page.locator("[data-search-results] li").first.wait_for()
        assert page.locator("#search-q").input_value() == "hot food"
    else:
        assert page.locator("[data-search-nojs]").is_visible()


def test_search_results_say_what_they_are_without_page_furniture(page_at, live_site) -> None:
    page = page_at(1280)
    page.goto(live_site.base_url + IDEA, wait_until="load")
    status = page.locator("main article .nhsuk-tag").first.inner_text().strip()
    challenge = page.locator("main article .nhsuk-caption-l").inner_text().strip()
    title = page.locator("h1").inner_text().strip()
    page.goto(live_site.base_url + "/search/?q=" + "+".join(title.split()[:3]), wait_until="load")
    hit = page.locator("[data-search-results] li", has=page.locator(f"a[href$='{IDEA}']"))
    hit.wait_for()
    meta, excerpt = hit.locator("p").all()
    assert meta.inner_text() == f"Idea · {status} · {challenge}"
    assert not re.search(r"Reference|TH-[0-9A-Z]{5}|Raised by|Shared by|Submitted|Published \d", excerpt.inner_text()), excerpt.inner_text()
    for query, kind in [("drop-in night shift", "Event"), ("night shift easier", "Discussion topic"), ("you said we did rotas", "You said, we did")]:
        page.goto(live_site.base_url + "/search/?q=" + query.replace(" ", "+"), wait_until="load")
        first = page.locator("[data-search-results] li").first
        first.wait_for()
        kinds = [m.split(" · ")[0] for m in page.locator("[data-search-results] li p:first-of-type").all_inner_texts()]
        assert kind in kinds, f"searching {query!r}: no {kind} among {kinds}"


def test_topic_tags_are_plain_links_and_tags_only_show_status(page_at, live_site) -> None:
    page = page_at(1280)
    for path in (IDEA, "/ideas/", CHALLENGE, "/tags/"):
        page.goto(live_site.base_url + path, wait_until="load")
        assert not page.locator("a.nhsuk-tag, a .nhsuk-tag").count(), f"{path}: a link styled as a tag"
    page.goto(live_site.base_url + IDEA, wait_until="load")
    links = page.locator(".consult-tag-list a")
    assert links.count() >= 1
    for link in links.all():
        assert "nhsuk-tag" not in (link.get_attribute("class") or "") and link.get_attribute("href").startswith("/tags/")


@pytest.mark.parametrize("base, all_label", [("/ideas/", "All ideas"), (CHALLENGE, "All ideas on this challenge")], ids=["ideas", "challenge"])
def test_status_filters_mark_the_current_one_and_offer_all(base: str, all_label: str, page_at, live_site) -> None:
    page = page_at(320)
    page.goto(live_site.base_url + base, wait_until="load")
    filters = page.get_by_role("navigation", name="Filter by status")
    current = filters.locator("[aria-current]")
    assert current.count() == 1 and current.inner_text().strip() == all_label and current.get_attribute("href") == base
    status_link = filters.locator("a").nth(1)
    target = status_link.get_attribute("href")
    assert re.fullmatch(re.escape(base) + r"status/[a-z-]+/", target)
    with page.expect_navigation(wait_until="load"):
        status_link.click()
    filters = page.get_by_role("navigation", name="Filter by status")
    current = filters.locator("[aria-current]")
    assert current.count() == 1 and current.get_attribute("href") == target and current.get_attribute("aria-current") == "page"
    assert filters.get_by_role("link", name=all_label).get_attribute("href") == base


def test_numbers_page_puts_each_table_under_show_the_data(page_at, live_site) -> None:
    page = page_at(320)
    page.goto(live_site.base_url + "/numbers/", wait_until="load")
    sections = page.locator("section[data-figure]")
    assert sections.count() >= 5
    for section in sections.all():
        details = section.locator("figure + details.nhsuk-details")
        assert details.count() == 1 and details.get_attribute("open") is None
        title = section.locator("h2").inner_text().strip()
        assert " ".join(details.locator("summary").text_content().split()) == f"Show the data: {title.lower()}", (
            "each summary names its chart for a screen reader"
        )
        assert details.locator("table").count() == 1 and not details.locator("table").is_visible()
    folded = page.evaluate("document.documentElement.scrollHeight")
    assert folded <= NUMBERS_HEIGHT_320, f"the numbers page is {folded}px long at 320px"
    for summary in page.locator("section[data-figure] summary").all():
        summary.click()
    unfolded = page.evaluate("document.documentElement.scrollHeight")
    assert page.locator("section[data-figure] table").first.is_visible()
    assert unfolded > folded + 1000, f"opening every table adds only {unfolded - folded}px"
