"""The payments lab: a regtest chain, real mainnet data and local node servers.

Everything here runs on 127.0.0.1 or in-process, for tests and drills; the
servers can be told to go down, lag, answer slowly, fork or lie
(``faults``).
"""
