"""Reading handsets' texts round after round, keeping the failed ones.

Drivers' commands and customers' SMS orders are read the same way: wait for
texts on the SMPP gateway, hand them to a handler, and offer the texts it
could not take again in the next round (the SMSC was already answered for
them, so it will not send them again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from controlroom.errors import ConfigurationError
from controlroom.messaging.inbound import InboundText
from controlroom.messaging.smpp_gateway import SmppGateway

# A handler takes the gateway and a round's texts and returns the lines to
# print and the texts to try again.
Handler = Callable[
    [SmppGateway, list[InboundText]], tuple[Sequence[str], list[InboundText]]
]


def inbound_rounds(
    gateway: object,
    handle: Handler,
    *,
    senders: str,
    every: float,
    rounds: int | None = None,
) -> Iterator[str]:
    """Read texts every round and hand them on; yield the handler's lines.

    ``senders`` names who texts (e.g. "Drivers'") for the refusal below.

    Raises
    ------
    ConfigurationError
        The configured gateway cannot receive texts (only SMPP can).
    """
    if not isinstance(gateway, SmppGateway):
        raise ConfigurationError(
            f"{senders} texts come in over SMPP only: set CONTROLROOM_SMS_GATEWAY "
            "to 'smpp' to read them.",
            setting="sms_gateway",
        )
    retry: list[InboundText] = []
    done = 0
    while rounds is None or done < rounds:
        texts = [*retry, *gateway.inbound(wait_seconds=every, at_least=1)]
        lines, retry = handle(gateway, texts)
        yield from lines
        if retry:
            yield f"{len(retry)} text(s) kept to try again next round"
        done += 1
