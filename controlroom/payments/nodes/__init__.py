"""Payment nodes: one small interface, the real protocol adapters behind it."""

from controlroom.payments.nodes.base import ChainTip, NodeConfig, PaymentNode

__all__ = ["ChainTip", "NodeConfig", "PaymentNode"]
