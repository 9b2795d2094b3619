"""Reading a customer's order text: forgiving, and a helpful reply when not."""

from __future__ import annotations

import pytest

from controlroom.fallback_orders.order_texts import (
    HelpAsked,
    OrderText,
    OrderTextNotUnderstood,
    parse_order_text,
)
from controlroom.fallback_orders.terms import ParcelSize, btc_amount

MEDIUM = OrderText("0155", "0364", ParcelSize.MEDIUM)


@pytest.mark.parametrize(
    "text",
    [
        "ORDER 0155 0364 M",
        "order 0155 0364 m",
        "  Order   0155,0364  medium ",
        "ORDER 0155-0364 M",
        "ORDER from 0155 to 0364 size M",
        "bestill 0155 til 0364 M",
        "ORDER M 0155 0364",
        "ＯＲＤＥＲ ０１５５ ０３６４ Ｍ",
    ],
)
def test_an_order_reads_in_any_case_spacing_and_word_order(text: str) -> None:
    assert parse_order_text(text) == MEDIUM


@pytest.mark.parametrize(
    "text",
    [
        "ORDER 0155 0364 S +4791234567",
        "ORDER 0155 0364 S 91234567",
        "ORDER +4791234567 0155 0364 S",
        "ORDER 0155 0364 S +47 912 34 567",
    ],
)
def test_the_recipients_number_is_read_in_international_form(text: str) -> None:
    assert parse_order_text(text) == OrderText(
        "0155", "0364", ParcelSize.SMALL, "+4791234567"
    )


@pytest.mark.parametrize("text", ["HELP", "help", "info", "PRICE"])
def test_help_asks_for_the_grammar(text: str) -> None:
    assert parse_order_text(text) == HelpAsked()


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("", "Your text was empty"),
        ("ORDER 0155 M", "Give two postcodes of 4 digits, pickup first"),
        ("ORDER 0155 0364 0450 M", r"\(you gave 3\)"),
        ("ORDER 0155 0364", "Give one size: S, M or L"),
        ("ORDER 0155 0364 S L", "Give one size"),
        ("ORDER 0155 0364 XL", "We could not read 'XL'"),
        ("ORDR 0155 0364 M", "Start with ORDER, not 'ORDR'. Did you mean ORDER"),
        ("PU 7KQ2-9XWM-4TCZ 1234", "Start with ORDER, not 'PU'"),
        ("ORDER 0155 0364 M +1234567890123456789", "recipient's number is too"),
    ],
)
def test_a_bad_text_is_answered_with_what_is_wrong_and_how_it_reads(
    text: str, reply: str
) -> None:
    with pytest.raises(OrderTextNotUnderstood, match=reply) as caught:
        parse_order_text(text)

    assert "ORDER 0155 0364 M" in str(caught.value)


def test_a_very_long_text_is_refused_before_it_is_read() -> None:
    with pytest.raises(OrderTextNotUnderstood, match="one short line"):
        parse_order_text("ORDER " + "0155 " * 200)


def test_the_help_reply_names_every_size_and_its_price() -> None:
    with pytest.raises(OrderTextNotUnderstood) as caught:
        parse_order_text("hello")

    assert "S 0.00024000 BTC, M 0.00028000 BTC, L 0.00036000 BTC" in str(caught.value)


@pytest.mark.parametrize(
    ("sat", "btc"), [(0, "0.00000000"), (28_000, "0.00028000"), (1, "0.00000001")]
)
def test_amounts_show_all_eight_decimals(sat: int, btc: str) -> None:
    assert btc_amount(sat) == btc
    assert btc_amount(150_000_000) == "1.50000000"
