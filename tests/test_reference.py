"""The content reference is generated from the schemas and committed up to date."""

from __future__ import annotations

from generator.config import SiteConfig
from generator.loader import CONTENT_DIRS
from generator.reference import content_reference, site_yml_reference

from .conftest import PROJECT


def test_reference_lists_every_schema_field() -> None:
    text = content_reference()
    for _folder, model, _depth in CONTENT_DIRS.values():
        for name in model.model_fields:
            assert f"| `{name}` |" in text, name
    for name in SiteConfig.model_fields:
        assert f"| `{name}` |" in text


def test_committed_reference_is_current() -> None:
    committed = (PROJECT / "docs" / "content-reference.md").read_text()
    assert committed == content_reference(), "run `consult reference > docs/content-reference.md`"


def test_readme_site_yml_table_is_current() -> None:
    assert site_yml_reference() in (PROJECT / "README.md").read_text(), (
        "README's site.yml table is out of date: paste `consult reference`'s site.yml table"
    )
