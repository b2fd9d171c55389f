"""The content reference, generated from the schemas so it can never drift from the code."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .config import SiteConfig
from .loader import CONTENT_DIRS


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        name = " or ".join(_type_name(a) for a in args)
        return f"{name} (optional)" if len(args) < len(typing.get_args(annotation)) else name
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    names = {
        "str": "text",
        "int": "whole number",
        "float": "number",
        "bool": "true / false",
        "date": "date (YYYY-MM-DD)",
        "datetime": "date and time (YYYY-MM-DD HH:MM)",
    }
    name = getattr(annotation, "__name__", str(annotation))
    return names.get(name, name)


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        return "(see site.yml)" if isinstance(value, list) and value else f"`{value!r}`" if not isinstance(value, BaseModel) else ""
    if field.default is PydanticUndefined:
        return "required"
    if isinstance(field.default, enum.Enum):
        return f"`{field.default.value}`"
    return "empty" if field.default in (None, "") else f"`{field.default}`"


def field_rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    """One Markdown table row per key, nested mappings flattened as `parent.key`."""
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = [a for a in (typing.get_args(annotation) or (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        rows.append(f"| `{prefix}{name}` | {_type_name(annotation)} | {_default(field)} | {field.description or ''} |")
        if nested:
            rows.extend(field_rows(nested[0], f"{prefix}{name}."))
    return rows


HEADER = ["| key | type | default | description |", "|---|---|---|---|"]


def site_yml_reference() -> str:
    return "\n".join(HEADER + field_rows(SiteConfig))


def content_reference() -> str:
    parts = [
        "# Content reference",
        "",
        "Generated from the schemas in `generator/schema.py` and `generator/config.py` by `consult reference`.",
        "",
        "## site.yml",
        "",
        site_yml_reference(),
    ]
    for kind, (folder, model, depth) in CONTENT_DIRS.items():
        doc = (model.__doc__ or "").strip().split("\n")[0]
        parts += ["", f"## {kind.title()}", "", doc, "", *HEADER, *field_rows(model)]
    return "\n".join(parts) + "\n"
