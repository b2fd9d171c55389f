""" "I support this idea" at the intake: POST /supports, GET /supports/<slug>, GET /counts.json, over a real server.

Posts are the idea page's form (contract item 1 of issue 16): `idea`, `action` and the honeypot, form-encoded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import random
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.responses import Response

from intake.db import connect
from intake.migrations import migrate
from intake.settings import IntakeSettings, parse_support_rates
from intake.support import COOKIE, SupporterCookie, count_sentence, set_cookie
from intake.support_store import SupportChange, SupportStore, token_hash
from tests.conftest import BUILD_NOW

from .conftest import IDEA, Running, intake_env, running_intake

OPEN_IDEA = "hot-food-for-staff-working-nights"
"""In 'Getting the basics right', which never closes."""
OTHER_IDEA = "one-login-for-all-clinical-systems"
CLOSING_IDEA = "bystander-training-for-every-team"
"""In 'Free from bullying', which closes on 31 January 2027."""

FORM_OF_THE_IDEA_PAGE = """
<form method="post" action="{intake_url}/supports" novalidate>
  <input type="hidden" name="idea" value="{slug}">
  <input type="hidden" name="action" value="support">
  {honeypot}
  <button class="nhsuk-button" type="submit">I support this idea</button>
</form>
"""
"""The form the site puts on each open idea's page (issue 16's contract, item 1)."""


class FormFields(HTMLParser):
    """The name=value pairs a browser sends for a form's inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        if tag == "input" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


def idea_page_form(running: Running, slug: str) -> tuple[str, dict[str, str]]:
    """The idea page's form as the site builds it (the honeypot from the theme's own partial), as a browser would send it."""
    intake = running.app.state.intake  # type: ignore[attr-defined]
    honeypot = intake.templates.get_template("partials/honeypot.html").render(honeypot_id="support")
    parser = FormFields()
    parser.feed(FORM_OF_THE_IDEA_PAGE.format(intake_url="/intake", slug=slug, honeypot=honeypot))
    return parser.action.removeprefix("/intake"), parser.fields


def post(client: httpx.Client, idea: str, action: str = "support", cookie: str | None = None, as_json: bool = False, **extra: str) -> httpx.Response:
    headers = {"Accept": "application/json"} if as_json else {}
    if cookie:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    return client.post("/supports", data={"idea": idea, "action": action, "website": "", **extra}, headers=headers)


def cookie_of(response: httpx.Response) -> str:
    match = re.search(rf"{COOKIE}=([^;]+)", response.headers.get("set-cookie", ""))
    assert match, f"no {COOKIE} cookie set: {response.headers}"
    return match.group(1)


def page_text(response: httpx.Response) -> str:
    main = response.text[response.text.index("<main") : response.text.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


def counts(client: httpx.Client) -> dict[str, int]:
    return client.get("/counts.json").json()["ideas"]


@pytest.fixture
def running(intake_on_build_day: Running) -> Running:
    return intake_on_build_day


@pytest.fixture
def client(running: Running) -> Iterator[httpx.Client]:
    with running.client() as client:
        yield client


@pytest.fixture
def running_on(repo: Path, site_dir: Path, tmp_path: Path, database_url: str) -> Iterator[Running]:
    """The intake on the build day with its store on the test's engine (SQLite, then PostgreSQL): for the tests of
    what the store keeps and counts."""
    with running_intake(
        repo, site_dir, tmp_path / "data", run_worker=False, CONSULT_NOW=BUILD_NOW.isoformat(), CONSULT_INTAKE_DATABASE_URL=database_url
    ) as running:
        yield running


# -- support, withdraw, once per browser ------------------------------------------------------------


def test_the_idea_pages_form_supports_and_the_page_offers_withdrawal(running: Running, client: httpx.Client) -> None:
    path, fields = idea_page_form(running, OPEN_IDEA)
    assert path == "/supports" and fields == {"idea": OPEN_IDEA, "action": "support", "website": ""}
    answer = client.post(path, data=fields)
    assert answer.status_code == 303 and answer.headers["location"] == f"/intake/supports/{OPEN_IDEA}"
    set_cookie_header = answer.headers["set-cookie"]
    assert "HttpOnly" in set_cookie_header and "samesite=lax" in set_cookie_header.lower() and "Path=/intake" in set_cookie_header
    assert f"Max-Age={365 * 24 * 3600}" in set_cookie_header and "Secure" not in set_cookie_header

    cookie = cookie_of(answer)
    page = client.get(f"/supports/{OPEN_IDEA}", headers={"Cookie": f"{COOKIE}={cookie}"})
    text = page_text(page)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store" and page.headers["x-robots-tag"] == "noindex"
    assert "You support this idea" in text and "1 person supports this idea" in text and "Withdraw my support" in text
    assert f'href="/ideas/{OPEN_IDEA}/"' in page.text, "a way back to the idea"
    assert 'name="action" value="withdraw"' in page.text and 'name="website"' in page.text

    withdrawn = post(client, OPEN_IDEA, "withdraw", cookie)
    assert withdrawn.status_code == 303 and "set-cookie" not in withdrawn.headers, "the same browser keeps its token"
    text = page_text(client.get(f"/supports/{OPEN_IDEA}", headers={"Cookie": f"{COOKIE}={cookie}"}))
    assert "No one has supported this idea yet" in text and "I support this idea" in text and "Withdraw" not in text


def test_supporting_twice_counts_once_and_withdrawing_twice_changes_nothing(running_on: Running) -> None:
    with running_on.client() as client:
        supporting_twice_counts_once(client)


def supporting_twice_counts_once(client: httpx.Client) -> None:
    first = post(client, OPEN_IDEA, as_json=True)
    assert first.status_code == 200 and first.json() == {"idea": OPEN_IDEA, "supported": True, "count": 1}
    cookie = cookie_of(first)
    assert post(client, OPEN_IDEA, cookie=cookie, as_json=True).json() == {"idea": OPEN_IDEA, "supported": True, "count": 1}
    other_browser = post(client, OPEN_IDEA, as_json=True)
    assert other_browser.json()["count"] == 2 and cookie_of(other_browser) != cookie
    assert post(client, OPEN_IDEA, "withdraw", cookie, as_json=True).json() == {"idea": OPEN_IDEA, "supported": False, "count": 1}
    assert post(client, OPEN_IDEA, "withdraw", cookie, as_json=True).json() == {"idea": OPEN_IDEA, "supported": False, "count": 1}
    assert counts(client) == {OPEN_IDEA: 1}


def test_a_tampered_or_foreign_cookie_is_a_new_browser(running: Running, client: httpx.Client) -> None:
    cookie = cookie_of(post(client, OPEN_IDEA, as_json=True))
    token, _, signature = cookie.partition(".")
    forged_token = token[:-1] + ("A" if token[-1] != "A" else "B")
    foreign = SupporterCookie(b"another intake's secret").value(token)
    for bad in (f"{forged_token}.{signature}", f"{token}.{signature[:-2]}", foreign, token, "", "x" * 500, "a.b.c"):
        answer = post(client, OPEN_IDEA, cookie=bad, as_json=True)
        assert answer.status_code == 200, bad
        fresh = cookie_of(answer)
        assert fresh.partition(".")[0] not in (token, forged_token), "a fresh random token, not the one sent"
    assert counts(client) == {OPEN_IDEA: 8}, "each unsigned cookie counted as a browser of its own; the signed one once"
    assert post(client, OPEN_IDEA, "withdraw", cookie, as_json=True).json()["count"] == 7


def test_only_a_hash_of_the_token_is_kept_and_no_address(running_on: Running) -> None:
    with running_on.client() as client:
        cookie = cookie_of(post(client, OPEN_IDEA, as_json=True))
    token = cookie.partition(".")[0]
    rows = [dict(row) for row in running_on.app.state.intake.store.conn.execute("SELECT * FROM supports").fetchall()]  # type: ignore[attr-defined]
    assert rows == [{"token_hash": token_hash(token), "idea": OPEN_IDEA}], "a hash of the token and the idea: nothing else"
    if not running_on.settings.database_url:
        stored = b"".join(path.read_bytes() for path in running_on.settings.data_dir.glob("intake.sqlite3*"))
        assert token.encode() not in stored and cookie.encode() not in stored and b"127.0.0.1" not in stored


def test_no_commit_is_made_for_a_support(running: Running, client: httpx.Client) -> None:
    from .conftest import git

    before = git(running.settings.root, "rev-list", "--all", "--count")
    for _ in range(5):
        assert post(client, OPEN_IDEA, as_json=True).status_code == 200
    assert git(running.settings.root, "rev-list", "--all", "--count") == before


# -- which ideas take support ---------------------------------------------------------------------------


def test_an_unknown_idea_is_a_clear_404(client: httpx.Client) -> None:
    page = post(client, "no-such-idea")
    assert page.status_code == 404 and "set-cookie" not in page.headers
    text = page_text(page)
    assert "We could not find that idea" in text and "There is no idea ‘no-such-idea’ on the site" in text
    assert 'href="/ideas/"' in page.text
    assert post(client, "no-such-idea", as_json=True).json()["error"].startswith("There is no idea ‘no-such-idea’")
    assert client.get("/supports/no-such-idea").status_code == 404
    assert counts(client) == {}


def test_missing_or_wrong_fields_say_what_to_send(client: httpx.Client) -> None:
    no_action = client.post("/supports", data={"idea": OPEN_IDEA}, headers={"Accept": "application/json"})
    assert no_action.status_code == 400 and "action as support" in no_action.json()["error"]
    wrong = post(client, OPEN_IDEA, "like", as_json=True)
    assert wrong.status_code == 400 and "withdraw" in wrong.json()["error"]
    no_idea = client.post("/supports", json={"action": "support", "idea": 7})
    assert no_idea.status_code == 400 and "send the field idea" in no_idea.json()["error"]
    page = client.post("/supports", data={"action": "support"})
    assert page.status_code == 400 and "We could not record your support" in page_text(page)


def test_origin_check_and_honeypot_as_the_other_posts(running: Running) -> None:
    with httpx.Client(base_url=running.url, timeout=30, headers={"Origin": "https://evil.example"}) as foreign:
        assert post(foreign, OPEN_IDEA).status_code == 403
    with httpx.Client(base_url=running.url, timeout=30) as no_origin:
        assert post(no_origin, OPEN_IDEA, as_json=True).status_code == 403
    with running.client() as client:
        bot = post(client, OPEN_IDEA, website="https://spam.example")
        assert bot.status_code == 400 and "looks automated" in page_text(bot)
        assert counts(client) == {}


def test_a_closed_challenge_takes_no_support_but_a_support_can_be_withdrawn(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_intake(repo, site_dir, data, run_worker=False, CONSULT_NOW=BUILD_NOW.isoformat()) as before, before.client() as client:
        cookie = cookie_of(post(client, CLOSING_IDEA, as_json=True))
    with running_intake(repo, site_dir, data, run_worker=False, CONSULT_NOW="2027-03-01") as after, after.client() as client:
        refused = post(client, CLOSING_IDEA)
        assert refused.status_code == 409
        text = page_text(refused)
        assert "This idea no longer takes support" in text and "closed on 31 January 2027" in text
        assert f'href="/ideas/{CLOSING_IDEA}/"' in refused.text
        assert (
            post(client, CLOSING_IDEA, as_json=True)
            .json()["error"]
            .startswith("The challenge ‘Working without fear of bullying or harassment’ closed on 31 January 2027")
        )

        page = page_text(client.get(f"/supports/{CLOSING_IDEA}", headers={"Cookie": f"{COOKIE}={cookie}"}))
        assert "You support this idea" in page and "closed on 31 January 2027" in page and "Withdraw my support" in page
        assert post(client, CLOSING_IDEA, "withdraw", cookie, as_json=True).json() == {"idea": CLOSING_IDEA, "supported": False, "count": 0}
        page = page_text(client.get(f"/supports/{CLOSING_IDEA}"))
        assert "This idea no longer takes support" in page and "I support this idea" not in page
        assert post(client, OPEN_IDEA, as_json=True).status_code == 200, "the challenge that never closes still takes support"


# -- duplicates -------------------------------------------------------------------------------------------


def mark_duplicate(root: Path, slug: str, original: str) -> None:
    path = next(root.glob(f"content/ideas/*/{slug}.md"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("---\n", f"---\nduplicate_of: {original}\n", 1), encoding="utf-8")


def test_a_duplicates_slug_counts_towards_its_original(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    mark_duplicate(repo, OTHER_IDEA, OPEN_IDEA)
    with (
        running_intake(repo, site_dir, tmp_path / "data", run_worker=False, CONSULT_NOW=BUILD_NOW.isoformat()) as running,
        running.client() as client,
    ):
        path, fields = idea_page_form(running, OTHER_IDEA)
        answer = client.post(path, data=fields)
        assert answer.status_code == 303 and answer.headers["location"] == f"/intake/supports/{OPEN_IDEA}"
        cookie = cookie_of(answer)
        assert post(client, OPEN_IDEA, cookie=cookie, as_json=True).json() == {"idea": OPEN_IDEA, "supported": True, "count": 1}
        assert post(client, OTHER_IDEA, cookie=cookie, as_json=True).json() == {"idea": OPEN_IDEA, "supported": True, "count": 1}
        redirect = client.get(f"/supports/{OTHER_IDEA}")
        assert redirect.status_code == 302 and redirect.headers["location"] == f"/intake/supports/{OPEN_IDEA}"
        assert counts(client) == {OPEN_IDEA: 1}


def test_an_idea_marked_as_a_duplicate_later_folds_in_counting_each_browser_once(repo: Path, running_on: Running) -> None:
    running = running_on
    with running.client() as client:
        both = cookie_of(post(client, OPEN_IDEA, as_json=True))
        post(client, OTHER_IDEA, cookie=both, as_json=True)
        post(client, OTHER_IDEA, as_json=True)
        post(client, OPEN_IDEA, as_json=True)
        assert counts(client) == {OPEN_IDEA: 2, OTHER_IDEA: 2}

        mark_duplicate(repo, OTHER_IDEA, OPEN_IDEA)
        running.app.state.intake.catalogue.refresh(force=True)  # type: ignore[attr-defined]
        assert counts(client) == {OPEN_IDEA: 3}, "three browsers, the one that supported both counted once"
        assert post(client, OTHER_IDEA, cookie=both, as_json=True).json() == {"idea": OPEN_IDEA, "supported": True, "count": 3}
        assert post(client, OPEN_IDEA, "withdraw", both, as_json=True).json() == {"idea": OPEN_IDEA, "supported": False, "count": 2}
        assert counts(client) == {OPEN_IDEA: 2}
        store = running.app.state.supports.store  # type: ignore[attr-defined]
        assert store.total_rows() == (2, 2)


# -- rate limits ------------------------------------------------------------------------------------------


def test_supports_are_limited_per_client_address(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    env = {"CONSULT_NOW": BUILD_NOW.isoformat(), "CONSULT_INTAKE_RATE_LIMIT": "30/60", "CONSULT_INTAKE_RATE_LIMIT_SUPPORTS": "3/60"}
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, **env) as running, running.client() as client:
        assert [post(client, OPEN_IDEA, as_json=True).status_code for _ in range(3)] == [200, 200, 200]
        refused = post(client, OPEN_IDEA)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "You have done that a lot in a short time" in page_text(refused) and "Wait" in page_text(refused)
        assert 'href="/ideas/"' in refused.text
        assert client.post("/ideas", data=IDEA).status_code == 303, "ideas have their own bucket"
        assert counts(client) == {OPEN_IDEA: 3}


def test_supports_are_limited_per_browser(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    env = {"CONSULT_NOW": BUILD_NOW.isoformat(), "CONSULT_INTAKE_RATE_LIMIT": "30/60", "CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER": "2/60"}
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, **env) as running, running.client() as client:
        cookie = cookie_of(post(client, OPEN_IDEA, as_json=True))
        assert post(client, OPEN_IDEA, "withdraw", cookie, as_json=True).status_code == 200
        assert post(client, OPEN_IDEA, cookie=cookie, as_json=True).status_code == 200
        refused = post(client, OPEN_IDEA, "withdraw", cookie, as_json=True)
        assert refused.status_code == 429 and "This browser has supported and withdrawn a lot" in refused.json()["error"]
        assert post(client, OPEN_IDEA, as_json=True).status_code == 200, "another browser at the same address is not held back"
        assert counts(client) == {OPEN_IDEA: 2}


def test_support_rate_settings() -> None:
    assert parse_support_rates({}) == {"support": (120, 60.0), "supporter": (30, 60.0)}
    assert parse_support_rates({"CONSULT_INTAKE_RATE_LIMIT": "0"}) == {"support": (0, 60.0), "supporter": (0, 60.0)}
    assert parse_support_rates({"CONSULT_INTAKE_RATE_LIMIT": "0", "CONSULT_INTAKE_RATE_LIMIT_SUPPORTS": "500/60"})["support"] == (500, 60.0)
    from generator.errors import ConsultError

    with pytest.raises(ConsultError, match="CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER must look like 30/60"):
        parse_support_rates({"CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER": "lots"})


def test_the_cookie_is_secure_when_the_site_is_https(repo: Path, tmp_path: Path) -> None:
    settings = IntakeSettings.from_environment(repo, base_url="https://talk.example.nhs.uk", environ=intake_env(tmp_path / "data"))
    response = Response()
    set_cookie(response, settings, SupporterCookie(settings.secret), "token")
    assert "Secure" in response.headers["set-cookie"] and "Path=/intake" in response.headers["set-cookie"]


# -- counts.json --------------------------------------------------------------------------------------------


def test_counts_json_shape_etag_and_304(running: Running, client: httpx.Client) -> None:
    empty = client.get("/counts.json")
    assert empty.status_code == 200 and empty.headers["content-type"] == "application/json"
    assert empty.json()["ideas"] == {} and empty.headers["cache-control"] == "public, max-age=60"
    for slug in (OTHER_IDEA, OPEN_IDEA, OPEN_IDEA):
        post(client, slug, as_json=True)
    answer = client.get("/counts.json")
    document = answer.json()
    assert list(document) == ["generated_at", "ideas"] and list(document["ideas"]) == sorted(document["ideas"])
    assert document["ideas"] == {OPEN_IDEA: 2, OTHER_IDEA: 1}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["generated_at"])
    generated = dt.datetime.fromisoformat(document["generated_at"])
    assert abs(generated - running.settings.clock.now()) < dt.timedelta(minutes=5), "the intake's clock, in UTC"
    etag = answer.headers["etag"]
    assert etag != empty.headers["etag"] and re.fullmatch(r'"[0-9a-f]{32}"', etag)

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = client.get("/counts.json", headers={"If-None-Match": header})
        assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag, header
    assert client.get("/counts.json", headers={"If-None-Match": '"stale"'}).status_code == 200

    assert client.post("/ideas", data=IDEA).status_code == 303  # the store changes, the counts do not: the same document
    assert client.get("/counts.json").headers["etag"] == etag
    cookie = cookie_of(post(client, OTHER_IDEA, as_json=True))
    changed = client.get("/counts.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["ideas"] == {OPEN_IDEA: 2, OTHER_IDEA: 2}, "a new count, a new ETag"
    post(client, OTHER_IDEA, "withdraw", cookie, as_json=True)
    assert client.get("/counts.json").json()["ideas"] == {OPEN_IDEA: 2, OTHER_IDEA: 1}


def test_counts_json_may_be_read_by_the_sites_script_only(running: Running) -> None:
    with httpx.Client(base_url=running.url, timeout=30) as client:
        own = client.get("/counts.json", headers={"Origin": running.url})
        assert own.headers["access-control-allow-origin"] == running.url and own.headers["vary"] == "Origin"
        foreign = client.get("/counts.json", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers
        cached = client.get("/counts.json", headers={"Origin": running.url, "If-None-Match": own.headers["etag"]})
        assert cached.status_code == 304 and cached.headers["access-control-allow-origin"] == running.url
        assert "access-control-allow-origin" not in client.get("/counts.json").headers


# -- consistency ----------------------------------------------------------------------------------------------


def test_rows_and_counts_stay_consistent_under_concurrent_posts(running_on: Running) -> None:
    """16 browsers at once, each supporting and withdrawing at random on three ideas: the counts equal the rows,
    and each idea's count is the browsers whose last word on it was "support"."""
    ideas = (OPEN_IDEA, OTHER_IDEA, CLOSING_IDEA)
    running = running_on

    def browser(seed: int) -> dict[str, bool]:
        rng = random.Random(seed)
        last: dict[str, bool] = {}
        cookie = None
        with running.client() as client:
            for _ in range(25):
                idea, support = rng.choice(ideas), rng.random() < 0.6
                answer = post(client, idea, "support" if support else "withdraw", cookie, as_json=True)
                assert answer.status_code == 200, answer.text
                assert answer.json()["supported"] is support
                cookie = cookie or cookie_of(answer)
                last[idea] = support
        return last

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        finals = list(pool.map(browser, range(16)))
    expected = {idea: sum(final.get(idea, False) for final in finals) for idea in ideas}
    with running.client() as client:
        assert counts(client) == {idea: n for idea, n in expected.items() if n}
    rows, total = running.app.state.supports.store.total_rows()  # type: ignore[attr-defined]
    assert rows == total == sum(expected.values())


def test_count_sentences() -> None:
    assert [count_sentence(n) for n in (0, 1, 2, 1234)] == [
        "No one has supported this idea yet",
        "1 person supports this idea",
        "2 people support this idea",
        "1,234 people support this idea",
    ]


def test_two_processes_changing_supports_at_once_keep_rows_and_counts_in_step(database_url: str, tmp_path: Path) -> None:
    """Two replicas' support stores on one database, each committing batches of changes to the same ideas in
    random order: no batch fails (on PostgreSQL, counts are locked in one order, and a deadlock runs the batch again),
    and the rows and counts agree."""
    ideas = [f"idea-{n}" for n in range(8)]
    databases = [connect(database_url, tmp_path / "intake.sqlite3") for _ in range(2)]
    migrate(databases[0])
    stores = [SupportStore(db) for db in databases]

    def replica(index: int) -> None:
        rng = random.Random(index)

        async def burst() -> None:
            changes = [SupportChange(token_hash(f"browser-{rng.randrange(30)}"), (rng.choice(ideas),), rng.random() < 0.7) for _ in range(60)]
            await asyncio.gather(*(stores[index].change(change) for change in changes))

        for _ in range(15):
            asyncio.run(burst())

    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(replica, range(2)))
        rows, total = stores[0].total_rows()
        assert rows == total > 0
    finally:
        for store, db in zip(stores, databases):
            store.close()
            db.close()
