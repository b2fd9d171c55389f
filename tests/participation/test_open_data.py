"""Open data: /data/ideas.csv, /data/ideas.json, /data/comments.csv, the /data/ page and `consult export`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from generator.cli import main

from .conftest import PROJECT, Content

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
IDEA_COLUMNS = [
    "reference",
    "challenge",
    "challenge_title",
    "title",
    "summary",
    "text",
    "status",
    "submitted",
    "published",
    "tags",
    "role",
    "region",
    "supporters",
    "supports",
    "comments",
    "response",
    "response_by",
    "response_date",
    "url",
]
CONTACT_WORDS = ("email", "e-mail", "phone", "telephone", "address", "contact", "ip", "attribution")


BOM = b"\xef\xbb\xbf"


def excel_text(raw: bytes) -> str:
    """The text as Excel reads a double-clicked CSV file: UTF-8 after a byte order mark, else the PC's code page."""
    return raw[len(BOM) :].decode("utf-8") if raw.startswith(BOM) else raw.decode("cp1252", errors="replace")


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert b"\r\n" in raw and raw.startswith(BOM) and not raw.startswith(BOM * 2)
    return list(csv.DictReader(io.StringIO(excel_text(raw), newline="")))


def expected_idea(doc, challenges: dict[str, str]) -> dict[str, str]:
    meta, response = doc.meta, doc.meta.get("response") or {}
    return {
        "reference": meta["reference"],
        "challenge": meta["challenge"],
        "challenge_title": challenges[meta["challenge"]],
        "title": meta["title"],
        "summary": meta.get("summary", ""),
        "status": meta.get("status", "waiting"),
        "submitted": str(meta["submitted"]),
        "published": str(meta.get("published") or ""),
        "tags": ";".join(meta.get("tags", [])),
        "role": meta.get("role") or "",
        "region": meta.get("region") or "",
        "supporters": str(meta.get("supporters", 1)),
        "response_by": response.get("by", ""),
        "response_date": str(response.get("date", "")),
        "url": f"http://localhost:8000/ideas/{doc.slug}/",
    }


def test_ideas_csv_has_every_idea_with_its_fields(site_dir: Path, content: Content) -> None:
    rows = read_csv(site_dir / "data/ideas.csv")
    assert list(rows[0]) == IDEA_COLUMNS
    challenges = {c.slug: c.meta["title"] for c in content.challenges}
    by_reference = {row["reference"]: row for row in rows}
    assert len(rows) == len(by_reference) == len(content.ideas)
    comment_counts = {i.slug: sum(1 for c in content.comments if c.meta["target"] == f"idea:{i.slug}") for i in content.ideas}
    for doc in content.ideas:
        row = by_reference[doc.meta["reference"]]
        assert {k: row[k] for k in expected_idea(doc, challenges)} == expected_idea(doc, challenges)
        assert row["comments"] == str(comment_counts[doc.slug])
        assert bool(row["response"]) == bool(doc.meta.get("response"))
        assert row["text"] and row["text"].split()[0] in doc.body


def test_ideas_json_matches_the_csv(site_dir: Path, content: Content) -> None:
    document = json.loads((site_dir / "data/ideas.json").read_text(encoding="utf-8"))
    assert document["licence"] == content.site["licence"] and document["licence_url"] == content.site["licence_url"]
    assert document["count"] == len(document["ideas"]) == len(content.ideas)
    rows = read_csv(site_dir / "data/ideas.csv")
    for record, row in zip(document["ideas"], rows, strict=True):
        assert list(record) == IDEA_COLUMNS
        assert record["reference"] == row["reference"] and ";".join(record["tags"]) == row["tags"]
        assert isinstance(record["supporters"], int)
        assert record["supports"] is None and row["supports"] == "", "built without counts: empty, not 0"
    assert set(document["fields"]) == set(IDEA_COLUMNS)


def test_comments_csv_has_every_comment(site_dir: Path, content: Content) -> None:
    rows = read_csv(site_dir / "data/comments.csv")
    assert {r["reference"] for r in rows} == {c.meta["reference"] for c in content.comments}
    by_reference = {r["reference"]: r for r in rows}
    for doc in content.comments:
        row = by_reference[doc.meta["reference"]]
        kind, _, slug = doc.meta["target"].partition(":")
        assert (row["target_type"], row["target"]) == (kind, slug)
        assert row["reply_to"] == (doc.meta.get("reply_to") or "")
        assert row["submitted"] == str(doc.meta["submitted"])


def test_no_contact_detail_anywhere_in_the_data(site_dir: Path) -> None:
    for path in sorted((site_dir / "data").iterdir()):
        text = path.read_text(encoding="utf-8")
        assert not EMAIL.search(text), f"{path.name} has something that looks like an email address"
        if path.suffix == ".csv":
            header = next(csv.reader(io.StringIO(text)))
            assert not [h for h in header if any(word == h or word in h.split("_") for word in CONTACT_WORDS)], header


@pytest.mark.parametrize("name", ["ideas.csv", "comments.csv"])
def test_csv_files_read_in_excel_as_written(site_dir: Path, name: str) -> None:
    """Every cell, pound signs and curly quotes included, reads in Excel exactly as the UTF-8 text it was made from."""
    raw = (site_dir / "data" / name).read_bytes()
    as_excel = list(csv.reader(io.StringIO(excel_text(raw), newline="")))
    as_written = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert as_excel == as_written
    assert as_excel[0][0].isidentifier(), f"{name}: the first heading reads {as_excel[0][0]!r} in Excel"


def test_a_pound_sign_survives_excel(site_dir: Path) -> None:
    text = excel_text((site_dir / "data/ideas.csv").read_bytes())
    assert "£" in text and "Â£" not in text


def test_data_page_describes_fields_and_licence(site_dir: Path, content: Content) -> None:
    page = BeautifulSoup((site_dir / "data/index.html").read_text(encoding="utf-8"), "html.parser")
    main = page.find("main")
    assert main.find("a", href=content.site["licence_url"]).get_text() == content.site["licence"]
    for name in ("ideas.csv", "ideas.json", "comments.csv"):
        assert main.find("a", href=f"/data/{name}") is not None
    assert "Excel" in main.get_text() and "byte order mark" in main.get_text()
    described = {code.get_text() for code in main.find_all("code")}
    assert set(IDEA_COLUMNS) <= described
    footer = page.find("footer")
    assert {a["href"] for a in footer.find_all("a")} >= {"/search/", "/numbers/", "/data/"}


def test_export_writes_the_same_files(site_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--root", str(PROJECT), "export", "--format", "csv", "--format", "json", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("ideas.csv", "comments.csv", "ideas.json"):
        assert (tmp_path / name).read_bytes() == (site_dir / "data" / name).read_bytes(), name


def test_export_one_challenge(tmp_path: Path, content: Content) -> None:
    result = CliRunner().invoke(main, ["--root", str(PROJECT), "export", "--format", "csv", "--challenge", "free-from-bullying", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "ideas.csv")
    assert {r["reference"] for r in rows} == {i.meta["reference"] for i in content.ideas if i.meta["challenge"] == "free-from-bullying"}
    assert {r["challenge"] for r in read_csv(tmp_path / "comments.csv")} == {"free-from-bullying"}
    assert not (tmp_path / "ideas.json").exists()


def test_export_unknown_challenge_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--root", str(PROJECT), "export", "--format", "json", "--challenge", "nope", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "free-from-bullying" in result.output
