"""The plain-text copy of each Notify template (intake/notify/templates/<name>.txt), rendered for the outbox.

Each file is what an editor pastes into GOV.UK Notify: a first line `Subject: …`,
a blank line, then the message, with Notify's `((placeholders))`. The outbox
fills them in the way Notify does, so a newcomer reads what would be sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
PLACEHOLDER = re.compile(r"\(\(([A-Za-z0-9_]+)\)\)")


@dataclass(frozen=True)
class TemplateText:
    name: str
    subject: str
    body: str

    @property
    def placeholders(self) -> set[str]:
        """Every `((name))` in the subject and the message."""
        return set(PLACEHOLDER.findall(self.subject)) | set(PLACEHOLDER.findall(self.body))

    def render(self, personalisation: Mapping[str, str]) -> tuple[str, str]:
        """(subject, body) with every placeholder filled; KeyError names a missing one."""
        missing = sorted(self.placeholders - set(personalisation))
        if missing:
            raise KeyError(f"the {self.name} template needs personalisation {', '.join(missing)}")

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: personalisation[m.group(1)], text)

        return fill(self.subject), fill(self.body)


def load_text(name: str, folder: Path = TEMPLATE_DIR) -> TemplateText:
    """Read one template's text; ValueError when the file does not start with `Subject: …` and a blank line."""
    path = folder / f"{name}.txt"
    first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    if not first.startswith("Subject: ") or not rest.startswith("\n"):
        raise ValueError(f"{path} must start with a line 'Subject: …' and then a blank line")
    return TemplateText(name, first.removeprefix("Subject: ").strip(), rest[1:].rstrip("\n") + "\n")
