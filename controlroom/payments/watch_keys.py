"""Watch-only wallet keys: one fresh address per order, never a private key.

An account public key (BIP32 "public parent key to public child key")
derives every address of its unhardened chains: receive ``0/i`` and change
``1/i`` under the account, as BIP44, BIP49, BIP84 and BIP86 lay them out.
Accepted forms are an extended public key -- ``xpub``/``tpub`` (P2PKH, or the
script named by the caller), SLIP-132 ``ypub``/``upub`` (P2SH-P2WPKH) and
``zpub``/``vpub`` (P2WPKH) -- or a single-key output descriptor (``pkh``,
``sh(wpkh)``, ``wpkh``, ``tr``) whose checksum is verified when present.

Private material is refused before anything is parsed
(``controlroom.payments.private_material``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum

from embit import bip32
from embit.base import EmbitError
from embit.descriptor.checksum import checksum as descriptor_checksum
from embit.script import p2pkh, p2sh, p2tr, p2wpkh

from controlroom.errors import PaymentError
from controlroom.payments.addresses import Address, Network, address_from_script
from controlroom.payments.private_material import decode_check, refuse_private_material

logger = logging.getLogger(__name__)


class ScriptKind(StrEnum):
    """How a derived public key is paid to."""

    P2PKH = "p2pkh"  # BIP44, descriptor pkh()
    P2SH_P2WPKH = "p2sh_p2wpkh"  # BIP49, descriptor sh(wpkh())
    P2WPKH = "p2wpkh"  # BIP84, descriptor wpkh()
    P2TR = "p2tr"  # BIP86, descriptor tr()


@dataclass(frozen=True)
class WatchKey:
    """An account public key with the script and chains it pays to."""

    network: Network
    script: ScriptKind
    account_key: str
    receive_path: tuple[int, ...]
    change_path: tuple[int, ...] | None
    receive_chain: bip32.HDKey = field(compare=False, repr=False)
    change_chain: bip32.HDKey | None = field(compare=False, repr=False)


MAX_INDEX = 2**31 - 1
HARDENED = 2**31
_MAINNET_FAMILY = frozenset({Network.MAINNET})
_TEST_FAMILY = frozenset({Network.TESTNET, Network.SIGNET, Network.REGTEST})

# SLIP-132 version bytes of the single-key public forms: (script, networks).
_PUBLIC_VERSIONS = {
    bytes.fromhex("0488b21e"): (ScriptKind.P2PKH, _MAINNET_FAMILY),  # xpub
    bytes.fromhex("049d7cb2"): (ScriptKind.P2SH_P2WPKH, _MAINNET_FAMILY),  # ypub
    bytes.fromhex("04b24746"): (ScriptKind.P2WPKH, _MAINNET_FAMILY),  # zpub
    bytes.fromhex("043587cf"): (ScriptKind.P2PKH, _TEST_FAMILY),  # tpub
    bytes.fromhex("044a5262"): (ScriptKind.P2SH_P2WPKH, _TEST_FAMILY),  # upub
    bytes.fromhex("045f1cf6"): (ScriptKind.P2WPKH, _TEST_FAMILY),  # vpub
}
_PLAIN_VERSION = {
    Network.MAINNET: bytes.fromhex("0488b21e"),
    Network.TESTNET: bytes.fromhex("043587cf"),
}
# SLIP-132 Ypub/Zpub/Upub/Vpub: multisig account keys.
_MULTISIG_VERSIONS = frozenset(
    bytes.fromhex(v) for v in ("0295b43f", "02aa7ed3", "024289ef", "02575483")
)

_DESCRIPTOR_SCRIPTS = {
    ("pkh",): ScriptKind.P2PKH,
    ("sh", "wpkh"): ScriptKind.P2SH_P2WPKH,
    ("wpkh",): ScriptKind.P2WPKH,
    ("tr",): ScriptKind.P2TR,
}
_WRAPPER = re.compile(r"([a-z_]+)\((.*)\)", re.DOTALL)
_KEY_EXPRESSION = re.compile(
    r"(?:\[(?P<fingerprint>[0-9a-fA-F]{8})(?P<origin>(?:/[0-9]+['hH]?)*)\])?"
    r"(?P<key>[1-9A-HJ-NP-Za-km-z]+)(?P<path>(?:/[^/]*)*)"
)
_NUMBER = re.compile(r"[0-9]+")
_MULTIPATH = re.compile(r"<([0-9]+);([0-9]+)>")


def watch_only_key(
    text: str, *, network: Network | None = None, script: ScriptKind | None = None
) -> WatchKey:
    """Return the watch-only key ``text`` names, refusing any private key.

    Parameters
    ----------
    text
        An account extended public key (xpub, ypub, zpub, tpub, upub, vpub)
        or a single-key descriptor such as ``wpkh([fp/84'/0'/0']xpub.../0/*)``.
    network
        The network the control room runs on; by default the key's own
        (mainnet, or testnet for tpub/upub/vpub).
    script
        For a bare ``xpub``/``tpub`` only: the script its wallet uses, e.g.
        ``ScriptKind.P2TR`` for a BIP86 account. Plain xpubs mean P2PKH.
    """
    refuse_private_material(text)
    text = text.strip()
    if not text:
        raise PaymentError("No watch-only key was given.")

    if "(" in text or "#" in text:
        if script is not None:
            raise PaymentError(
                "A descriptor names its own script; leave the script choice empty."
            )
        return _from_descriptor(text, network)
    return _from_extended_key(text, network, script)


def receive_address(key: WatchKey, index: int) -> Address:
    """Return receive address ``index`` of a watch-only key."""
    _check_index(index)
    return _address(key, key.receive_chain, index)


def change_address(key: WatchKey, index: int) -> Address:
    """Return change address ``index`` of a watch-only key."""
    _check_index(index)
    if key.change_chain is None:
        raise PaymentError(
            "This descriptor names one chain only, so it has no change "
            "addresses; give the account key or a descriptor ending in /0/* "
            "or /<0;1>/*."
        )
    return _address(key, key.change_chain, index)


def _from_extended_key(
    text: str, network: Network | None, script: ScriptKind | None
) -> WatchKey:
    account, implied, family = _decode_account_key(text)
    if script is not None and implied is not ScriptKind.P2PKH and script != implied:
        raise PaymentError(
            f"This key's prefix says {implied.value}; it cannot be used as "
            f"{script.value}. Give a descriptor or the matching key."
        )
    # BIP44/49/84/86 keep the account at depth 3 (m/purpose'/coin'/account');
    # a master key's hardened account cannot be reached without its secret.
    if account.depth != 3:
        raise PaymentError(
            f"This key sits at depth {account.depth}, not at an account "
            "(depth 3, e.g. m/84'/0'/0'). Export the account's public key "
            "from the wallet, or give a descriptor with its full path."
        )
    return _watch_key(account, script or implied, _network(family, network), (0,), (1,))


def _from_descriptor(text: str, network: Network | None) -> WatchKey:
    body, hash_sign, given = text.partition("#")
    try:
        expected = descriptor_checksum(body)
    except EmbitError:
        raise PaymentError(
            "The descriptor contains a character descriptors never use; copy it "
            "again from the wallet."
        ) from None
    if hash_sign and given != expected:
        raise PaymentError(
            "The descriptor's checksum (after '#') does not match: part of it "
            "was changed or lost. Copy it again from the wallet."
        )

    names: list[str] = []
    inner = body
    while (match := _WRAPPER.fullmatch(inner)) is not None:
        names.append(match.group(1))
        inner = match.group(2)
    script = _DESCRIPTOR_SCRIPTS.get(tuple(names))
    if script is None or "," in inner:
        raise PaymentError(
            "Only single-key descriptors are supported: pkh(KEY), "
            "sh(wpkh(KEY)), wpkh(KEY) or tr(KEY) with no script tree."
        )

    parts = _KEY_EXPRESSION.fullmatch(inner)
    if parts is None:
        raise PaymentError(
            "The descriptor's key is not of the form [fingerprint/path]xpub/0/*."
        )
    account, _, family = _decode_account_key(parts.group("key"))
    _check_origin(parts.group("origin"), account)
    receive, change = _chains(parts.group("path"))
    return _watch_key(account, script, _network(family, network), receive, change)


def _decode_account_key(
    text: str,
) -> tuple[bip32.HDKey, ScriptKind, frozenset[Network]]:
    payload = decode_check(text)
    if payload is None:
        raise PaymentError(
            "The extended public key's checksum does not match: a character is "
            "missing, extra or mistyped. Copy it again from the wallet."
        )
    if len(payload) != 78:
        raise PaymentError(
            "This is not an extended public key (xpub, ypub, zpub, tpub, upub or vpub)."
        )

    version = payload[:4]
    if version in _MULTISIG_VERSIONS:
        raise PaymentError(
            "This is a multisig account key (Ypub/Zpub/Upub/Vpub); the control "
            "room watches single-key wallets only."
        )
    if version not in _PUBLIC_VERSIONS:
        raise PaymentError(
            "The extended key's version is unknown; expected xpub, ypub, zpub, "
            "tpub, upub or vpub."
        )
    try:
        key = bip32.HDKey.parse(payload)
    except (EmbitError, ValueError) as exc:
        raise PaymentError(
            f"This extended public key is not valid ({exc}); export it again "
            "from the wallet."
        ) from None
    script, family = _PUBLIC_VERSIONS[version]
    return key, script, family


def _check_origin(origin: str | None, account: bip32.HDKey) -> None:
    if origin is None:
        return
    steps = [step for step in origin.split("/") if step]
    if len(steps) != account.depth:
        raise PaymentError(
            f"The descriptor's key origin lists {len(steps)} steps but its key "
            f"is at depth {account.depth}; the origin does not belong to it."
        )
    if steps and _step_index(steps[-1]) != account.child_number:
        raise PaymentError(
            "The descriptor's key origin ends in another index than its key "
            "was derived at; the origin does not belong to it."
        )


def _step_index(step: str) -> int:
    if step[-1] in "'hH":
        return int(step[:-1]) + HARDENED
    return int(step)


def _chains(path: str) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    steps = path.split("/")[1:]
    if not steps or steps[-1] != "*":
        if steps and steps[-1] in ("*'", "*h", "*H"):
            raise _hardened_below_account()
        raise PaymentError(
            "The descriptor names a single address; a watch-only wallet needs "
            "a ranged descriptor whose key ends in /*."
        )

    receive: list[int] = []
    change: list[int] = []
    multipath = False
    for step in steps[:-1]:
        if (pair := _MULTIPATH.fullmatch(step)) is not None and not multipath:
            multipath = True
            receive.append(int(pair.group(1)))
            change.append(int(pair.group(2)))
        elif _NUMBER.fullmatch(step) and int(step) <= MAX_INDEX:
            receive.append(int(step))
            change.append(int(step))
        elif _NUMBER.fullmatch(step[:-1]) and step[-1] in "'hH":
            raise _hardened_below_account()
        else:
            raise PaymentError(
                "The descriptor's derivation path has a step that is not a "
                "number below 2^31, '*' or one <a;b> pair."
            )

    if multipath:
        return tuple(receive), tuple(change)
    # BIP44 and its successors: chain 0 receives, chain 1 takes change.
    if receive == [0]:
        return (0,), (1,)
    return tuple(receive), None


def _hardened_below_account() -> PaymentError:
    return PaymentError(
        "The descriptor asks for hardened derivation below its key, which "
        "needs the private key. Use unhardened steps such as /0/*."
    )


def _network(family: frozenset[Network], wanted: Network | None) -> Network:
    if wanted is None:
        return Network.MAINNET if Network.MAINNET in family else Network.TESTNET
    if wanted not in family:
        made_for = "mainnet" if Network.MAINNET in family else "a test network"
        raise PaymentError(
            f"This key is for {made_for}; the control room runs on "
            f"{wanted.value}. Export the account key for {wanted.value}."
        )
    return wanted


def _watch_key(
    account: bip32.HDKey,
    script: ScriptKind,
    network: Network,
    receive: tuple[int, ...],
    change: tuple[int, ...] | None,
) -> WatchKey:
    plain = _PLAIN_VERSION[
        Network.MAINNET if network is Network.MAINNET else Network.TESTNET
    ]
    # The chain keys are derived once, so each address costs one step.
    return WatchKey(
        network=network,
        script=script,
        account_key=account.to_base58(version=plain),
        receive_path=receive,
        change_path=change,
        receive_chain=account.derive(list(receive)),
        change_chain=None if change is None else account.derive(list(change)),
    )


def _check_index(index: int) -> None:
    if not 0 <= index <= MAX_INDEX:
        raise PaymentError(
            f"Address index {index} is outside 0..{MAX_INDEX}; larger indexes "
            "are hardened and need the private key."
        )


def _address(key: WatchKey, chain: bip32.HDKey, index: int) -> Address:
    public = chain.child(index).key
    if key.script is ScriptKind.P2PKH:
        script = p2pkh(public)
    elif key.script is ScriptKind.P2SH_P2WPKH:
        script = p2sh(p2wpkh(public))
    elif key.script is ScriptKind.P2WPKH:
        script = p2wpkh(public)
    else:
        # BIP86: the output key is the internal key tweaked with an empty
        # script tree, t = hash_TapTweak(P) (BIP341).
        script = p2tr(public)
    return address_from_script(script.data, network=key.network)
