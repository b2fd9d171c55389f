"""`clean_text` takes a shortcut for ASCII text (one `str.translate`); it must give what the general loop gives."""

from __future__ import annotations

import random

import pytest

from intake.forms import clean_text

ASCII = "".join(chr(c) for c in range(128))


@pytest.mark.parametrize("multiline", [False, True])
def test_ascii_text_is_cleaned_as_the_general_loop_cleans_it(multiline: bool) -> None:
    rng = random.Random(11)
    samples = [
        ASCII,
        " \t\r\n ",
        "\x00\x7f",
        "a\r\n\r\n\r\n\r\nb",
        *("".join(rng.choice(ASCII + "ab \n\t\r") for _ in range(rng.randint(0, 60))) for _ in range(2000)),
    ]
    for text in samples:
        # A visible non-ASCII letter at the end sends the text through the general loop; an ASCII one, the shortcut.
        general, shortcut = clean_text(text + "é", multiline), clean_text(text + "e", multiline)
        assert general[:-1] == shortcut[:-1] and general[-1] == "é" and shortcut[-1] == "e", repr(text)
        assert clean_text(text, multiline) == shortcut[:-1].rstrip(), repr(text)
