"""The rate limit: which address it counts behind proxies, per kind of post, and the 429 it answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import ConsultError
from intake.ratelimit import RateLimiter, TrustedProxies
from intake.settings import IntakeSettings, parse_lookup_rate, parse_rates

from .conftest import IDEA, running_intake

PROXIES = TrustedProxies.parse("10.0.0.5, 192.168.1.0/24 ::1")
COMMENT = {"target": "idea:hot-food-for-staff-working-nights", "comment": "Our ward tried this and it worked well.", "consent": "yes"}


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # an untrusted peer's header is ignored
        ("10.0.0.5", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the client wrote 6.6.6.6; the proxy appended the real one
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1, 192.168.1.20"], "198.51.100.1"),  # two trusted proxies in a row
        ("10.0.0.5", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several headers read in order
        ("10.0.0.5", ["not-an-address, 192.168.1.20"], "not-an-address"),  # a hop that is not an address is nobody we trust
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["192.168.1.20"], "10.0.0.5"),  # nothing but proxies: the proxy itself
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        ("10.0.0.6", ["198.51.100.1"], "10.0.0.6"),
    ],
)
def test_client_address_is_the_right_most_untrusted_hop(peer: str, forwarded: list[str], client: str) -> None:
    assert PROXIES.client_address(peer, forwarded) == client


def test_no_proxy_is_trusted_by_default() -> None:
    assert TrustedProxies.parse("").client_address("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"


def test_a_wrong_proxy_setting_is_named() -> None:
    with pytest.raises(ConsultError, match="CONSULT_INTAKE_TRUSTED_PROXIES: 'proxy.local' is not an IP address"):
        TrustedProxies.parse("10.0.0.1 proxy.local")


def test_rate_limits_per_kind_of_post() -> None:
    assert parse_rates({}) == {"idea": (30, 60.0), "comment": (30, 60.0), "topic": (30, 60.0)}
    rates = parse_rates({"CONSULT_INTAKE_RATE_LIMIT": "100/60", "CONSULT_INTAKE_RATE_LIMIT_IDEAS": "20/600", "CONSULT_INTAKE_RATE_LIMIT_TOPICS": "0"})
    assert rates == {"idea": (20, 600.0), "comment": (100, 60.0), "topic": (0, 60.0)}
    for bad in ("lots", "10/0", "-1/60", "10/x"):
        with pytest.raises(ConsultError, match="CONSULT_INTAKE_RATE_LIMIT_COMMENTS must look like 30/60"):
            parse_rates({"CONSULT_INTAKE_RATE_LIMIT_COMMENTS": bad})


def test_the_limiter_says_how_long_to_wait() -> None:
    limiter = RateLimiter(b"k", 2, 60)
    assert [limiter.wait_for("a"), limiter.wait_for("a")] == [0, 0]
    assert 1 <= limiter.wait_for("a") <= 30, "one post comes back every 30 seconds"
    assert limiter.wait_for("b") == 0, "each address has its own bucket"
    assert RateLimiter(b"k", 0, 60).wait_for("a") == 0, "0 is no limit"


def test_settings_read_the_proxies_and_limits(repo: Path, tmp_path: Path) -> None:
    env = {"CONSULT_INTAKE_DATA": str(tmp_path), "CONSULT_INTAKE_TRUSTED_PROXIES": "10.0.0.5", "CONSULT_INTAKE_RATE_LIMIT_COMMENTS": "5/60"}
    settings = IntakeSettings.from_environment(repo, environ=env)
    assert settings.trusted_proxies.trusts("10.0.0.5") and not settings.trusted_proxies.trusts("127.0.0.1")
    assert settings.rate_limits["comment"] == (5, 60.0) and settings.rate_limits["idea"] == (30, 60.0)


def test_rotating_forwarded_for_does_not_escape_the_limit(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    """No trusted proxies (the default): X-Forwarded-For is ignored, by the intake and by uvicorn alike."""
    with (
        running_intake(repo, site_dir, tmp_path / "data", run_worker=False, CONSULT_INTAKE_RATE_LIMIT="2/60") as running,
        running.client() as client,
    ):
        statuses = [client.post("/ideas", json=IDEA, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(4)]
        limited = client.post("/ideas", data=IDEA, headers={"X-Forwarded-For": "198.51.100.99"})
    assert statuses == [202, 202, 429, 429]
    assert limited.status_code == 429 and "Wait a minute" in limited.text
    assert 1 <= int(limited.headers["Retry-After"]) <= 30


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    env = {"CONSULT_INTAKE_RATE_LIMIT": "2/60", "CONSULT_INTAKE_TRUSTED_PROXIES": "127.0.0.1"}
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, **env) as running, running.client() as client:

        def post(forwarded: str) -> int:
            return client.post("/ideas", json=IDEA, headers={"X-Forwarded-For": forwarded}).status_code

        assert [post("198.51.100.1"), post("198.51.100.1"), post("198.51.100.1")] == [202, 202, 429]
        assert post("198.51.100.2") == 202, "another client behind the same proxy"
        assert post("203.0.113.50, 198.51.100.1") == 429, "a hop the client wrote is not believed"
        refused = client.post("/ideas", json=IDEA, headers={"X-Forwarded-For": "198.51.100.1"})
    assert refused.json()["error"].startswith("You have sent a lot in a short time")
    assert int(refused.headers["Retry-After"]) >= 1


def test_each_kind_of_post_has_its_own_limit(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    env = {"CONSULT_INTAKE_RATE_LIMIT_IDEAS": "1/3600", "CONSULT_INTAKE_RATE_LIMIT_COMMENTS": "3/60"}
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, **env) as running, running.client() as client:
        ideas = [client.post("/ideas", json=IDEA).status_code for _ in range(2)]
        comments = [client.post("/comments", json=COMMENT).status_code for _ in range(4)]
        waiting = client.post("/ideas", json=IDEA)
    assert ideas == [202, 429] and comments == [202, 202, 202, 429]
    assert int(waiting.headers["Retry-After"]) > 3000 and "Wait 60 minutes" in waiting.json()["error"]


def test_status_lookups_are_limited_so_references_cannot_be_guessed_quickly(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    """The status and confirmation pages show what a person sent: looking them up is rate limited too."""
    with (
        running_intake(
            repo, site_dir, tmp_path / "data", run_worker=False, CONSULT_INTAKE_RATE_LIMIT="30/60", CONSULT_INTAKE_RATE_LIMIT_LOOKUPS="3/60"
        ) as running,
        running.client() as client,
    ):
        reference = client.post("/ideas", json=IDEA).json()["reference"]
        pages = [client.get(f"/status/TH-{n}AAAA").status_code for n in range(2)] + [client.get(f"/confirmation/{reference}").status_code]
        limited = client.get(f"/status/{reference}")
        as_json = client.get(f"/status/{reference}", headers={"Accept": "application/json"})
    assert pages == [404, 404, 200]
    assert limited.status_code == 429 and "Wait a minute" in limited.text and IDEA["title"] not in limited.text
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
    assert as_json.status_code == 429 and "error" in as_json.json()


def test_lookup_limit_defaults_and_follows_the_off_switch() -> None:
    assert parse_lookup_rate({}) == (120, 60.0)
    assert parse_lookup_rate({"CONSULT_INTAKE_RATE_LIMIT": "0"}) == (0, 60.0)
    assert parse_lookup_rate({"CONSULT_INTAKE_RATE_LIMIT": "0", "CONSULT_INTAKE_RATE_LIMIT_LOOKUPS": "10/60"}) == (10, 60.0)
    with pytest.raises(ConsultError, match="CONSULT_INTAKE_RATE_LIMIT_LOOKUPS"):
        parse_lookup_rate({"CONSULT_INTAKE_RATE_LIMIT_LOOKUPS": "lots"})
