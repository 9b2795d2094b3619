"""Addresses: every BIP173/BIP350 vector and Bitcoin Core's per-network list."""

from __future__ import annotations

import json
from typing import Any

import pytest
from embit import base58

from controlroom.errors import PaymentError
from controlroom.payments.addresses import (
    AddressKind,
    Checksum,
    Network,
    address_from_script,
    decode_bech32,
    parse_address,
)
from tests.conftest import SHARED_DATA

BITCOIN = SHARED_DATA / "bitcoin"


def _load(name: str) -> Any:
    return json.loads((BITCOIN / name).read_text(encoding="utf-8"))


BECH32 = _load("bip173_bip350_vectors.json")
SUPERSEDED = BECH32["bip173_valid_segwit_addresses_SUPERSEDED_for_v1plus"]
BY_NETWORK = _load("addresses_by_network.json")["addresses"]

# What each BIP's stated reason must turn into, in words a person can act on.
ADDRESS_REFUSALS = {
    "Invalid human-readable part": "no Bitcoin network",
    "Invalid checksum": "checksum does not match",
    "Invalid witness version": "witness version 17",
    "Invalid program length": "2 to 40 bytes",
    "Invalid program length (1 byte)": "2 to 40 bytes, not 1",
    "Invalid program length (41 bytes)": "2 to 40 bytes, not 41",
    "Invalid program length for witness version 0 (per BIP141)": "20 or 32 bytes",
    "Mixed case": "mixes upper- and lower-case",
    "zero padding of more than 4 bits": "invalid padding",
    "Non-zero padding in 8-to-5 conversion": "invalid padding",
    "Empty data section": "no witness version",
    "Invalid checksum (Bech32 instead of Bech32m)": "requires bech32m",
    "Invalid checksum (Bech32m instead of Bech32)": "keeps bech32 for version 0",
    "Invalid character in checksum": "a character bech32 never uses",
}
STRING_REFUSALS = {
    "HRP character out of range": "space, control or non-ASCII",
    "overall max length exceeded": "at most 90",
    "No separator character": "no network prefix",
    "Empty HRP": "no network prefix",
    "empty HRP": "no network prefix",
    "Invalid data character": "a character bech32 never uses",
    "Too short checksum": "too short",
    "Invalid character in checksum": "never uses|non-ASCII",
    "checksum calculated with uppercase form of HRP": "checksum does not match",
}
CHAINS = {"main": Network.MAINNET, "regtest": Network.REGTEST}


def _network_of(address: str) -> Network:
    return Network.TESTNET if address.lower().startswith("tb1") else Network.MAINNET


def _by_address(entries: list[dict[str, str]]) -> Any:
    return pytest.mark.parametrize(
        "entry", entries, ids=[e["address"][:24] for e in entries]
    )


@_by_address(BECH32["bip350_valid_segwit_addresses"])
def test_every_bip350_valid_address_parses_to_its_script(
    entry: dict[str, str],
) -> None:
    network = _network_of(entry["address"])

    address = parse_address(entry["address"], network=network)

    assert address.script_pubkey == entry["scriptPubKey"]
    assert address.text == entry["address"].lower()
    assert address.network is network


@_by_address(BECH32["bip350_valid_segwit_addresses"])
def test_every_bip350_valid_script_encodes_back_to_its_address(
    entry: dict[str, str],
) -> None:
    network = _network_of(entry["address"])

    address = address_from_script(bytes.fromhex(entry["scriptPubKey"]), network=network)

    assert address.text == entry["address"].lower()


@_by_address(
    BECH32["bip173_invalid_segwit_addresses"]
    + BECH32["bip350_invalid_segwit_addresses"]
)
def test_every_invalid_address_vector_is_refused_with_its_reason(
    entry: dict[str, str],
) -> None:
    network = _network_of(entry["address"])

    with pytest.raises(PaymentError, match=ADDRESS_REFUSALS[entry["reason"]]):
        parse_address(entry["address"], network=network)


@_by_address([e for e in SUPERSEDED if e["scriptPubKey"].startswith("00")])
def test_bip173_version_0_addresses_stay_valid(entry: dict[str, str]) -> None:
    address = parse_address(entry["address"], network=_network_of(entry["address"]))

    assert address.script_pubkey == entry["scriptPubKey"]


@_by_address([e for e in SUPERSEDED if not e["scriptPubKey"].startswith("00")])
def test_bip173_version_1_plus_addresses_are_refused_since_bip350(
    entry: dict[str, str],
) -> None:
    with pytest.raises(PaymentError, match="requires bech32m"):
        parse_address(entry["address"], network=_network_of(entry["address"]))


@pytest.mark.parametrize(
    ("text", "checksum"),
    [(s, Checksum.BECH32) for s in BECH32["bip173_valid_bech32_strings"]]
    + [(s, Checksum.BECH32M) for s in BECH32["bip350_valid_bech32m_strings"]],
)
def test_every_valid_bech32_string_decodes_with_its_checksum_kind(
    text: str, checksum: Checksum
) -> None:
    decoded = decode_bech32(text)

    assert decoded.checksum is checksum
    assert decoded.hrp == text[: text.rfind("1")].lower()


@pytest.mark.parametrize(
    "text",
    BECH32["bip173_valid_bech32_strings"] + BECH32["bip350_valid_bech32m_strings"],
)
def test_a_valid_bech32_string_that_is_no_address_is_refused(text: str) -> None:
    with pytest.raises(PaymentError, match=r"checksum|no Bitcoin network"):
        parse_address(text, network=Network.MAINNET)


@pytest.mark.parametrize(
    "entry",
    BECH32["bip173_invalid_bech32_strings"] + BECH32["bip350_invalid_bech32m_strings"],
    ids=repr,
)
def test_every_invalid_bech32_string_is_refused_with_its_reason(
    entry: dict[str, str],
) -> None:
    with pytest.raises(PaymentError, match=STRING_REFUSALS[entry["reason"]]):
        decode_bech32(entry["string"])


@pytest.mark.parametrize(
    "entry",
    BECH32["bip173_invalid_bech32_strings"] + BECH32["bip350_invalid_bech32m_strings"],
    ids=repr,
)
def test_every_invalid_bech32_string_is_refused_as_an_address(
    entry: dict[str, str],
) -> None:
    with pytest.raises(PaymentError):
        parse_address(entry["string"], network=Network.MAINNET)


@_by_address(BY_NETWORK)
def test_each_network_address_parses_to_its_kind_and_script(
    entry: dict[str, str],
) -> None:
    network = CHAINS.get(entry["chain"], Network.TESTNET)

    address = parse_address(entry["address"], network=network)

    assert address.kind == AddressKind(entry["type"])
    assert address.script_pubkey == entry["scriptPubKey"]
    assert (
        address_from_script(bytes.fromhex(entry["scriptPubKey"]), network=network)
        == address
    )


@_by_address(BY_NETWORK)
def test_an_address_of_another_network_is_refused_by_name(
    entry: dict[str, str],
) -> None:
    own = CHAINS.get(entry["chain"], Network.TESTNET)
    other = Network.TESTNET if own is Network.MAINNET else Network.MAINNET

    with pytest.raises(
        PaymentError,
        match=rf"This is a .*{own.value}.* address; the control room runs on "
        rf"{other.value}",
    ):
        parse_address(entry["address"], network=other)


def test_a_testnet_address_is_refused_on_mainnet_in_plain_words() -> None:
    with pytest.raises(
        PaymentError,
        match="This is a testnet or signet address; the control room runs on mainnet",
    ):
        parse_address(
            "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", network=Network.MAINNET
        )


def test_a_testnet_address_is_accepted_on_signet_which_shares_its_prefix() -> None:
    address = parse_address(
        "tb1p35n52jy6xkm4wd905tdy8qtagrn73kqdz73xe4zxpvq9t3fp50aqk3s6gz",
        network=Network.SIGNET,
    )

    assert address.kind is AddressKind.P2TR
    assert address.network is Network.SIGNET


def test_a_regtest_bech32_address_is_refused_on_testnet() -> None:
    with pytest.raises(PaymentError, match="regtest address"):
        parse_address(
            "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", network=Network.TESTNET
        )


def test_an_upper_case_address_is_normalised_to_lower_case() -> None:
    address = parse_address(
        "BC1P83N3AU0RJYLEFXQ2NC2XH2Y4JZZ4PM6ZXJ4MW5PAGDJJR2A9F36S6JJNNU",
        network=Network.MAINNET,
    )

    assert address.text == (
        "bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu"
    )
    assert address.label == "p2tr"


def test_a_future_witness_version_is_named_by_its_version() -> None:
    address = parse_address("BC1SW50QGDZ25J", network=Network.MAINNET)

    assert address.kind is AddressKind.WITNESS_UNKNOWN
    assert address.label == "witness-v16"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "No address was given"),
        (" 1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "spaces or line breaks around"),
        ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo\n", "spaces or line breaks around"),
        ("bc1qvyq0cc6rahyvsazfdje0 twl7ez82ndmuac2lhv", "contains spaces"),
        ("bitcoin:bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", "payment link"),
        ("x1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "checksum does not match"),
        ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mox", "checksum does not match"),
        ("bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv.", "never uses"),
        ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mp", "checksum does not match"),
    ],
)
def test_junk_around_or_inside_an_address_is_refused(text: str, reason: str) -> None:
    with pytest.raises(PaymentError, match=reason):
        parse_address(text, network=Network.MAINNET)


def test_a_private_key_given_as_address_is_refused_without_repeating_it() -> None:
    wif = _load("bip84_vectors.json")["addresses"][0]["wif_TEST_ONLY"]

    with pytest.raises(PaymentError, match=r"private key \(WIF\)") as refused:
        parse_address(wif, network=Network.MAINNET)

    assert wif not in str(refused.value)


def test_an_extended_key_given_as_address_is_refused() -> None:
    zpub = _load("bip84_vectors.json")["account_0"]["zpub"]

    with pytest.raises(PaymentError, match="extended key"):
        parse_address(zpub, network=Network.MAINNET)


def test_a_base58_address_of_another_coin_is_refused() -> None:
    # Version byte 0x30 is Litecoin's P2PKH prefix.
    litecoin_style = base58.encode_check(bytes([0x30]) + bytes(20))

    with pytest.raises(PaymentError, match="version byte 48"):
        parse_address(litecoin_style, network=Network.MAINNET)


def test_a_script_with_no_address_form_is_refused() -> None:
    op_return = bytes.fromhex("6a0401020304")

    with pytest.raises(PaymentError, match="no address form"):
        address_from_script(op_return, network=Network.MAINNET)
