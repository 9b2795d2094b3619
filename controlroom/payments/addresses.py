"""Bitcoin addresses: parse what a person typed, encode what a script pays to.

Base58Check addresses (P2PKH, P2SH) follow Bitcoin Core's ``key_io``; segwit
addresses follow BIP173 (bech32, witness version 0) and BIP350 (bech32m,
versions 1 to 16, so taproot P2TR). The checksum arithmetic is embit's; the
checks around it are here so that every refusal says what is wrong.

Messages never repeat the text they refuse: what was pasted might be a
private key, and errors end up on screens and in logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from embit import base58, bech32

from controlroom.errors import PaymentError


class Network(StrEnum):
    """The Bitcoin network the control room takes payments on."""

    MAINNET = "mainnet"
    TESTNET = "testnet"  # testnet3 and testnet4 share every prefix
    SIGNET = "signet"
    REGTEST = "regtest"


class AddressKind(StrEnum):
    P2PKH = "p2pkh"
    P2SH = "p2sh"
    P2WPKH = "p2wpkh"
    P2WSH = "p2wsh"
    P2TR = "p2tr"
    WITNESS_UNKNOWN = "witness_unknown"


class Checksum(StrEnum):
    BECH32 = "bech32"
    BECH32M = "bech32m"


@dataclass(frozen=True)
class Address:
    """A valid address of one network, with the script it pays to."""

    text: str
    network: Network
    kind: AddressKind
    script_pubkey: str
    witness_version: int | None = None

    @property
    def label(self) -> str:
        """Name the kind as people read it, e.g. ``p2tr`` or ``witness-v2``."""
        if self.kind is AddressKind.WITNESS_UNKNOWN:
            return f"witness-v{self.witness_version}"
        return self.kind.value


class Bech32Data(NamedTuple):
    hrp: str
    data: list[int]
    checksum: Checksum


_HRP = {
    Network.MAINNET: "bc",
    Network.TESTNET: "tb",
    Network.SIGNET: "tb",
    Network.REGTEST: "bcrt",
}
_P2PKH_PREFIX = {Network.MAINNET: 0x00}
_P2SH_PREFIX = {Network.MAINNET: 0x05}
for _test in (Network.TESTNET, Network.SIGNET, Network.REGTEST):
    _P2PKH_PREFIX[_test] = 0x6F
    _P2SH_PREFIX[_test] = 0xC4

_BASE58_ALPHABET = frozenset(base58.B58_DIGITS)
_WIF_PREFIXES = (0x80, 0xEF)
# BIP173: "The total length of a Bech32 string is at most 90 characters."
_BECH32_MAX_LENGTH = 90
_SEPARATOR = "1"


def parse_address(text: str, *, network: Network) -> Address:
    """Return the address ``text`` names, or refuse it with the reason."""
    _refuse_surroundings(text)
    lowered = text.lower()
    hrp = lowered[: lowered.rfind(_SEPARATOR)] if _SEPARATOR in lowered else ""

    if hrp in _HRP.values():
        address = _parse_segwit(text)
    elif set(text) <= _BASE58_ALPHABET:
        address = _parse_base58(text)
    else:
        decoded = decode_bech32(text)
        prefix = f"'{decoded.hrp}1'" if len(decoded.hrp) <= 8 else "a prefix"
        raise PaymentError(
            f"The address starts with {prefix}, which is no Bitcoin network's "
            "(bc1, tb1 or bcrt1). Check that it is a Bitcoin address and not "
            "one of another coin."
        )

    if network not in _networks_of(address):
        raise PaymentError(
            f"This is {_describe(_networks_of(address))} address; the control "
            f"room runs on {network.value}. Ask for a {network.value} address."
        )
    return Address(
        text=address.text,
        network=network,
        kind=address.kind,
        script_pubkey=address.script_pubkey,
        witness_version=address.witness_version,
    )


def address_from_script(script_pubkey: bytes, *, network: Network) -> Address:
    """Return the address that pays to ``script_pubkey`` on ``network``."""
    script = bytes(script_pubkey)
    if (
        len(script) == 25
        and script[:3] == b"\x76\xa9\x14"
        and script[-2:] == (b"\x88\xac")
    ):
        payload = bytes([_P2PKH_PREFIX[network]]) + script[3:23]
        text = base58.encode_check(payload)
        return Address(text, network, AddressKind.P2PKH, script.hex())
    if len(script) == 23 and script[:2] == b"\xa9\x14" and script[-1] == 0x87:
        payload = bytes([_P2SH_PREFIX[network]]) + script[2:22]
        text = base58.encode_check(payload)
        return Address(text, network, AddressKind.P2SH, script.hex())

    version = _witness_version(script)
    if version is None:
        raise PaymentError(
            "This output script has no address form (it is not P2PKH, P2SH or "
            "a segwit program)."
        )
    program = list(script[2:])
    checksum = bech32.Encoding.BECH32 if version == 0 else bech32.Encoding.BECH32M
    words = [version, *bech32.convertbits(program, 8, 5)]
    text = bech32.bech32_encode(checksum, _HRP[network], words)
    return Address(
        text=text,
        network=network,
        kind=_segwit_kind(version, len(program)),
        script_pubkey=script.hex(),
        witness_version=version,
    )


def decode_bech32(text: str) -> Bech32Data:
    """Return the parts of a bech32 or bech32m string (BIP173, BIP350)."""
    if len(text) > _BECH32_MAX_LENGTH:
        raise PaymentError(
            f"The text is {len(text)} characters long; a bech32 address has at "
            f"most {_BECH32_MAX_LENGTH}."
        )
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in text):
        raise PaymentError(
            "The text contains a space, control or non-ASCII character; an "
            "address has none. Copy it again from its source."
        )
    if text != text.lower() and text != text.upper():
        raise PaymentError(
            "The address mixes upper- and lower-case letters, which BIP173 "
            "forbids; copy it again from its source."
        )

    lowered = text.lower()
    separator = lowered.rfind(_SEPARATOR)
    if separator < 1:
        raise PaymentError(
            "The address has no network prefix before its separator '1'; "
            "copy it again from its source."
        )
    hrp, rest = lowered[:separator], lowered[separator + 1 :]
    for ch in rest:
        if ch not in bech32.CHARSET:
            raise PaymentError(
                f"The address contains '{ch}', a character bech32 never uses "
                "(it leaves out 1, b, i and o); it was probably mistyped."
            )
    if len(rest) < 6:
        raise PaymentError("The address is too short to hold its 6-character checksum.")

    words = [bech32.CHARSET.index(ch) for ch in rest]
    encoding = bech32.bech32_verify_checksum(hrp, words)
    if encoding is None:
        raise PaymentError(
            "The address's checksum does not match: a character is missing, "
            "extra or mistyped. Copy it again from its source."
        )
    checksum = (
        Checksum.BECH32 if encoding == bech32.Encoding.BECH32 else Checksum.BECH32M
    )
    return Bech32Data(hrp=hrp, data=words[:-6], checksum=checksum)


def _refuse_surroundings(text: str) -> None:
    if not text:
        raise PaymentError("No address was given.")
    if text != text.strip():
        raise PaymentError(
            "The address has spaces or line breaks around it; give the address alone."
        )
    if any(ch.isspace() for ch in text):
        raise PaymentError("The text contains spaces; an address is one unbroken word.")
    if text.lower().startswith("bitcoin:"):
        raise PaymentError(
            "This is a payment link (bitcoin: URI), not an address; give only "
            "the address that follows 'bitcoin:'."
        )


def _parse_segwit(text: str) -> Address:
    decoded = decode_bech32(text)
    if not decoded.data:
        raise PaymentError("The address has no witness version or program.")

    version = decoded.data[0]
    if version > 16:
        raise PaymentError(
            f"The address claims witness version {version}; only 0 to 16 exist."
        )
    program = bech32.convertbits(decoded.data[1:], 5, 8, False)
    if program is None:
        raise PaymentError(
            "The address's data has invalid padding (BIP173); it was not made "
            "by a correct wallet."
        )
    # BIP141 fixes version 0 programs at 20 (P2WPKH) or 32 (P2WSH) bytes;
    # BIP173 allows 2 to 40 bytes for later versions.
    if version == 0 and len(program) not in (20, 32):
        raise PaymentError(
            f"A version 0 witness program is 20 or 32 bytes, not {len(program)}."
        )
    if not 2 <= len(program) <= 40:
        raise PaymentError(f"A witness program is 2 to 40 bytes, not {len(program)}.")
    # BIP350: version 0 keeps bech32; versions 1 and up must use bech32m.
    if version == 0 and decoded.checksum is not Checksum.BECH32:
        raise PaymentError(
            "This version 0 address carries a bech32m checksum; BIP350 keeps "
            "bech32 for version 0. Ask the sender's wallet for a fresh address."
        )
    if version > 0 and decoded.checksum is not Checksum.BECH32M:
        raise PaymentError(
            f"This version {version} address carries the old bech32 checksum; "
            "BIP350 requires bech32m, so funds sent here could be lost."
        )

    script = bytes([_witness_opcode(version), len(program), *program])
    return Address(
        text=text.lower(),
        network=_network_of_hrp(decoded.hrp),
        kind=_segwit_kind(version, len(program)),
        script_pubkey=script.hex(),
        witness_version=version,
    )


def _parse_base58(text: str) -> Address:
    try:
        payload = base58.decode_check(text)
    except (ValueError, IndexError):
        raise PaymentError(
            "The address's checksum does not match: a character is missing, "
            "extra or mistyped. Copy it again from its source."
        ) from None

    if payload[:1] and payload[0] in _WIF_PREFIXES and len(payload) in (33, 34):
        raise PaymentError(
            "This is a private key (WIF), not an address. The control room never "
            "takes private keys; give a receive address instead."
        )
    if len(payload) == 78:
        raise PaymentError(
            "This is an extended key (xpub/xprv family), not an address; "
            "watch-only keys are set up with the wallet's account key instead."
        )
    if len(payload) != 21:
        raise PaymentError(
            f"The address holds {len(payload) - 1} bytes after its prefix; "
            "P2PKH and P2SH addresses hold 20."
        )

    prefix, digest = payload[0], payload[1:]
    if prefix in _P2PKH_PREFIX.values():
        script = b"\x76\xa9\x14" + digest + b"\x88\xac"
        kind = AddressKind.P2PKH
        networks = [n for n, p in _P2PKH_PREFIX.items() if p == prefix]
    elif prefix in _P2SH_PREFIX.values():
        script = b"\xa9\x14" + digest + b"\x87"
        kind = AddressKind.P2SH
        networks = [n for n, p in _P2SH_PREFIX.items() if p == prefix]
    else:
        raise PaymentError(
            f"The address's version byte {prefix} is not a Bitcoin address "
            "prefix; it may belong to another coin."
        )
    return Address(text, networks[0], kind, script.hex())


def _networks_of(address: Address) -> frozenset[Network]:
    if address.witness_version is not None:
        hrp = _HRP[address.network]
        return frozenset(n for n, h in _HRP.items() if h == hrp)
    if address.network is Network.MAINNET:
        return frozenset({Network.MAINNET})
    return frozenset(set(Network) - {Network.MAINNET})


def _describe(networks: frozenset[Network]) -> str:
    ordered = [n.value for n in Network if n in networks]
    if len(ordered) == 1:
        return f"a {ordered[0]}"
    return "a " + ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _network_of_hrp(hrp: str) -> Network:
    return next(n for n, h in _HRP.items() if h == hrp)


def _segwit_kind(version: int, length: int) -> AddressKind:
    if version == 0:
        return AddressKind.P2WPKH if length == 20 else AddressKind.P2WSH
    if version == 1 and length == 32:
        return AddressKind.P2TR
    return AddressKind.WITNESS_UNKNOWN


def _witness_opcode(version: int) -> int:
    # OP_0 is 0x00; OP_1..OP_16 are 0x51..0x60.
    return 0 if version == 0 else 0x50 + version


def _witness_version(script: bytes) -> int | None:
    if len(script) < 4 or len(script) > 42 or script[1] != len(script) - 2:
        return None
    if script[0] == 0 and len(script) in (22, 34):
        return 0
    if 0x51 <= script[0] <= 0x60:
        return script[0] - 0x50
    return None
