"""Tests of the payment-node adapters, block parsing and the node list."""
