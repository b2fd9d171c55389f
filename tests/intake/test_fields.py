"""Field cleaning and the personal-data flag: invisible-only text is empty, UK phone numbers are found however written."""

from __future__ import annotations

import pytest

from intake.forms import clean_text
from intake.moderation import personal_data


@pytest.mark.parametrize(
    "text",
    [
        "\u200d",
        "\u200c\u200d",
        "\u200b\u2060\ufeff",
        " \u00a0\u3000",
        "\u3164\u115f\u1160\uffa0",
        "\u2800\u034f",
        "\ufe0f\U000e0041\U000e007f",
        "\u180e\u200d\n\u200c",
    ],
)
def test_a_field_of_invisible_characters_is_empty(text: str) -> None:
    assert clean_text(text, multiline=False) == "" and clean_text(text, multiline=True) == ""


@pytest.mark.parametrize("text", ["👩\u200d⚕️ nurses", "می\u200cخواهم", "a\u200db"])
def test_joiners_inside_words_are_kept(text: str) -> None:
    assert clean_text(text, multiline=False) == text


UK_NUMBERS = [
    "+44 20 7946 0018",
    "+442079460018",
    "+44 (0)20 7946 0018",
    "+44.20.7946.0018",
    "+44-20-7946-0018",
    "0044 20 7946 0018",
    "00442079460018",
    "0044 (0)20 7946 0018",
    "0044.20.7946.0018",
    "0044-20-7946-0018",
    "020 7946 0018",
    "02079460018",
    "020.7946.0018",
    "020-7946-0018",
    "(020) 7946 0018",
    "07700 900123",
    "07700.900.123",
    "07700-900-123",
    "+44 7700 900123",
    "0044 7700 900123",
    "01632 960 001",
    "0113 496 0000",
]


@pytest.mark.parametrize("number", UK_NUMBERS)
def test_uk_phone_numbers_are_flagged_in_every_format(number: str) -> None:
    flags = personal_data({"idea": f"Ring me on {number} after six."})
    assert flags and "a UK phone number in ‘idea’" in flags[0].detail, number
    assert number not in flags[0].detail, "the flag does not repeat the number in full"


@pytest.mark.parametrize(
    "text",
    [
        "We had 2026 staff in 12 wards",
        "Ward 7, bay 12, bed 3",
        "Version 1.2.3",
        "Order 12345678",
        "+45 20 7946 0018",
        "0045 20 7946 0018",
        "0.5 of a shift",
    ],
)
def test_other_numbers_are_not_phone_numbers(text: str) -> None:
    assert not any("phone" in flag.detail for flag in personal_data({"idea": text}))
