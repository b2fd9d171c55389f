"""Comment threads (`views._comment_threads`): each target's comments oldest first, replies under their parent."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

from generator.loader import Site
from generator.views import _comment_threads


def comment(reference: str, target: str, day: int, reply_to: str | None = None) -> Any:
    meta = SimpleNamespace(reference=reference, target=target, submitted=dt.date(2026, 3, day), reply_to=reply_to)
    return SimpleNamespace(meta=meta, slug=reference.lower(), kind="comment", digest="")  # an entry made from no file's text


def test_each_targets_comments_are_oldest_first_with_replies_under_their_parent() -> None:
    comments = [
        comment("C-5", "idea:rotas", 5),
        comment("C-2", "idea:rotas", 2),
        comment("C-9", "idea:rotas", 9, reply_to="C-2"),
        comment("C-3", "idea:rotas", 3, reply_to="C-2"),
        comment("C-4", "idea:paper", 4),
        comment("C-1", "idea:paper", 4),  # the same day: by reference
        comment("C-7", "topic:shifts", 7),
    ]
    site = cast(Site, SimpleNamespace(comments={c.meta.reference: c for c in reversed(comments)}))
    threads = _comment_threads(site)
    shown = {target: [(c.meta.reference, [r.meta.reference for r in c.replies]) for c in thread] for target, thread in threads.items()}
    assert shown == {
        "idea:rotas": [("C-2", ["C-3", "C-9"]), ("C-5", [])],
        "idea:paper": [("C-1", []), ("C-4", [])],
        "topic:shifts": [("C-7", [])],
    }
