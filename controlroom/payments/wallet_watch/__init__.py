"""The static-wallet fallback: watch-only wallets watched by hand.

When payment tracking is down, orders get an address from a fallback wallet;
ops record or import what they observe, the control room proposes which
order each payment belongs to, and two different people confirm and verify.
"""
