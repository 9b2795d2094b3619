"""Reading drivers' texts as commands: forgiving forms, helpful refusals."""

from __future__ import annotations

import pytest

from controlroom.driver_sms.commands import (
    COMMAND_LIST,
    MAX_TEXT,
    Command,
    CommandKind,
    mask_pins,
    parse_command,
)
from controlroom.errors import CommandNotUnderstood

CODE = "7KQ2-9XWM-4TCZ"


@pytest.mark.parametrize(
    "text",
    [
        f"PU {CODE} 1234",
        "pu 7kq2-9xwm-4tcz 1234",
        "  Pickup   7KQ29XWM4TCZ   1234  ",
        "PICKEDUP 7kq2 9xwm 4tcz 1234",
        "Picked up 7kq2-9xwm-4tcz 1234",
        "pick up 7KQ2-9XWM-4TCZ 1234",
        "PU: 7kq2-9xwm-4tcz 1234.",
        "pu 7KQ2\u20139XWM\u20144TCZ 1234",
        "pu 7KQ2\u200b9XWM 4TCZ 1234!",
        "pu 7kq2.9xwm.4tcz 1234\n",
    ],
)
def test_a_pickup_reads_in_any_case_spacing_and_code_form(text: str) -> None:
    assert parse_command(text) == Command(CommandKind.PICKUP, "1234", CODE)


def test_o_i_and_l_typed_for_digits_are_read_as_digits() -> None:
    command = parse_command("dl lAoB-OCOD-iEo7 2468")

    assert command == Command(CommandKind.DELIVERY, "2468", "1A0B-0C0D-1E07")


@pytest.mark.parametrize("word", ["DL", "delivered", "Deliver"])
def test_a_delivery_reads_with_each_of_its_words(word: str) -> None:
    assert parse_command(f"{word} {CODE} 2468") == Command(
        CommandKind.DELIVERY, "2468", CODE
    )


def test_a_delay_keeps_its_reason_after_the_pin() -> None:
    command = parse_command(f"delay {CODE} 1234 stuck  behind a crash on E6")

    assert command == Command(
        CommandKind.DELAY, "1234", CODE, "stuck behind a crash on E6"
    )


def test_a_delay_reason_never_keeps_the_pin_typed_again() -> None:
    command = parse_command(f"DELAY {CODE} 1234 pin 1234 wrong? gate code 1234")

    assert "1234" not in command.text


def test_help_with_a_pin_carries_the_text_and_help_alone_asks_for_the_list() -> None:
    assert parse_command("help 1234 van will not start") == Command(
        CommandKind.HELP, "1234", None, "van will not start"
    )
    assert parse_command("HELP 1234") == Command(CommandKind.HELP, "1234")
    assert parse_command("Help") == Command(CommandKind.HELP, None)


def test_full_width_letters_and_digits_read_as_plain_ones() -> None:
    text = "ＰＵ ７ＫＱ２－９ＸＷＭ－４ＴＣＺ １２３４"

    assert parse_command(text) == Command(CommandKind.PICKUP, "1234", CODE)


def test_an_unknown_word_is_named_and_the_closest_command_offered() -> None:
    with pytest.raises(CommandNotUnderstood, match=r"^Unknown command 'PIKUP'\. "):
        parse_command(f"PIKUP {CODE} 1234")
    with pytest.raises(CommandNotUnderstood, match="Did you mean PICKUP"):
        parse_command(f"pikup {CODE} 1234")


def test_a_text_starting_with_digits_is_refused_without_repeating_them() -> None:
    with pytest.raises(CommandNotUnderstood) as refused:
        parse_command(f"1234 PU {CODE}")

    assert "1234" not in str(refused.value)
    assert "start with a command word" in str(refused.value)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_text_gets_the_command_list(text: str) -> None:
    with pytest.raises(CommandNotUnderstood, match="empty") as refused:
        parse_command(text)
    assert COMMAND_LIST in str(refused.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("PU", "Add the package code and your PIN"),
        ("PU 1234", "package code is missing or too short"),
        (f"PU {CODE}", "Put your PIN"),
        (f"PU {CODE} 12", "Put your PIN"),
        (f"PU {CODE} abcd", "Put your PIN"),
        (f"PU {CODE} 1234 extra words", "Send only the code and the PIN"),
        (f"DELAY {CODE} 1234", "Say why after the PIN"),
        ("PU 7KQ2-9XWM-4TC8 1234", "has a typo"),
        ("PU 7KQ2-9XWM-4TCU 1234", "'U' does not occur in package codes"),
        ("HELP me please", "Put your PIN right after HELP"),
    ],
)
def test_a_bad_form_says_what_is_missing_and_how_the_command_reads(
    text: str, says: str
) -> None:
    with pytest.raises(CommandNotUnderstood, match=says):
        parse_command(text)


def test_no_refusal_repeats_a_number_typed_in_the_text() -> None:
    texts = ["PU 9876 7KQ2-9XWM-4TCZ", "PU 7KQ2-9XWM 9876", "DL 98765 x", "9876"]

    replies = []
    for text in texts:
        with pytest.raises(CommandNotUnderstood) as refused:
            parse_command(text)
        replies.append(str(refused.value))

    assert [reply for reply in replies if "9876" in reply] == []


def test_a_very_long_text_is_refused_before_it_is_read() -> None:
    text = f"DELAY {CODE} 1234 " + "traffic " * 100

    with pytest.raises(CommandNotUnderstood, match="one command per text"):
        parse_command(text)
    assert len(text) > MAX_TEXT


def test_a_reason_longer_than_the_journal_keeps_is_refused() -> None:
    with pytest.raises(CommandNotUnderstood, match="under 300 characters"):
        parse_command(f"DELAY {CODE} 1234 " + "x" * 301)


def test_emoji_and_other_scripts_in_a_reason_are_kept_as_typed() -> None:
    command = parse_command(f"delay {CODE} 1234 Køen på Ring 3 🚗🚗 står")

    assert command.text == "Køen på Ring 3 🚗🚗 står"


def test_a_look_alike_cyrillic_keyword_is_not_taken_for_a_command() -> None:
    with pytest.raises(CommandNotUnderstood, match="Unknown command 'РU'"):
        parse_command(f"\u0420U {CODE} 1234")


def test_masking_hides_every_pin_shaped_number_and_keeps_the_rest() -> None:
    masked = mask_pins("PU 7kq2-9xwm-4tcz 1234 then 55555 and call 12")

    assert masked == "PU 7kq2-9xwm-4tcz **** then **** and call 12"


def test_masking_a_command_hides_its_pin_even_glued_to_other_text() -> None:
    command = parse_command("HELP 4711 lost pin4711 again")

    assert command.masked("HELP 4711 lost pin4711 again") == (
        "HELP **** lost pin**** again"
    )
