"""Changing a backup behind the store's back, as an intruder would.

On the local store that means file access; on S3, a key with write access:
Object Lock keeps every locked version, but a new version can still be put
over a key and a plain DELETE still hides one behind a delete marker. The
current version is what a restore would read, so verify must notice both.
"""

from __future__ import annotations

import os
import stat

from controlroom.backup.s3_store import S3Store
from controlroom.backup.stores import BackupStore, LocalStore, RetentionCheck
from controlroom.errors import StoreRefused


def replace(store: BackupStore, key: str, data: bytes) -> None:
    """Make ``data`` the object under ``key``."""
    if isinstance(store, LocalStore):
        path = store.root / key
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        path.write_bytes(data)
    elif isinstance(store, S3Store):
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)
    else:
        raise TypeError(f"cannot tamper with {type(store).__name__}")


def remove(store: BackupStore, key: str) -> None:
    """Make the object under ``key`` disappear from listings and reads."""
    if isinstance(store, LocalStore):
        (store.root / key).unlink()
    elif isinstance(store, S3Store):
        store.client.delete_object(Bucket=store.bucket, Key=store.prefix + key)
    else:
        raise TypeError(f"cannot tamper with {type(store).__name__}")


def flip_byte(store: BackupStore, key: str, offset: int) -> None:
    """Flip the low bit of one byte of an object."""
    data = bytearray(store.get(key))
    data[offset] ^= 0x01
    replace(store, key, bytes(data))


def swap(store: BackupStore, first: str, second: str) -> None:
    """Exchange the contents of two objects."""
    one, other = store.get(first), store.get(second)
    replace(store, first, other)
    replace(store, second, one)


class FlakyStore(LocalStore):
    """A local store whose writes can be refused, like a full or locked target."""

    refusing = False
    retention_problem = ""

    def put(self, key: str, data: bytes) -> None:
        if self.refusing:
            raise StoreRefused(f"access denied writing {key}", key=key)
        super().put(key, data)

    def check_retention(self) -> RetentionCheck:
        if self.retention_problem:
            return RetentionCheck(False, "", (self.retention_problem,))
        return super().check_retention()
