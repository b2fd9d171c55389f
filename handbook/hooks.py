"""MkDocs hook: the content reference page is generated from the schemas at build time, so it never drifts."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files


def on_files(files: Files, config: Any, **_: Any) -> Files:
    """Add reference.md, made by generator.reference.content_reference()."""
    from generator.reference import content_reference

    intro = (
        "\n\n!!! info \"Generated\"\n    This page is written from the code's own schemas every time the handbook is built. "
        "`consult check` tells you when a file breaks one of these rules, naming the file, line and key.\n"
    )
    text = content_reference()
    heading, _, rest = text.partition("\n")
    files.append(File.generated(config, "reference.md", content=heading + intro + rest))
    return files
