"""Lightning payments: the node's REST API, the trust rules and the service.

The control room holds no Lightning key. The node (LND) does; we ask it for
invoices and read their state over its REST API, and check every invoice it
hands us with our own BOLT 11 decoder before a customer sees it.
"""
