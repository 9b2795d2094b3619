"""BOLT 11 invoices: every example of the spec, and invoices signed here."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from embit import bech32
from embit.util import secp256k1

from controlroom.errors import PaymentError
from controlroom.payments.addresses import Network
from controlroom.payments.bolt11 import decode_invoice
from tests.conftest import SHARED_DATA

EXAMPLES = json.loads(
    (SHARED_DATA / "bitcoin" / "bolt11_examples.json").read_text(encoding="utf-8")
)
COMMON = EXAMPLES["common"]
NETWORK_OF_PREFIX = {"lnbc": Network.MAINNET, "lntb": Network.TESTNET}
# The spec's published test key, used only to sign invoices made in these tests.
SIGNING_KEY = bytes.fromhex(COMMON["signing_priv_key_TEST_ONLY"])
PAYMENT_HASH = bytes.fromhex(COMMON["payment_hash"])
SECRET = bytes(range(32))

# What each invalid example must be refused for, as a person reads it.
INVALID_REASONS = {
    "Same, but adding invalid unknown feature 100": "feature bit 100",
    "Bech32 checksum is invalid.": "checksum does not match",
    "Malformed bech32 string (no 1)": "not a Lightning invoice",
    "Malformed bech32 string (mixed case)": "mixes upper- and lower-case",
    "Signature is not recoverable.": "not recoverable",
    "String is too short.": "too short",
    "Invalid multiplier": "no BOLT 11 multiplier",
    "Invalid sub-millisatoshi precision.": "fraction of a millisatoshi",
    "Missing required `s` field.": "no payment secret",
    "Non canonical signature (high-S) with 'n' field defined": "low-S",
}


def _words(data: bytes) -> list[int]:
    return list(bech32.convertbits(list(data), 8, 5, True) or [])


def _field(tag: str, words: list[int]) -> list[int]:
    return [bech32.CHARSET.index(tag), len(words) // 32, len(words) % 32, *words]


def _int_words(value: int, count: int) -> list[int]:
    return [(value >> (5 * (count - 1 - i))) & 31 for i in range(count)]


def _sign(hrp: str, *fields: list[int], timestamp: int = 1_700_000_000) -> str:
    """Make an invoice signed with the spec's test key (checksum included)."""
    body = _int_words(timestamp, 7) + [word for field in fields for word in field]
    padded = bytes(bech32.convertbits(body, 5, 8, True) or [])
    message = hashlib.sha256(hrp.encode("ascii") + padded).digest()
    signature = secp256k1.ecdsa_sign_recoverable(message, SIGNING_KEY)
    compact, recovery_id = secp256k1.ecdsa_recoverable_signature_serialize_compact(
        signature
    )
    words = body + _words(bytes(compact) + bytes([recovery_id]))
    return str(bech32.bech32_encode(bech32.Encoding.BECH32, hrp, words))


def _standard_fields() -> list[list[int]]:
    return [
        _field("p", _words(PAYMENT_HASH)),
        _field("s", _words(SECRET)),
        _field("d", _words(b"parcel 42")),
    ]


@pytest.mark.parametrize(
    "example", EXAMPLES["valid"], ids=[e["title"][:48] for e in EXAMPLES["valid"]]
)
def test_every_valid_spec_example_decodes_to_the_stated_fields(
    example: dict[str, Any],
) -> None:
    network = NETWORK_OF_PREFIX[example["network_prefix"]]

    invoice = decode_invoice(example["invoice"], network=network)

    fallback = example["fallback_address"]
    assert invoice.network is network
    assert invoice.amount_msat == example["amount_msat"]
    assert invoice.created_at == datetime.fromtimestamp(example["timestamp"], tz=UTC)
    assert invoice.payment_hash == example["payment_hash"]
    assert invoice.description == example["description"]
    assert invoice.description_hash == example["description_hash"]
    assert invoice.expiry_seconds == (example["expiry_seconds"] or 3600)
    assert invoice.min_final_cltv_expiry == (example["min_final_cltv_expiry"] or 18)
    assert invoice.fallback_addresses == ((fallback,) if fallback else ())
    assert bool(invoice.route_hints) is example["has_route_hints"]
    assert invoice.metadata == example["metadata_hex"]
    assert invoice.payee_node_id == example["payee_node_id"]
    assert invoice.payment_secret == COMMON["payment_secret_unless_noted"]


@pytest.mark.parametrize(
    "example", EXAMPLES["invalid"], ids=[e["title"][:48] for e in EXAMPLES["invalid"]]
)
def test_every_invalid_spec_example_is_refused_with_its_reason(
    example: dict[str, Any],
) -> None:
    reason = INVALID_REASONS[example["title"]]

    with pytest.raises(PaymentError, match=reason):
        decode_invoice(example["invoice"], network=Network.MAINNET)


def test_hashed_description_matches_the_text_the_spec_gives() -> None:
    example = next(e for e in EXAMPLES["valid"] if "description_hash_of" in e)
    text = example["description_hash_of"].encode("utf-8")

    invoice = decode_invoice(example["invoice"], network=Network.MAINNET)

    assert invoice.description_hash == hashlib.sha256(text).hexdigest()


def test_amounts_expiry_and_features_are_reported_in_usable_units() -> None:
    coffee = EXAMPLES["valid"][1]
    features = next(
        e for e in EXAMPLES["valid"] if "features 8, 14 and 99" in e["title"]
    )

    invoice = decode_invoice(coffee["invoice"], network=Network.MAINNET)
    featured = decode_invoice(features["invoice"], network=Network.MAINNET)

    assert invoice.amount_sat == 250_000
    assert invoice.expires_at == invoice.created_at + timedelta(seconds=60)
    assert featured.features == {8, 14, 99}


def test_a_sub_satoshi_amount_rounds_up_to_whole_satoshis() -> None:
    example = next(e for e in EXAMPLES["valid"] if e["amount_msat"] == 967878534)

    invoice = decode_invoice(example["invoice"], network=Network.MAINNET)

    assert invoice.amount_sat == 967879


def test_lightning_scheme_and_upper_case_are_accepted() -> None:
    text = EXAMPLES["valid"][0]["invoice"]

    invoice = decode_invoice(f"LIGHTNING:{text.upper()}", network=Network.MAINNET)

    assert invoice.text == text
    assert invoice.description == "Please consider supporting this project"


def test_a_testnet_invoice_is_refused_on_mainnet_naming_its_network() -> None:
    testnet = next(e for e in EXAMPLES["valid"] if e["network_prefix"] == "lntb")

    with pytest.raises(PaymentError, match="This invoice is for testnet"):
        decode_invoice(testnet["invoice"], network=Network.MAINNET)


def test_another_coins_prefix_is_refused() -> None:
    invoice = _sign("lnltc1m", *_standard_fields())

    with pytest.raises(PaymentError, match="no Bitcoin network's"):
        decode_invoice(invoice, network=Network.MAINNET)


def test_an_invoice_signed_here_decodes_with_its_payee_recovered() -> None:
    invoice = _sign("lnbcrt10n", *_standard_fields())

    decoded = decode_invoice(invoice, network=Network.REGTEST)

    assert decoded.amount_msat == 1000
    assert decoded.payee_node_id == COMMON["payee_node_id"]
    assert decoded.description == "parcel 42"


def test_a_signet_invoice_is_not_mistaken_for_testnet() -> None:
    invoice = _sign("lntbs2u", *_standard_fields())

    decoded = decode_invoice(invoice, network=Network.SIGNET)

    assert decoded.network is Network.SIGNET
    assert decoded.amount_msat == 200_000


def test_an_invoice_without_payment_hash_is_refused() -> None:
    fields = _standard_fields()[1:]

    with pytest.raises(PaymentError, match="no payment hash"):
        decode_invoice(_sign("lnbc", *fields), network=Network.MAINNET)


def test_a_payment_hash_of_the_wrong_length_is_skipped_and_so_missing() -> None:
    short_hash = _field("p", _words(PAYMENT_HASH[:31]))
    fields = [short_hash, *_standard_fields()[1:]]

    with pytest.raises(PaymentError, match="no payment hash"):
        decode_invoice(_sign("lnbc", *fields), network=Network.MAINNET)


def test_an_invoice_without_description_or_its_hash_is_refused() -> None:
    fields = _standard_fields()[:2]

    with pytest.raises(PaymentError, match="neither a description nor"):
        decode_invoice(_sign("lnbc", *fields), network=Network.MAINNET)


def test_a_leading_zero_amount_is_refused() -> None:
    invoice = _sign("lnbc01m", *_standard_fields())

    with pytest.raises(PaymentError, match="not a positive whole number"):
        decode_invoice(invoice, network=Network.MAINNET)


def test_a_field_running_past_the_end_is_refused() -> None:
    claims_ten_words = [bech32.CHARSET.index("d"), 0, 10, 1, 2]

    with pytest.raises(PaymentError, match="cut off"):
        decode_invoice(
            _sign("lnbc", *_standard_fields(), claims_ten_words),
            network=Network.MAINNET,
        )


def test_a_named_payee_whose_signature_does_not_match_is_refused() -> None:
    other_payee = bytes.fromhex("02" + "79be667ef9dcbbac55a06295ce870b07" * 2)
    fields = [*_standard_fields(), _field("n", _words(other_payee))]

    with pytest.raises(PaymentError, match="does not match the payee"):
        decode_invoice(_sign("lnbc", *fields), network=Network.MAINNET)


def test_a_named_payee_whose_signature_matches_is_accepted() -> None:
    payee = bytes.fromhex(COMMON["payee_node_id"])
    fields = [*_standard_fields(), _field("n", _words(payee))]

    decoded = decode_invoice(_sign("lnbc", *fields), network=Network.MAINNET)

    assert decoded.payee_node_id == COMMON["payee_node_id"]


def test_an_altered_invoice_recovers_another_payee() -> None:
    original = _sign("lnbc", *_standard_fields())
    hrp, words = original[:4], [bech32.CHARSET.index(c) for c in original[5:-6]]
    words[10] ^= 1  # one bit of the payment hash
    altered = bech32.bech32_encode(bech32.Encoding.BECH32, hrp, words)

    decoded = decode_invoice(altered, network=Network.MAINNET)

    assert decoded.payee_node_id != COMMON["payee_node_id"]


def test_an_expiry_beyond_any_calendar_is_refused() -> None:
    fields = [*_standard_fields(), _field("x", [31] * 20)]

    with pytest.raises(PaymentError, match="more than a century"):
        decode_invoice(_sign("lnbc", *fields), network=Network.MAINNET)
