"""Every page type of the site, as the browser checks see it.

Adding a page type is one line in PAGE_TYPES. `path` is a URL path on the
built sample site; `reach`, when given, is how to get there from `path` (for
pages that only exist after a form is sent, like the intake's error page).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import Page, Response

CHALLENGE = "/challenges/getting-the-basics-right/"
"""An open challenge with ideas, topics, events and both forms."""
IDEA = "/ideas/hot-food-for-staff-working-nights/"
"""An idea with comments, replies, a response, updates and tags."""
SHARE = "/share/"


@dataclass(frozen=True)
class PageType:
    name: str
    path: str
    status: int = 200
    reach: Callable[[Page, str], Response | None] | None = None
    """Called after opening `path`, to end on the page to check; returns that page's response."""

    def open(self, page: Page, base_url: str) -> None:
        """Load the page type in `page`, checking the HTTP status of the final document."""
        response = page.goto(base_url + self.path, wait_until="load")
        if self.reach:
            response = self.reach(page, base_url)
        assert response is not None, f"{self.name}: no response for {self.path}"
        assert response.status == self.status, f"{self.name}: HTTP {response.status} for {response.url}, expected {self.status}"

    def __str__(self) -> str:
        return self.name


_serial = itertools.count(1)


def send_share_form(page: Page, fill: bool = True) -> Response | None:
    """Send the share form (filled in with a valid idea, or empty); return the response it leads to."""
    if fill:
        n = next(_serial)
        page.select_option("#challenge", index=1)
        page.fill("#title", f"Browser test idea number {n}")
        page.fill("#idea", f"A longer description of browser test idea number {n}, so that it is not thought too short to read.")
        page.check("#consent")
    with page.expect_navigation(wait_until="load") as navigation:
        page.locator("#share-form [type=submit]").click()
    return navigation.value


def send_empty_form(page: Page, base_url: str) -> Response | None:
    return send_share_form(page, fill=False)


def send_idea(page: Page, base_url: str) -> Response | None:
    """Send a valid idea: the intake answers with its own confirmation page."""
    return send_share_form(page)


def send_comment(page: Page, base_url: str) -> Response | None:
    """Send a valid comment from the idea page's form: the intake answers with its own confirmation page."""
    n = next(_serial)
    page.fill("#comment", f"Browser test comment number {n}, agreeing with this idea.")
    page.check("#comment-consent")
    with page.expect_navigation(wait_until="load") as navigation:
        page.locator("#comment").locator("xpath=ancestor::form[1]").locator("[type=submit]").click()
    return navigation.value


def confirmed_reference(page: Page) -> str:
    """The reference at the end of the confirmation page's address (/intake/confirmation/TH-7QK2M)."""
    path = urlsplit(page.url).path
    assert "/intake/confirmation/TH-" in path, f"not on the intake's confirmation page: {page.url}"
    return path.rsplit("/", 1)[1]


def open_status_page(page: Page, base_url: str) -> Response | None:
    """Send a valid idea, then follow its reference to the intake's status page."""
    send_share_form(page)
    return page.goto(f"{base_url}/intake/status/{confirmed_reference(page)}", wait_until="load")


PAGE_TYPES: list[PageType] = [
    PageType("home", "/"),
    PageType("challenges", "/challenges/"),
    PageType("challenge", CHALLENGE),
    PageType("challenge by status", CHALLENGE + "status/waiting/"),
    PageType("challenge page 2", CHALLENGE + "page/2/"),
    PageType("topic", CHALLENGE + "topics/what-would-make-your-night-shift-easier/"),
    PageType("new topic", CHALLENGE + "new-topic/"),
    PageType("ideas", "/ideas/"),
    PageType("ideas by status", "/ideas/status/adopted/"),
    PageType("idea", IDEA),
    PageType("duplicate idea", "/ideas/a-canteen-that-stays-open-after-midnight/"),
    PageType("tags", "/tags/"),
    PageType("tag", "/tags/food-at-night/"),
    PageType("events", "/events/"),
    PageType("event", "/events/night-shift-drop-in-talk-to-us-at-3am/"),
    PageType("updates", "/updates/"),
    PageType("update", "/updates/you-said-we-did-rotas-shift-swaps-night-food-and-parking/"),
    PageType("static page", "/accessibility/"),
    PageType("search", "/search/"),
    PageType("numbers", "/numbers/"),
    PageType("open data", "/data/"),
    PageType("share form", SHARE),
    PageType("confirmation", SHARE, reach=send_idea),
    PageType("confirmation of a comment", IDEA, reach=send_comment),
    PageType("404", "/no-such-page/", status=404),
    PageType("intake error (422)", SHARE, status=422, reach=send_empty_form),
    PageType("intake status", SHARE, reach=open_status_page),
    PageType("intake status not found", "/intake/status/TH-ZZZZZ", status=404),
]
