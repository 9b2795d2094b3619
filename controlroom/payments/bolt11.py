"""BOLT 11 Lightning invoices: decode one and refuse it unless the spec allows it.

Why by hand and not the ``bolt11`` package: that package pins ``bitstring<5``,
disagrees with the spec on two of its valid examples (P2TR fallback, high-S
payee recovery) and accepts two of its invalid ones. The format itself is
small: a bech32 string without the 90-character limit, a timestamp and a list
of tagged fields, then a recoverable secp256k1 signature. embit already gives
us the bech32 arithmetic and libsecp256k1's recovery, so the rest is a short
field parser whose every refusal says what is wrong.

Rules follow BOLT #11 (lightning/bolts ``11-payment-encoding.md``): fields of
an unexpected length and unknown fields are skipped, as the reader must; a
missing payment hash, payment secret, or description, an unknown even feature
bit, a bad amount or a bad signature refuse the invoice. A high-S signature is
accepted only when the payee is recovered from it; when the invoice names its
payee in ``n`` the signature must be in low-S form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from embit import bech32
from embit.util import secp256k1

from controlroom.errors import PaymentError
from controlroom.payments.addresses import Network, address_from_script, parse_address

DEFAULT_EXPIRY_SECONDS = 3600
DEFAULT_MIN_FINAL_CLTV_EXPIRY = 18

_PREFIX_OF = {
    Network.MAINNET: "bc",
    Network.TESTNET: "tb",
    Network.SIGNET: "tbs",
    Network.REGTEST: "bcrt",
}
# Longest first, so that "tbs" is not read as "tb" followed by an amount.
_PREFIXES = sorted(_PREFIX_OF.items(), key=lambda item: -len(item[1]))
_MSAT_PER_BTC = 100_000_000_000
# Multiplier letter -> (numerator, denominator) of one BTC.
_MULTIPLIERS = {"m": (1, 1_000), "u": (1, 1_000_000), "n": (1, 10**9), "p": (1, 10**12)}
_SIGNATURE_WORDS = 104  # 65 bytes: 64-byte compact signature + recovery id
_TIMESTAMP_WORDS = 7
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# Even feature bits BOLT #9 allows in an invoice (context 9): var_onion_optin,
# payment_secret, basic_mpp, option_payment_metadata. Any other even bit set
# means "you must understand this", so the invoice is refused.
_KNOWN_EVEN_FEATURES = frozenset({8, 14, 16, 48})
_LIGHTNING_SCHEME = "lightning:"
# The spec sets no ceiling; this one keeps ``expires_at`` a real date.
_MAX_EXPIRY_SECONDS = 100 * 365 * 24 * 3600


@dataclass(frozen=True)
class RouteHop:
    """One hop of a private route hint (``r`` field)."""

    node_id: str
    short_channel_id: int
    fee_base_msat: int
    fee_proportional_millionths: int
    cltv_expiry_delta: int


@dataclass(frozen=True)
class Invoice:
    """A decoded, validated BOLT 11 invoice; amounts in msat and sat."""

    text: str
    network: Network
    amount_msat: int | None
    created_at: datetime
    expiry_seconds: int
    payment_hash: str
    payee_node_id: str
    payment_secret: str
    description: str | None = None
    description_hash: str | None = None
    min_final_cltv_expiry: int = DEFAULT_MIN_FINAL_CLTV_EXPIRY
    fallback_addresses: tuple[str, ...] = ()
    route_hints: tuple[tuple[RouteHop, ...], ...] = ()
    features: frozenset[int] = frozenset()
    metadata: str | None = None

    @property
    def amount_sat(self) -> int | None:
        """The amount in whole satoshis, rounded up so the payee is never short."""
        if self.amount_msat is None:
            return None
        return -(-self.amount_msat // 1000)

    @property
    def expires_at(self) -> datetime:
        """When the payee stops accepting payment for this invoice."""
        return self.created_at + timedelta(seconds=self.expiry_seconds)


def decode_invoice(text: str, *, network: Network) -> Invoice:
    """Decode a BOLT 11 invoice for ``network`` or refuse it with the reason."""
    cleaned = text.strip()
    if cleaned.lower().startswith(_LIGHTNING_SCHEME):
        cleaned = cleaned[len(_LIGHTNING_SCHEME) :]
    hrp, words = _split_bech32(cleaned)
    invoice_network, amount_msat = _parse_hrp(hrp)
    if invoice_network is not network:
        raise PaymentError(
            f"This invoice is for {invoice_network.value}; the control room runs "
            f"on {network.value}. Ask the payee for a {network.value} invoice."
        )
    if len(words) < _TIMESTAMP_WORDS + _SIGNATURE_WORDS:
        raise PaymentError(
            "The invoice is too short to hold a timestamp and a signature; it "
            "was cut off. Copy it again in full."
        )
    body, signature_words = words[:-_SIGNATURE_WORDS], words[-_SIGNATURE_WORDS:]
    fields = _parse_fields(body[_TIMESTAMP_WORDS:], invoice_network)
    payee = _check_signature(hrp, body, signature_words, fields.payee_node_id)

    if fields.payment_hash is None:
        raise PaymentError(
            "The invoice has no payment hash (a 'p' field of 32 bytes); it cannot "
            "be paid. Ask the payee for a new invoice."
        )
    if fields.payment_secret is None:
        raise PaymentError(
            "The invoice has no payment secret (a 's' field), which BOLT 11 "
            "requires; ask the payee's wallet for a new invoice."
        )
    if fields.description is None and fields.description_hash is None:
        raise PaymentError(
            "The invoice has neither a description nor a description hash; "
            "BOLT 11 requires one. Ask the payee for a new invoice."
        )
    unknown_even = sorted(
        bit
        for bit in fields.features
        if bit % 2 == 0 and bit not in _KNOWN_EVEN_FEATURES
    )
    if unknown_even:
        raise PaymentError(
            f"The invoice requires feature bit {unknown_even[0]}, which the control "
            "room does not know; it cannot be paid safely. Ask the payee for an "
            "invoice without it."
        )
    if fields.expiry_seconds > _MAX_EXPIRY_SECONDS:
        raise PaymentError(
            f"The invoice claims to stay payable for {fields.expiry_seconds} "
            "seconds, more than a century; ask the payee for a new invoice."
        )
    return Invoice(
        text=cleaned.lower(),
        network=invoice_network,
        amount_msat=amount_msat,
        created_at=datetime.fromtimestamp(_to_int(body[:_TIMESTAMP_WORDS]), tz=UTC),
        expiry_seconds=fields.expiry_seconds,
        payment_hash=fields.payment_hash,
        payee_node_id=payee,
        payment_secret=fields.payment_secret,
        description=fields.description,
        description_hash=fields.description_hash,
        min_final_cltv_expiry=fields.min_final_cltv_expiry,
        fallback_addresses=tuple(fields.fallback_addresses),
        route_hints=tuple(fields.route_hints),
        features=fields.features,
        metadata=fields.metadata,
    )


def _split_bech32(text: str) -> tuple[str, list[int]]:
    if not text:
        raise PaymentError("No invoice was given.")
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in text):
        raise PaymentError(
            "The invoice contains a space, line break or non-ASCII character; "
            "copy it again as one unbroken word."
        )
    if text != text.lower() and text != text.upper():
        raise PaymentError(
            "The invoice mixes upper- and lower-case letters, which bech32 "
            "forbids; copy it again from its source."
        )
    lowered = text.lower()
    separator = lowered.rfind("1")
    if separator < 1:
        raise PaymentError(
            "This is not a Lightning invoice: it has no 'ln…1' prefix before "
            "its data. Copy it again from its source."
        )
    hrp, rest = lowered[:separator], lowered[separator + 1 :]
    bad = next((ch for ch in rest if ch not in bech32.CHARSET), None)
    if bad is not None:
        raise PaymentError(
            f"The invoice contains '{bad}', a character bech32 never uses; it "
            "was probably mistyped."
        )
    words = [bech32.CHARSET.index(ch) for ch in rest]
    if len(words) < 6 or bech32.bech32_verify_checksum(hrp, words) is not (
        bech32.Encoding.BECH32
    ):
        raise PaymentError(
            "The invoice's checksum does not match: a character is missing, "
            "extra or mistyped. Copy it again from its source."
        )
    return hrp, words[:-6]


def _parse_hrp(hrp: str) -> tuple[Network, int | None]:
    if not hrp.startswith("ln"):
        raise PaymentError(
            "This is not a Lightning invoice: it does not start with 'ln'."
        )
    rest = hrp[2:]
    for network, prefix in _PREFIXES:
        if rest.startswith(prefix):
            amount = rest[len(prefix) :]
            if amount and not amount[0].isdigit():
                continue  # e.g. "tbs…" must not be read as "tb" + amount "s…"
            return network, _parse_amount(amount)
    raise PaymentError(
        f"The invoice's prefix 'ln{rest[:6]}' is no Bitcoin network's (lnbc, lntb, "
        "lntbs or lnbcrt); it may be for another coin."
    )


def _parse_amount(amount: str) -> int | None:
    if not amount:
        return None
    digits, multiplier = amount, ""
    if not amount[-1].isdigit():
        digits, multiplier = amount[:-1], amount[-1]
        if multiplier not in _MULTIPLIERS:
            raise PaymentError(
                f"The invoice's amount ends in '{multiplier}', which is no BOLT 11 "
                "multiplier (m, u, n or p); the amount was mistyped."
            )
    if not digits.isdigit() or not digits.isascii() or digits.startswith("0"):
        raise PaymentError(
            "The invoice's amount is not a positive whole number before its "
            "multiplier; the invoice was mistyped."
        )
    numerator, denominator = _MULTIPLIERS.get(multiplier, (1, 1))
    scaled = int(digits) * numerator * _MSAT_PER_BTC
    if scaled % denominator:
        raise PaymentError(
            "The invoice's amount is a fraction of a millisatoshi, which cannot "
            "be paid; ask the payee for a new invoice."
        )
    return scaled // denominator


@dataclass
class _Fields:
    payment_hash: str | None = None
    payment_secret: str | None = None
    description: str | None = None
    description_hash: str | None = None
    payee_node_id: str | None = None
    expiry_seconds: int = DEFAULT_EXPIRY_SECONDS
    min_final_cltv_expiry: int = DEFAULT_MIN_FINAL_CLTV_EXPIRY
    features: frozenset[int] = frozenset()
    metadata: str | None = None

    def __post_init__(self) -> None:
        self.fallback_addresses: list[str] = []
        self.route_hints: list[tuple[RouteHop, ...]] = []


def _parse_fields(words: list[int], network: Network) -> _Fields:
    fields = _Fields()
    position = 0
    while position < len(words):
        if position + 3 > len(words):
            raise PaymentError(
                "The invoice ends in the middle of a field; it was cut off. Copy "
                "it again in full."
            )
        tag = bech32.CHARSET[words[position]]
        length = words[position + 1] * 32 + words[position + 2]
        data = words[position + 3 : position + 3 + length]
        if len(data) != length:
            raise PaymentError(
                f"The invoice's '{tag}' field claims {length} characters but the "
                "invoice ends sooner; it was cut off. Copy it again in full."
            )
        position += 3 + length
        _read_field(fields, tag, data, network)
    return fields


def _read_field(fields: _Fields, tag: str, data: list[int], network: Network) -> None:
    # BOLT 11: p, h, s and n fields of another length are skipped, not refused,
    # and so are fields of unknown type.
    if tag == "p" and len(data) == 52 and fields.payment_hash is None:
        fields.payment_hash = _to_bytes(data).hex()
    elif tag == "s" and len(data) == 52 and fields.payment_secret is None:
        fields.payment_secret = _to_bytes(data).hex()
    elif tag == "h" and len(data) == 52 and fields.description_hash is None:
        fields.description_hash = _to_bytes(data).hex()
    elif tag == "n" and len(data) == 53 and fields.payee_node_id is None:
        fields.payee_node_id = _to_bytes(data).hex()
    elif tag == "d" and fields.description is None:
        try:
            fields.description = _to_bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise PaymentError(
                "The invoice's description is not valid UTF-8 text; ask the payee "
                "for a new invoice."
            ) from None
    elif tag == "x":
        fields.expiry_seconds = _to_int(data)
    elif tag == "c":
        fields.min_final_cltv_expiry = _to_int(data)
    elif tag == "9":
        value = _to_int(data)
        fields.features = frozenset(
            bit for bit in range(value.bit_length()) if value >> bit & 1
        )
    elif tag == "m":
        fields.metadata = _to_bytes(data).hex()
    elif tag == "f" and data:
        address = _fallback_address(data[0], _to_bytes(data[1:]), network)
        if address is not None:
            fields.fallback_addresses.append(address)
    elif tag == "r":
        fields.route_hints.append(_route_hint(_to_bytes(data)))


def _fallback_address(version: int, program: bytes, network: Network) -> str | None:
    if version == 17 and len(program) == 20:
        script = b"\x76\xa9\x14" + program + b"\x88\xac"
    elif version == 18 and len(program) == 20:
        script = b"\xa9\x14" + program + b"\x87"
    elif version == 0 and len(program) in (20, 32):
        script = bytes([0, len(program)]) + program
    elif 1 <= version <= 16 and 2 <= len(program) <= 40:
        script = bytes([0x50 + version, len(program)]) + program
    else:
        return None  # BOLT 11: a fallback of unknown type is skipped
    text = address_from_script(script, network=network).text
    return parse_address(text, network=network).text


def _route_hint(raw: bytes) -> tuple[RouteHop, ...]:
    hop_size = 33 + 8 + 4 + 4 + 2
    if not raw or len(raw) % hop_size:
        raise PaymentError(
            f"The invoice's route hint is {len(raw)} bytes, not a whole number of "
            f"{hop_size}-byte hops; ask the payee for a new invoice."
        )
    hops = []
    for start in range(0, len(raw), hop_size):
        hop = raw[start : start + hop_size]
        hops.append(
            RouteHop(
                node_id=hop[:33].hex(),
                short_channel_id=int.from_bytes(hop[33:41], "big"),
                fee_base_msat=int.from_bytes(hop[41:45], "big"),
                fee_proportional_millionths=int.from_bytes(hop[45:49], "big"),
                cltv_expiry_delta=int.from_bytes(hop[49:51], "big"),
            )
        )
    return tuple(hops)


def _check_signature(
    hrp: str, body: list[int], signature_words: list[int], payee_node_id: str | None
) -> str:
    raw = _to_bytes(signature_words)
    compact, recovery_id = raw[:64], raw[64]
    # The signed bytes are the body's words padded with zero bits to a byte.
    padded = bytes(bech32.convertbits(body, 5, 8, True) or [])
    message = hashlib.sha256(hrp.encode("ascii") + padded).digest()
    if payee_node_id is not None:
        if int.from_bytes(compact[32:], "big") > _SECP256K1_ORDER // 2:
            raise PaymentError(
                "The invoice's signature is not in low-S form, which BOLT 11 "
                "requires when the payee is named; do not pay it, ask the payee "
                "for a new invoice."
            )
        try:
            verified = secp256k1.ecdsa_verify(
                secp256k1.ecdsa_signature_parse_compact(compact),
                message,
                secp256k1.ec_pubkey_parse(bytes.fromhex(payee_node_id)),
            )
        except ValueError:
            verified = False
        if not verified:
            raise PaymentError(
                "The invoice's signature does not match the payee it names; it was "
                "altered or forged. Do not pay it."
            )
        return payee_node_id
    if recovery_id > 3:
        raise PaymentError(
            f"The invoice's signature has recovery id {recovery_id} (0 to 3 "
            "exist), so its payee cannot be recovered. Do not pay it."
        )
    # The spec's high-S example keeps the recovery id of its low-S twin, so
    # recovery uses the low-S form of S; that gives the payee the spec states.
    s_value = int.from_bytes(compact[32:], "big")
    if _SECP256K1_ORDER // 2 < s_value < _SECP256K1_ORDER:
        compact = compact[:32] + (_SECP256K1_ORDER - s_value).to_bytes(32, "big")
    try:
        recoverable = secp256k1.ecdsa_recoverable_signature_parse_compact(
            compact, recovery_id
        )
        public_key = secp256k1.ecdsa_recover(recoverable, message)
    except ValueError:
        raise PaymentError(
            "The invoice's signature is not recoverable, so its payee is unknown; "
            "it was altered or forged. Do not pay it."
        ) from None
    return bytes(secp256k1.ec_pubkey_serialize(public_key)).hex()


def _to_bytes(words: list[int]) -> bytes:
    # BOLT 11 pads the last byte with zero bits; drop a trailing partial byte.
    converted = bech32.convertbits(words, 5, 8, True)
    if converted is None:  # pragma: no cover - 5-bit words always convert
        raise PaymentError("The invoice's data cannot be read as bytes.")
    if len(words) * 5 % 8:
        converted = converted[: len(words) * 5 // 8]
    return bytes(converted)


def _to_int(words: list[int]) -> int:
    value = 0
    for word in words:
        value = value * 32 + word
    return value
