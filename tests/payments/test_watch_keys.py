"""Watch-only keys: BIP32/84/86 derivation and refusing every private key."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest
from embit import bip32, bip39
from embit.descriptor.checksum import add_checksum
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.script import p2pkh

from controlroom.errors import PaymentError
from controlroom.payments.addresses import (
    AddressKind,
    Network,
    address_from_script,
    parse_address,
)
from controlroom.payments.private_material import refuse_private_material
from controlroom.payments.watch_keys import (
    MAX_INDEX,
    ScriptKind,
    change_address,
    receive_address,
    watch_only_key,
)
from tests.conftest import SHARED_DATA

BITCOIN = SHARED_DATA / "bitcoin"


def _load(name: str) -> Any:
    return json.loads((BITCOIN / name).read_text(encoding="utf-8"))


BIP32 = _load("bip32_vectors.json")["vectors"]
BIP84 = _load("bip84_vectors.json")
BIP86 = _load("bip86_vectors.json")
ZPUB = BIP84["account_0"]["zpub"]
BIP86_XPUB = BIP86["account_0"]["xpub"]
# Fingerprint of the "abandon ... about" master key, as wallets print it.
ORIGIN_84 = "[73c5da0a/84'/0'/0']"


def _reversion(key: str, version: str) -> str:
    """Return ``key`` re-encoded with another SLIP-132 version name."""
    family = "test" if version[0] in "tuvUV" else "main"
    name = {"t": "x", "u": "y", "v": "z", "U": "Y", "V": "Z"}.get(
        version[0], version[0]
    ) + version[1:]
    return str(bip32.HDKey.from_string(key).to_base58(NETWORKS[family][name]))


def _as_xpub(key: str) -> str:
    return _reversion(key, "xpub")


def _p2pkh_of(xpub: str) -> str:
    script = p2pkh(bip32.HDKey.from_string(xpub).key).data
    return address_from_script(script, network=Network.MAINNET).text


# -- BIP84 and BIP86 ------------------------------------------------------


def test_a_bip84_zpub_derives_the_vector_receive_and_change_addresses() -> None:
    key = watch_only_key(ZPUB)

    derived = [
        receive_address(key, 0).text,
        receive_address(key, 1).text,
        change_address(key, 0).text,
    ]

    assert derived == [a["address"] for a in BIP84["addresses"]]
    assert key.script is ScriptKind.P2WPKH
    assert key.network is Network.MAINNET


@pytest.mark.parametrize(
    "descriptor",
    [
        f"wpkh({ORIGIN_84}{_as_xpub(ZPUB)}/0/*)",
        add_checksum(f"wpkh({ORIGIN_84}{_as_xpub(ZPUB)}/0/*)"),
        add_checksum(f"wpkh({ORIGIN_84}{_as_xpub(ZPUB)}/<0;1>/*)"),
        f"wpkh({ZPUB}/0/*)",
    ],
    ids=["no-checksum", "checksum", "multipath", "zpub-inside"],
)
def test_a_wpkh_descriptor_derives_the_bip84_vector(descriptor: str) -> None:
    key = watch_only_key(descriptor)

    assert receive_address(key, 1).text == BIP84["addresses"][1]["address"]
    assert change_address(key, 0).text == BIP84["addresses"][2]["address"]


@pytest.mark.parametrize(
    "text",
    [
        f"tr({BIP86_XPUB}/0/*)",
        add_checksum(f"tr([73c5da0a/86'/0'/0']{BIP86_XPUB}/<0;1>/*)"),
    ],
    ids=["plain", "origin-multipath-checksum"],
)
def test_a_tr_descriptor_derives_the_bip86_vector(text: str) -> None:
    key = watch_only_key(text)

    derived = [receive_address(key, 0), receive_address(key, 1), change_address(key, 0)]

    assert [a.text for a in derived] == [a["address"] for a in BIP86["addresses"]]
    assert [a.script_pubkey for a in derived] == [
        a["scriptPubKey"] for a in BIP86["addresses"]
    ]
    assert {a.kind for a in derived} == {AddressKind.P2TR}


def test_a_bare_xpub_named_as_taproot_derives_the_bip86_vector() -> None:
    key = watch_only_key(BIP86_XPUB, script=ScriptKind.P2TR)

    assert receive_address(key, 0).text == BIP86["addresses"][0]["address"]


def test_a_bare_xpub_means_bip44_p2pkh() -> None:
    key = watch_only_key(BIP86_XPUB)

    assert receive_address(key, 0).kind is AddressKind.P2PKH


def test_derived_addresses_parse_back_on_their_network() -> None:
    key = watch_only_key(ZPUB)

    address = receive_address(key, 7)

    assert parse_address(address.text, network=Network.MAINNET) == address


# -- SLIP-132 forms and networks -----------------------------------------


@pytest.mark.parametrize(
    ("version", "network", "kind", "prefix"),
    [
        ("ypub", Network.MAINNET, AddressKind.P2SH, "3"),
        ("tpub", Network.TESTNET, AddressKind.P2PKH, "m"),
        ("upub", Network.TESTNET, AddressKind.P2SH, "2"),
        ("vpub", Network.TESTNET, AddressKind.P2WPKH, "tb1q"),
        ("vpub", Network.SIGNET, AddressKind.P2WPKH, "tb1q"),
        ("vpub", Network.REGTEST, AddressKind.P2WPKH, "bcrt1q"),
    ],
)
def test_each_slip132_form_pays_to_its_script_on_its_network(
    version: str, network: Network, kind: AddressKind, prefix: str
) -> None:
    key = watch_only_key(_reversion(ZPUB, version), network=network)

    address = receive_address(key, 0)

    assert address.kind is kind
    assert address.text.startswith(prefix)
    assert address.network is network


def test_a_vpub_pays_the_same_key_hash_as_its_zpub() -> None:
    mainnet = receive_address(watch_only_key(ZPUB), 0)

    testnet = receive_address(watch_only_key(_reversion(ZPUB, "vpub")), 0)

    assert testnet.script_pubkey == mainnet.script_pubkey


def test_a_mainnet_key_is_refused_on_testnet() -> None:
    with pytest.raises(PaymentError, match=r"key is for mainnet.*runs on testnet"):
        watch_only_key(ZPUB, network=Network.TESTNET)


def test_a_testnet_key_is_refused_on_mainnet() -> None:
    with pytest.raises(PaymentError, match="key is for a test network"):
        watch_only_key(_reversion(ZPUB, "vpub"), network=Network.MAINNET)


def test_a_zpub_cannot_be_declared_taproot() -> None:
    with pytest.raises(PaymentError, match="prefix says p2wpkh"):
        watch_only_key(ZPUB, script=ScriptKind.P2TR)


def test_a_multisig_account_key_is_refused() -> None:
    with pytest.raises(PaymentError, match="multisig"):
        watch_only_key(_reversion(ZPUB, "Zpub"))


def test_a_master_key_is_refused_as_not_an_account() -> None:
    with pytest.raises(PaymentError, match="depth 0, not at an account"):
        watch_only_key(BIP84["root"]["zpub"])


def test_a_mistyped_xpub_is_refused_by_its_checksum() -> None:
    mistyped = ZPUB[:-1] + ("a" if ZPUB[-1] != "a" else "b")

    with pytest.raises(PaymentError, match="checksum does not match"):
        watch_only_key(mistyped)


# -- BIP32 vectors --------------------------------------------------------


def _unhardened_steps() -> list[tuple[str, int, str]]:
    steps = []
    for vector in BIP32[:4]:
        chain = vector["chains"]
        for parent, child in itertools.pairwise(chain):
            last = child["path"].rsplit("/", 1)[1]
            if not last.endswith("'"):
                steps.append((parent["xpub"], int(last), child["xpub"]))
    return steps


@pytest.mark.parametrize(("parent", "index", "child"), _unhardened_steps())
def test_public_derivation_matches_every_unhardened_bip32_step(
    parent: str, index: int, child: str
) -> None:
    key = watch_only_key(f"pkh({parent}/*)")

    assert receive_address(key, index).text == _p2pkh_of(child)


@pytest.mark.parametrize(
    "xpub", [c["xpub"] for v in BIP32[:4] for c in v["chains"]], ids=str
)
def test_every_bip32_vector_xpub_is_accepted_in_a_descriptor(xpub: str) -> None:
    key = watch_only_key(f"pkh({xpub}/*)")

    assert key.account_key == xpub


@pytest.mark.parametrize("entry", BIP32[4]["invalid_keys"], ids=repr)
def test_every_invalid_bip32_key_is_refused(entry: dict[str, str]) -> None:
    with pytest.raises(
        PaymentError, match=r"private key|not valid|version is unknown"
    ) as refused:
        watch_only_key(f"pkh({entry['key']}/*)")

    assert entry["key"] not in str(refused.value)


# -- descriptors and indexes ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"wpkh({ZPUB}/0'/*)", "hardened derivation below its key"),
        (f"wpkh({ZPUB}/0/*')", "hardened derivation below its key"),
        (f"wpkh({ZPUB}/0/*h)", "hardened derivation below its key"),
        (f"wpkh({ZPUB}/0/5)", "single address"),
        (f"wpkh({ZPUB})", "single address"),
        (f"wsh(multi(1,{ZPUB}/0/*))", "single-key descriptors"),
        (f"tr({BIP86_XPUB}/0/*,pk({BIP86_XPUB}/1/*))", "single-key descriptors"),
        (f"wpkh([73c5da0a/84'/0']{_as_xpub(ZPUB)}/0/*)", "lists 2 steps"),
        (f"wpkh([73c5da0a/84'/0'/1']{_as_xpub(ZPUB)}/0/*)", "another index"),
        (add_checksum(f"wpkh({ZPUB}/0/*)")[:-1] + "q", "checksum .* does not"),
        (f"wpkh({ZPUB}/0/*)#", "checksum .* does not"),
        (f"wpkh({ZPUB}/x/*)", "not a number"),
        (f"wpkh({ZPUB}/0/*)\u00e9", "never use"),
    ],
)
def test_a_descriptor_outside_what_watch_only_allows_is_refused(
    text: str, reason: str
) -> None:
    with pytest.raises(PaymentError, match=reason):
        watch_only_key(text)


def test_a_single_chain_descriptor_has_no_change_addresses() -> None:
    key = watch_only_key(f"wpkh({ZPUB}/7/*)")

    with pytest.raises(PaymentError, match="one chain only"):
        change_address(key, 0)


@pytest.mark.parametrize("index", [-1, MAX_INDEX + 1, 2**32])
def test_an_index_outside_the_unhardened_range_is_refused(index: int) -> None:
    key = watch_only_key(ZPUB)

    with pytest.raises(PaymentError, match=r"outside 0\.\.2147483647"):
        receive_address(key, index)


def test_the_last_unhardened_index_derives() -> None:
    key = watch_only_key(ZPUB)

    assert change_address(key, MAX_INDEX).kind is AddressKind.P2WPKH


# -- private material -----------------------------------------------------


def _extended_private_keys() -> list[str]:
    keys = [c["xprv_TEST_ONLY"] for v in BIP32[:4] for c in v["chains"]]
    keys += [BIP84["root"]["zprv_TEST_ONLY"], BIP84["account_0"]["zprv_TEST_ONLY"]]
    keys += [BIP86["root"]["xprv_TEST_ONLY"], BIP86["account_0"]["xprv_TEST_ONLY"]]
    keys += [a["xprv_TEST_ONLY"] for a in BIP86["addresses"]]
    account = BIP84["account_0"]["zprv_TEST_ONLY"]
    keys += [_reversion(account, v) for v in ("tprv", "yprv", "uprv", "vprv", "Zprv")]
    return keys


def _wifs() -> list[str]:
    secrets = [PrivateKey.from_wif(a["wif_TEST_ONLY"]) for a in BIP84["addresses"]]
    wifs = [a["wif_TEST_ONLY"] for a in BIP84["addresses"]]
    for secret in secrets[:1]:
        for network in ("main", "test"):
            for compressed in (True, False):
                key = PrivateKey(secret.secret, compressed=compressed)
                wifs.append(key.wif(NETWORKS[network]))
    return wifs


def _mnemonics() -> list[str]:
    phrases = [BIP84["mnemonic"]]
    for size in (16, 20, 24, 28, 32):
        phrases.append(bip39.mnemonic_from_bytes(bytes(range(size))))
    phrase = phrases[1]
    phrases.append("  " + phrase.replace(" ", "   ") + "\n")
    phrases.append(phrase.upper())
    phrases.append(phrase.title())
    phrases.append(" ".join(f"{i}. {w}" for i, w in enumerate(phrase.split(), 1)))
    phrases.append(phrase.replace(phrase.split()[3], "abandonn"))
    return phrases


EXTENDED = _extended_private_keys()
WIFS = _wifs()
MNEMONICS = _mnemonics()
FIRST_WIF = WIFS[0]
MISTYPED_WIF = FIRST_WIF[:-1] + ("2" if FIRST_WIF[-1] != "2" else "3")
DESCRIPTORS = [
    f"wpkh({EXTENDED[0]}/0/*)",
    add_checksum(f"wpkh({ORIGIN_84}{BIP84['account_0']['zprv_TEST_ONLY']}/0/*)"),
    f"tr({FIRST_WIF})",
    f"sh(wpkh({WIFS[-1]}))",
    f"pkh([73c5da0a/44'/0'/0']{BIP86['account_0']['xprv_TEST_ONLY']}/<0;1>/*)",
]
SECRETS = [
    *(("xprv", k, k) for k in EXTENDED),
    *(("wif", w, w) for w in [*WIFS, MISTYPED_WIF]),
    *(("seed", m, " ".join(m.split()[2:5])) for m in MNEMONICS),
    *(("descriptor", d, d) for d in DESCRIPTORS),
]
SECRET_IDS = [f"{kind}-{i}" for i, (kind, _, _) in enumerate(SECRETS)]
KIND_MESSAGE = {
    "xprv": "extended private key",
    "wif": r"private key \(WIF\)",
    "seed": "seed phrase",
    "descriptor": r"extended private key|private key \(WIF\)",
}


@pytest.mark.parametrize(("kind", "secret", "_"), SECRETS, ids=SECRET_IDS)
def test_private_material_is_refused_without_repeating_it(
    kind: str, secret: str, _: str
) -> None:
    with pytest.raises(PaymentError, match=KIND_MESSAGE[kind]) as refused:
        watch_only_key(secret)

    message = str(refused.value)
    assert secret.strip() not in message
    assert all(part not in message for part in secret.split() if len(part) > 12)
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None


@pytest.mark.parametrize(("kind", "secret", "part"), SECRETS, ids=SECRET_IDS)
def test_refusing_private_material_logs_no_secret(
    kind: str, secret: str, part: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PaymentError):
        refuse_private_material(secret)

    assert "refused private key material" in caplog.text
    assert secret.strip() not in caplog.text
    assert part not in caplog.text


def test_a_whole_session_of_refusals_logs_no_secret_anywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    for _, secret, _ in SECRETS:
        with pytest.raises(PaymentError):
            watch_only_key(secret)
        with pytest.raises(PaymentError):
            parse_address(secret.strip(), network=Network.MAINNET)

    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert all(secret.strip() not in logged for _, secret, _ in SECRETS)
    assert all(part not in logged for _, _, part in SECRETS)


def test_public_keys_and_addresses_are_not_mistaken_for_secrets() -> None:
    texts = [ZPUB, BIP86_XPUB, f"wpkh({ZPUB}/0/*)", BIP84["addresses"][0]["address"]]
    texts.append("please send the parcel to the depot by noon tomorrow")

    for text in texts:
        refuse_private_material(text)
