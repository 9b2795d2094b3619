"""SMS segmenting per 3GPP TS 23.038 and TS 23.040, as the composer uses it."""

from __future__ import annotations

import random

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest

from controlroom.errors import MessagingError, SmsTooLong
from controlroom.messaging.gsm import is_gsm_character, is_typographic
from controlroom.messaging.segments import (
    Encoding,
    gsm_suggestion,
    offer_gsm,
    plan_sms,
    sms_cost,
)

# Characters the reconstruction test mixes: plain GSM, extension table
# (two septets), typography, Cyrillic, and emoji beyond the BMP.
_MIXED_POOL = "abcXYZ 019.,\n\r@£Øå€[]{}^~|\\’–…жЯ😀📦🚚"


def test_euro_that_would_straddle_the_boundary_moves_whole_to_segment_two() -> None:
    text = "A" * 152 + "€" + "B" * 10

    plan = plan_sms(text)

    assert plan.encoding is Encoding.GSM7
    assert [s.text for s in plan.segments] == ["A" * 152, "€" + "B" * 10]
    assert [s.units for s in plan.segments] == [152, 12]


def test_emoji_that_would_straddle_the_boundary_moves_whole_to_segment_two() -> None:
    text = "x" * 66 + "😀" + "y" * 10

    plan = plan_sms(text)

    assert plan.encoding is Encoding.UCS2
    assert plan.ucs2_character == "😀"
    assert [s.text for s in plan.segments] == ["x" * 66, "😀" + "y" * 10]
    assert [s.units for s in plan.segments] == [66, 12]


def test_typographic_dash_and_apostrophe_are_offered_in_gsm_spelling() -> None:
    text = "Delay – we’re on it"

    offer = offer_gsm(text)

    assert plan_sms(text).encoding is Encoding.UCS2
    assert gsm_suggestion(text) == "Delay - we're on it"
    assert offer is not None
    assert (offer.segments_now, offer.segments_offered) == (1, 1)
    assert plan_sms(offer.text).encoding is Encoding.GSM7


def test_gsm_offer_counts_the_segments_it_saves() -> None:
    text = "We’re sorry – " + "a" * 90

    offer = offer_gsm(text)

    assert offer is not None
    assert (offer.segments_now, offer.segments_offered) == (2, 1)
    assert offer.segments_saved == 1


def test_typographic_spaces_and_tabs_become_plain_spaces_in_the_offer() -> None:
    text = "Depot\u00a0Nord\tclosed\nuntil 14:00"

    assert gsm_suggestion(text) == "Depot Nord closed\nuntil 14:00"


@pytest.mark.parametrize(
    "text",
    [
        "Delay - we're on it",
        "Parcel 😀 – on its way",
        "Доставка – скоро",
        "Gdańsk – closed",
    ],
    ids=["already-gsm", "emoji", "cyrillic", "letter-without-gsm-form"],
)
def test_no_gsm_spelling_is_offered_unless_typography_alone_forces_ucs2(
    text: str,
) -> None:
    assert gsm_suggestion(text) is None


def test_no_gsm_spelling_is_offered_when_ellipses_would_add_segments() -> None:
    text = "…" * 70

    assert plan_sms(text).segment_count == 1
    assert offer_gsm(text) is None


@pytest.mark.parametrize(
    ("text", "encoding", "units"),
    [
        ("a" * 160, Encoding.GSM7, [160]),
        ("a" * 161, Encoding.GSM7, [153, 8]),
        ("a" * 158 + "€", Encoding.GSM7, [160]),
        ("a" * 159 + "€", Encoding.GSM7, [153, 8]),
        ("ж" * 70, Encoding.UCS2, [70]),
        ("ж" * 71, Encoding.UCS2, [67, 4]),
        ("ж" * 68 + "😀", Encoding.UCS2, [70]),
        ("ж" * 69 + "😀", Encoding.UCS2, [67, 4]),
    ],
    ids=[
        "160-septets",
        "161-septets",
        "160-with-escape",
        "161-with-escape",
        "70-units",
        "71-units",
        "70-with-surrogates",
        "71-with-surrogates",
    ],
)
def test_single_and_multipart_limits_are_160_153_and_70_67(
    text: str, encoding: Encoding, units: list[int]
) -> None:
    plan = plan_sms(text)

    assert plan.encoding is encoding
    assert [segment.units for segment in plan.segments] == units


@pytest.mark.parametrize(
    ("before", "first_segment", "second_segment"),
    [
        (151, "a" * 151 + "€", "a" * 20),
        (152, "a" * 152, "€" + "a" * 20),
        (153, "a" * 153, "€" + "a" * 20),
    ],
    ids=["pair-ends-at-153", "pair-would-be-153-154", "pair-starts-at-154"],
)
def test_an_escape_pair_near_septet_153_is_never_split(
    before: int, first_segment: str, second_segment: str
) -> None:
    plan = plan_sms("a" * before + "€" + "a" * 20)

    assert [s.text for s in plan.segments] == [first_segment, second_segment]


def test_a_run_of_emoji_splits_between_surrogate_pairs_only() -> None:
    text = "😀" * 40

    plan = plan_sms(text)

    assert [s.text for s in plan.segments] == ["😀" * 33, "😀" * 7]
    assert [s.units for s in plan.segments] == [66, 14]


def test_line_feed_and_carriage_return_count_one_septet_each() -> None:
    plan = plan_sms("Depot\r\nNord")

    assert plan.encoding is Encoding.GSM7
    assert plan.units == 11


def test_segments_put_back_together_give_the_original_text() -> None:
    rng = random.Random(5)
    texts = [
        "".join(rng.choices(_MIXED_POOL, k=rng.randint(1, 300))) for _ in range(200)
    ]
    texts += ["".join(rng.choices(_MIXED_POOL[:24], k=700)) for _ in range(50)]

    plans = [plan_sms(text) for text in texts]

    assert all("".join(s.text for s in p.segments) == p.text for p in plans)
    assert {p.encoding for p in plans} == {Encoding.GSM7, Encoding.UCS2}


def test_each_gsm_segment_encodes_to_its_septets_with_the_gsm0338_codec() -> None:
    rng = random.Random(38)
    gsm_pool = [char for char in _MIXED_POOL if is_gsm_character(char)]
    # 161 septets or more, so every plan is multipart.
    texts = [
        "".join(rng.choices(gsm_pool, k=rng.randint(161, 900))) for _ in range(200)
    ]

    segments = [s for text in texts for s in plan_sms(text).segments]

    # The codec writes one octet per septet and 0x1B before an extension
    # character, so its length is the septet count.
    assert all(len(s.text.encode("gsm03.38")) == s.units for s in segments)
    assert all(s.units <= 153 for s in segments)
    assert all(s.text.encode("gsm03.38").decode("gsm03.38") == s.text for s in segments)


def test_each_ucs2_segment_encodes_to_whole_utf16_within_its_units() -> None:
    rng = random.Random(67)
    pool = "ab😀📦жЯ"
    # 71 code units or more, so every plan is multipart.
    texts = ["".join(rng.choices(pool, k=rng.randint(71, 300))) for _ in range(100)]

    segments = [s for text in texts for s in plan_sms(text).segments]

    assert all(len(s.text.encode("utf-16-be")) == 2 * s.units for s in segments)
    assert all(s.units <= 67 for s in segments)


def test_room_left_counts_toward_the_next_segment() -> None:
    assert plan_sms("a" * 150).units_left == 10
    assert plan_sms("a" * 161).units_left == 145
    assert plan_sms("ж" * 71).units_left == 63


def test_plan_names_what_it_counts() -> None:
    assert plan_sms("ok").unit_name == "septets"
    assert plan_sms("ок").unit_name == "UTF-16 code units"


@pytest.mark.parametrize("text", ["", "  \n "], ids=["empty", "blank"])
def test_an_empty_message_is_refused(text: str) -> None:
    with pytest.raises(MessagingError, match="message is empty"):
        plan_sms(text)


def test_ten_segments_are_allowed_and_eleven_refused_with_the_cut_needed() -> None:
    assert plan_sms("a" * 1530).segment_count == 10

    with pytest.raises(SmsTooLong, match=r"11 SMS segments.*at least 1 septet\.") as e:
        plan_sms("a" * 1531)

    assert (e.value.segments, e.value.limit) == (11, 10)


def test_a_too_long_ucs2_message_says_the_gsm_spelling_would_fit() -> None:
    text = "We’re sorry – " + "a" * 700

    with pytest.raises(SmsTooLong, match=r"because of '’'.*fit in 5 segments"):
        plan_sms(text)


def test_a_caller_may_set_a_lower_segment_limit() -> None:
    with pytest.raises(SmsTooLong, match="the limit is 1"):
        plan_sms("a" * 161, max_segments=1)


def test_a_lone_surrogate_is_refused_with_its_position() -> None:
    with pytest.raises(MessagingError, match=r"position 3 \(U\+D83D\)"):
        plan_sms("abc\ud83d")


def test_cost_is_segments_times_price_times_recipients_in_minor_units() -> None:
    plan = plan_sms("a" * 161)

    assert sms_cost(plan, 45) == 90
    assert sms_cost(plan, 45, recipients=120) == 10_800


@pytest.mark.parametrize(
    ("price", "recipients"),
    [(0.45, 1), (-1, 1), (True, 1), (45, -2)],
    ids=["float", "negative", "bool", "negative-recipients"],
)
def test_cost_refuses_prices_that_are_not_whole_minor_units(
    price: int, recipients: int
) -> None:
    plan = plan_sms("ok")

    with pytest.raises(MessagingError, match="whole number of øre or cents"):
        sms_cost(plan, price, recipients=recipients)


def test_alphabet_membership_and_typography_are_told_apart() -> None:
    assert [is_gsm_character(c) for c in "a€\n’😀"] == [True, True, True, False, False]
    assert [is_typographic(c) for c in "’–…a"] == [True, True, True, False]
