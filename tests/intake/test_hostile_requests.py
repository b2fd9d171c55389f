"""Property tests over HTTP: whatever arrives at any intake route, the answer is never a 5xx and the service stays healthy.

Hypothesis throws arbitrary bodies, content types, JSON shapes (deep nesting,
huge numbers, wrong types), form encodings, methods, paths and query strings at
every route of a running intake (and at the GitHub webhook, signed and not),
then asks /healthz after each request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from intake.forms import FIELDS, HONEYPOT
from intake.webhook import github_webhook_route, signature

from .conftest import Running, free_port, make_repo, running_intake, serve_app

FIELD_NAMES = st.sampled_from(sorted({name for names in FIELDS.values() for name in names} | {HONEYPOT, "action"})) | st.text(max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=200)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20
)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.strip)

JSON_BODIES = st.one_of(
    st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=10).map(lambda d: json.dumps(d).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 30_000).map(lambda n: b"[" * n),
    st.integers(1, 30_000).map(lambda n: b'{"title": ' + b"[" * n + b"]" * n + b"}"),
    st.integers(1, 6_000).map(lambda n: b'{"title": ' + b"9" * n + b"}"),
    st.integers(1, 6_000).map(lambda n: b'{"title": 1e' + b"9" * n + b"}"),
    st.sampled_from([b"NaN", b"-Infinity", b'{"title": NaN}', b'{"a": 1, "a": 2}', b'"\\ud800"', b"\xef\xbb\xbf{}", b"{}" * 3]),
)
FORM_BODIES = st.one_of(
    st.dictionaries(FIELD_NAMES, st.text(max_size=300), max_size=10).map(lambda d: urlencode(d).encode()),
    st.lists(st.tuples(FIELD_NAMES, st.text(max_size=20)), max_size=80).map(lambda pairs: urlencode(pairs).encode()),
    st.text(st.sampled_from("=&%+;aZ0\x00\u00e9\ufeff"), max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
BODIES = JSON_BODIES | FORM_BODIES | st.binary(max_size=500)
CONTENT_TYPES = (
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
            "application/x-www-form-urlencoded; charset=utf-16",
            "APPLICATION/JSON",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ]
    )
    | HEADER_TEXT
)
ACCEPTS = st.sampled_from(["text/html", "application/json", "*/*", "application/json, text/html", ""]) | HEADER_TEXT
QUERY_TEXT = st.text(max_size=80)


@st.composite
def requests(draw: st.DrawFn, origin: str) -> dict[str, Any]:
    """One request for any route of the intake: a method, a path with its query, headers and a body."""
    kind = draw(st.sampled_from(["post", "status", "status-query", "healthz", "support-page", "other"]))
    headers = {"Accept": draw(ACCEPTS)}
    headers["Origin"] = draw(st.sampled_from([origin, origin, origin, "null", "https://evil.example"]) | HEADER_TEXT)
    if draw(st.booleans()):
        headers["X-Forwarded-For"] = draw(HEADER_TEXT)
    if kind == "post":
        headers["Content-Type"] = draw(CONTENT_TYPES)
        return {
            "method": "POST",
            "url": draw(st.sampled_from(["/ideas", "/comments", "/topics", "/supports"])),
            "headers": headers,
            "content": draw(BODIES),
        }
    if kind == "status":
        return {"method": "GET", "url": "/status/" + quote(draw(QUERY_TEXT), safe=draw(st.sampled_from(["", "/"]))), "headers": headers}
    if kind == "status-query":
        query = draw(st.dictionaries(st.sampled_from(["reference", "ref", ""]) | QUERY_TEXT, QUERY_TEXT, max_size=3))
        return {"method": "GET", "url": "/status?" + urlencode(query), "headers": headers}
    if kind == "support-page":
        if draw(st.booleans()):
            headers["Cookie"] = "consult_supporter=" + draw(HEADER_TEXT)
        path = draw(
            st.sampled_from(["/supports/hot-food-for-staff-working-nights", "/counts.json"]) | QUERY_TEXT.map(lambda t: "/supports/" + quote(t))
        )
        return {"method": "GET", "url": path, "headers": headers}
    if kind == "healthz":
        return {"method": "GET", "url": "/healthz?" + quote(draw(QUERY_TEXT)), "headers": headers}
    method = draw(st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "POST"]))
    path = draw(
        st.sampled_from(["/ideas", "/comments", "/topics", "/status", "/healthz", "/", "/webhooks/github", "/supports", "/counts.json"])
        | QUERY_TEXT.map(lambda t: "/" + quote(t))
    )
    return {"method": method, "url": path, "headers": headers, "content": draw(st.binary(max_size=100))}


@pytest.fixture(scope="module")
def target(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    base = tmp_path_factory.mktemp("hostile-requests")
    with running_intake(make_repo(base / "repo"), site_dir, base / "data", run_worker=False, CONSULT_INTAKE_RATE_LIMIT="1000/1") as running:
        yield running


def assert_healthy(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_request_gets_a_5xx(target: Running, data: st.DataObject) -> None:
    request = data.draw(requests(target.url))
    with httpx.Client(base_url=target.url, timeout=30) as client:
        response = client.request(**request)
        assert response.status_code < 500, (request, response.status_code, response.text[:500])
        if response.status_code >= 400 and request["method"] != "HEAD":
            assert response.content, "a refusal says what was wrong"
        assert_healthy(client)


SECRET = b"property-secret"


@pytest.fixture(scope="module")
def webhook() -> Iterator[str]:
    seen: list[tuple[str, object]] = []
    app = Starlette(routes=[github_webhook_route(lambda ref, state: seen.append((ref, state)), None, secret=SECRET)])
    with serve_app(app, free_port()) as url:
        yield url


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=JSON_BODIES | st.binary(max_size=300), signed=st.booleans(), event=st.sampled_from(["pull_request", "ping", "push"]) | HEADER_TEXT)
def test_the_webhook_never_gives_a_5xx(webhook: str, body: bytes, signed: bool, event: str) -> None:
    """Even a correctly signed delivery of any shape: a 4xx or a 2xx, never a 500."""
    headers = {"x-github-event": event, "content-type": "application/json"}
    if signed:
        headers["x-hub-signature-256"] = signature(SECRET, body)
    with httpx.Client(base_url=webhook, timeout=30) as client:
        response = client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code < 500, (body[:200], response.text[:300])
    assert signed or response.status_code == 401


PULL_SHAPES = [
    {"action": "closed", "pull_request": "not an object"},
    {"action": "closed", "pull_request": {"head": "submissions/TH-AAAAA"}},
    {"action": "closed", "pull_request": {"head": {"ref": 7}}},
    {"action": "closed", "pull_request": {"head": {"ref": "submissions/TH-AAAAA"}, "merged": True, "body": ["x"]}},
    {
        "action": "closed",
        "pull_request": {
            "head": {"ref": "submissions/x"},
            "merged": True,
            "number": "seven",
            "body": "<!-- consult:references TH-AAAAA TH-BBBBB -->",
        },
    },
]


@pytest.mark.parametrize("payload", PULL_SHAPES)
def test_signed_deliveries_of_odd_shapes(webhook: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = {"x-github-event": "pull_request", "content-type": "application/json", "x-hub-signature-256": signature(SECRET, body)}
    with httpx.Client(base_url=webhook, timeout=30) as client:
        assert client.post("/webhooks/github", content=body, headers=headers).status_code < 500
