"""The streaming backup: the journal shipped in sealed segments to write-once stores.

``segments`` seals events into segments with manifests (no I/O); ``stores``
and ``s3_store`` are the write-once stores; ``shipper`` ships continuously
and raises the backup alarm; ``verify`` proves a store's chain and names its
first problem; ``board`` is the Backups screen's read model.
"""
