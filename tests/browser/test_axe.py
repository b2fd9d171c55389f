"""axe-core (pinned in package.json) over every page type: WCAG 2.0/2.1/2.2 A and AA, and best practice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .pages import PAGE_TYPES, PageType

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
    # No rule is switched off. A best-practice rule may be, with the reason beside it:
    # "rules": {"rule-id": {"enabled": False}},  # reason
}

RESULTS: dict[str, list[dict]] = {}


WIDTHS = (1280, 320)
"""Desktop, and the narrowest phone, where the header's menu collapses."""


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def context(browser, request):
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    context.width = request.param
    yield context
    context.close()
    write_summary()


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}\n  {violation['helpUrl']}")
        for node in violation["nodes"]:
            target = " > ".join(json.dumps(t) if not isinstance(t, str) else t for t in node["target"])
            lines.append(f"    - {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def write_summary() -> None:
    from .conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    rows = [f"{'page type':<30} violations  rules"]
    for name, violations in RESULTS.items():
        nodes = sum(len(v["nodes"]) for v in violations)
        rules = ", ".join(f"{v['id']}×{len(v['nodes'])}" for v in violations) or "-"
        rows.append(f"{name:<30} {nodes:>10}  {rules}")
    details = [f"## {name}\n{describe(v)}" for name, v in RESULTS.items() if v]
    Path(ARTIFACTS / "axe.txt").write_text("\n".join(rows) + "\n\n" + "\n\n".join(details) + "\n", encoding="utf-8")


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_axe_finds_no_violations(page_type: PageType, context, live_site, axe_source) -> None:
    page = context.new_page()
    try:
        page_type.open(page, live_site.base_url)
        page.add_script_tag(content=axe_source)
        result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    finally:
        page.close()
    violations = result["violations"]
    RESULTS[f"{page_type.name} @{context.width}px"] = violations
    assert not violations, f"axe-core {result['testEngine']['version']} on {page_type.name} ({page_type.path}):\n{describe(violations)}"


def test_axe_harness_reports_a_known_violation(context, axe_source) -> None:
    """Guards against a silent pass: axe must see an image without a text alternative."""
    page = context.new_page()
    try:
        page.set_content('<!doctype html><html lang="en"><title>t</title><main><img src="data:,"></main></html>')
        page.add_script_tag(content=axe_source)
        result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    finally:
        page.close()
    assert "image-alt" in {v["id"] for v in result["violations"]}
