"""Tests of the payments lab: the regtest chain, the archive, the servers."""
