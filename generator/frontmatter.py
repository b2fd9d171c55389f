"""Split a Markdown file into YAML front matter and body, keeping line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


class FrontMatterError(ValueError):
    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


@dataclass
class Document:
    data: dict[str, Any]
    body: str
    key_lines: dict[str, int] = field(default_factory=dict)
    """1-based line of each top-level key in the file."""
    body_line: int = 1


SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (about ten times faster), else the pure-Python one."""


def _safe_loader(text: str) -> yaml.SafeLoader:
    return SafeLoader(text)


def parse(text: str) -> Document:
    """Parse `---\\n<yaml>\\n---\\n<body>`; raise FrontMatterError with a line number."""
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise FrontMatterError(1, "the file must start with a line '---' that opens the YAML front matter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise FrontMatterError(1, "the front matter is not closed: add a line '---' after the last key") from None
    yaml_text = "\n".join(lines[1:end])
    data, key_lines = load_yaml_mapping(yaml_text, first_line=2)
    body = "\n".join(lines[end + 1 :]).strip("\n") + "\n"
    return Document(data=data, body=body, key_lines=key_lines, body_line=end + 2)


def load_yaml_mapping(yaml_text: str, first_line: int = 1) -> tuple[dict[str, Any], dict[str, int]]:
    """Safe-load a YAML mapping and record the line of each top-level key."""
    loader = _safe_loader(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(
                first_line, f"expected keys and values (a YAML mapping), found a {type(node).__name__.removesuffix('Node').lower()}"
            )
        key_lines = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines[str(key_node.value)] = key_node.start_mark.line + first_line
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and mark is not None and mark.line >= yaml_text.count("\n"):
            mark = exc.context_mark  # ran off the end: point at where the unclosed part began
        line = (mark.line if mark else 0) + first_line
        raise FrontMatterError(line, f"YAML syntax: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(first_line, f"YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise FrontMatterError(first_line, "expected keys and values (a YAML mapping)")
    return data, key_lines


def dump(data: dict[str, Any], body: str) -> str:
    """Write front matter with yaml.safe_dump (never string formatting) followed by the body."""
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return f"---\n{front}---\n{body.rstrip()}\n"
