"""The control room's errors, one tree for every capability.

::

    ControlRoomError
     +-- ConfigurationError        a setting is missing or malformed
     +-- StorageError              the database cannot be reached or used
     |    +-- DatabaseUnavailable  wrong URL, server down, file missing
     |    +-- DatabaseCorrupt      the file is not a database or fails its check
     |    +-- SchemaOutdated       migrations have not been applied
     +-- JournalError
     |    +-- JournalBroken        verification found an edited, missing or
     |                             reordered event (``seq`` names the first)
     +-- AuthenticationError       unknown user or wrong password
     |    +-- SignInRequired       a screen opened without signing in first
     +-- PermissionDenied          the user's role may not do this
     +-- PackageCodeError          a package code is malformed or mistyped
     +-- OrderError                an order or parcel change is not allowed
     +-- PaymentError              an invoice or payment change is not allowed
     |    +-- ImportRefused        a file of observed payments was refused
     |    |                        whole (``problems`` names every bad row)
     |    +-- PaymentNodeError     a payment node failed us
     |         +-- NodeUnavailable down, refused, timed out, or answered with
     |         |                   an error (``node`` names it)
     |         |    +-- NodeAccessDenied  refused our credentials (a
     |         |                          Lightning macaroon, an RPC password)
     |         +-- NodeMisbehaving answered, but with data that fails its own
     |         |                   checks (wrong hash, bad merkle root, no
     |         |                   proof of work, another chain)
     |         +-- InvoiceUnknownToNode  the Lightning node has no invoice
     |                             with this payment hash
     +-- DispatchError             a plan, route or stop change is not allowed
     +-- HealthError               an unknown component or state
     +-- IncidentError             an incident time or cadence makes no sense
                                   (a naive time, a report before the start)
     +-- MessagingError            a message cannot be composed or sent
     |    +-- SmsTooLong           more segments than a broadcast may use
     |    |                        (``segments`` and ``limit`` say by how much)
     |    +-- BroadcastError       a broadcast, notice or outbox step is refused
     |    |    +-- TemplateRefused a template has bad syntax or an unknown
     |    |                        placeholder (``line`` names where)
     |    +-- DriverSmsError       a driver's phone cannot be registered, or a
     |         |                   driver's text cannot be applied
     |         +-- CommandNotUnderstood  a driver's text is no command; the
     |                             message is the reply to send back
     +-- DemoWorldError            the demo world cannot be built or played
     +-- StatusSiteError           the status site cannot be built into or
     |                             read from a folder (``folder`` names it)
     +-- BackupError               a backup store cannot be reached or set up
     |    +-- StoreRefused         the store refused a write, an overwrite or
     |    |                        a delete of a locked object (``key``)
     |    +-- BackupBroken         verification found a gap, an altered,
     |    |                        truncated or reordered segment (``key``
     |    |                        and ``seq`` name the first)
     |    +-- RestoreRefused       a restore or drill would not give a whole
     |                             database: no good snapshot, a target in
     |                             use, a count or head that does not match
     +-- AvailabilityError         fail-over, cluster or replication trouble
          +-- WriteInDoubt         a commit's outcome stayed unknown after every
                                   retry (``key`` names the write)
     +-- FallbackOrderError        a fallback order cannot be spooled, read or
          |                        merged back
          +-- SpoolBroken          the spool's chain is broken: an edited,
          |                        deleted, reordered or truncated record
          |                        (``seq`` names the first)
          +-- OrderTextNotUnderstood  (controlroom.fallback_orders.order_texts)
          |                        a customer's text is no order; the
          |                        message is the reply to send back
          +-- OrderNotTaken        (controlroom.fallback_orders.intake) neither
                                   the primary nor the spool took a web order

Pages catch ``ControlRoomError`` and show its message with ``st.error``; the
message is written for the person who has to act on it.
"""

from __future__ import annotations

from collections.abc import Sequence


class ControlRoomError(Exception):
    """Base of every error the control room raises on purpose."""


class ConfigurationError(ControlRoomError):
    """A setting is missing or malformed."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class StorageError(ControlRoomError):
    """The database cannot be reached or used."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class DatabaseUnavailable(StorageError):
    """Wrong URL, server down, or a database file that does not exist."""


class DatabaseCorrupt(StorageError):
    """The file is not a database, or it fails its integrity check."""


class SchemaOutdated(StorageError):
    """The database exists but its migrations have not all been applied."""


class JournalError(ControlRoomError):
    """The journal cannot be written or read."""


class JournalBroken(JournalError):
    """Verification found an edited, missing or reordered event."""

    def __init__(self, message: str, *, seq: int, problem: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.problem = problem


class AuthenticationError(ControlRoomError):
    """Unknown user or wrong password (deliberately not told apart)."""


class SignInRequired(AuthenticationError):
    """A screen was opened outside the control room, before signing in."""


class PermissionDenied(ControlRoomError):
    """The signed-in user's role may not perform this action."""

    def __init__(self, message: str, *, role: str, action: str) -> None:
        super().__init__(message)
        self.role = role
        self.action = action


class PackageCodeError(ControlRoomError):
    """A package code is malformed or fails its check symbol."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class OrderError(ControlRoomError):
    """An order or parcel change is not allowed in its current state."""


class PaymentError(ControlRoomError):
    """An invoice or payment change is not allowed in its current state."""


class ImportRefused(PaymentError):
    """A file of observed payments was refused whole; nothing was imported."""

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class PaymentNodeError(PaymentError):
    """A payment node failed us; ``node`` is its key."""

    def __init__(self, message: str, *, node: str) -> None:
        super().__init__(message)
        self.node = node


class NodeUnavailable(PaymentNodeError):
    """The node is down, refused, timed out or answered with an error."""


class NodeMisbehaving(PaymentNodeError):
    """The node answered with data that fails its own checks."""


class NodeAccessDenied(NodeUnavailable):
    """The node refused our credentials (macaroon, RPC user or password)."""


class InvoiceUnknownToNode(PaymentNodeError):
    """The Lightning node has no invoice with ``payment_hash``."""

    def __init__(self, message: str, *, node: str, payment_hash: str) -> None:
        super().__init__(message, node=node)
        self.payment_hash = payment_hash


class DispatchError(ControlRoomError):
    """A plan, route or stop change is not allowed."""


class HealthError(ControlRoomError):
    """An unknown component or component state."""


class IncidentError(ControlRoomError):
    """An incident's times or report cadence are inconsistent or unusable."""


class MessagingError(ControlRoomError):
    """A message to drivers or customers cannot be composed or sent."""


class SmsTooLong(MessagingError):
    """The text needs more SMS segments than one message may use."""

    def __init__(self, message: str, *, segments: int, limit: int) -> None:
        super().__init__(message)
        self.segments = segments
        self.limit = limit


class BroadcastError(MessagingError):
    """A broadcast, a parcel notice or an outbox step cannot go ahead."""


class TemplateRefused(BroadcastError):
    """A message template has a syntax error or names an unknown placeholder."""

    def __init__(self, message: str, *, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class DriverSmsError(MessagingError):
    """A driver's phone cannot be registered, or a driver's text not applied."""


class CommandNotUnderstood(DriverSmsError):
    """A driver's text is not a command; the message is the helpful reply."""


class DemoWorldError(ControlRoomError):
    """The demo world cannot be built or played."""


class StatusSiteError(ControlRoomError):
    """The status site cannot be built into, or read from, a folder."""

    def __init__(self, message: str, *, folder: str) -> None:
        super().__init__(message)
        self.folder = folder


class AvailabilityError(ControlRoomError):
    """A fail-over, cluster member or replication step failed."""


class WriteInDoubt(AvailabilityError):
    """A write's commit may or may not have been stored; ``key`` names it.

    Never a failure: re-submitting the same key later either stores it or
    finds it already stored.
    """

    def __init__(self, message: str, *, key: str | None, attempts: int) -> None:
        super().__init__(message)
        self.key = key
        self.attempts = attempts


class BackupError(ControlRoomError):
    """A backup store cannot be reached, read or set up as required."""


class StoreRefused(BackupError):
    """The store refused to write, overwrite or delete the object ``key``."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class BackupBroken(BackupError):
    """Verification found the first gap or altered object in a backup."""

    def __init__(self, message: str, *, key: str, seq: int | None) -> None:
        super().__init__(message)
        self.key = key
        self.seq = seq


class RestoreRefused(BackupError):
    """A restore or drill was refused; ``key`` names the object, if one."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class FallbackOrderError(ControlRoomError):
    """A fallback order cannot be spooled, read or merged back."""


class SpoolBroken(FallbackOrderError):
    """The spool's hash chain does not hold; ``seq`` names the first bad record."""

    def __init__(self, message: str, *, folder: str, seq: int, problem: str) -> None:
        super().__init__(message)
        self.folder = folder
        self.seq = seq
        self.problem = problem
