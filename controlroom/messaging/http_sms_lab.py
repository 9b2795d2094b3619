"""A small SMS provider on 127.0.0.1 speaking the HTTP API ``http_sms`` uses.

It answers the Twilio-shaped Messages API (see :mod:`http_sms`): ``POST``
creates a message after checking HTTP Basic credentials, counts its
segments with our own :func:`plan_sms` (or a count a test sets, to show a
mismatch), records it, and ``GET`` by id reports ``sent`` on the first poll
and the final status set for it after that. It can also build a signed
status callback body, as the provider would POST it.

Faults an operator meets in real life can be switched on while it runs:
throttling with Retry-After, rejection with a reason, a 500, slow answers,
refusing the token, an oversized answer and a redirect (to itself).
"""

from __future__ import annotations

import base64
import enum
import itertools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from controlroom.messaging.http_sms import API_VERSION, SIGNATURE_HEADER, sign_callback
from controlroom.messaging.segments import plan_sms


class LabFault(enum.StrEnum):
    """What the lab provider does to the next requests instead of working."""

    NONE = "none"
    THROTTLE = "throttle"
    REJECT = "reject"
    SERVER_ERROR = "server error"
    SLOW = "slow"
    WRONG_TOKEN = "wrong token"
    OVERSIZED = "oversized answer"
    REDIRECT = "redirect"


@dataclass
class LabMessage:
    """One message the lab accepted."""

    sid: str
    to: str
    sender: str
    body: str
    segments: int
    final_status: str
    polls: int = 0


class LabSmsProvider:
    """The lab provider; use as a context manager, then talk to ``.url``."""

    def __init__(self, *, account_id: str, auth_token: str) -> None:
        self.account_id = account_id
        self._token = auth_token
        self.messages: list[LabMessage] = []
        self.fault = LabFault.NONE
        self.retry_after = "2"
        self.reject_reason = "The 'To' number is not a valid phone number."
        self.reject_code = 21211
        self.slow_seconds = 2.0
        self.final_status = "delivered"
        self.segments_override: int | None = None
        self._ids = (f"SM{number:032x}" for number in itertools.count(1))
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval so closing the lab does not hold up each test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        """The lab's base URL, on 127.0.0.1 and the port it was given."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LabSmsProvider:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._released.set()  # wake any handler held by the SLOW fault
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def message(self, sid: str) -> LabMessage:
        """The recorded message with id ``sid``."""
        with self._lock:
            return next(found for found in self.messages if found.sid == sid)

    def set_final_status(self, sid: str, status: str) -> None:
        """Make a message end ``delivered``, ``undelivered`` or ``failed``."""
        self.message(sid).final_status = status

    def status_callback(
        self, sid: str, callback_url: str, *, token: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers the provider would POST for ``sid``'s final status.

        ``token`` signs with another token, to forge a callback.
        """
        found = self.message(sid)
        fields = {
            "AccountSid": self.account_id,
            "MessageSid": sid,
            "MessageStatus": found.final_status,
            "To": found.to,
        }
        if found.final_status != "delivered":
            fields["ErrorCode"] = "30003"
        signature = sign_callback(token or self._token, callback_url, fields)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature,
        }
        return urlencode(fields).encode(), headers

    def _authorised(self, header: str | None) -> bool:
        if self.fault is LabFault.WRONG_TOKEN or header is None:
            return False
        expected = base64.b64encode(
            f"{self.account_id}:{self._token}".encode()
        ).decode()
        return header == f"Basic {expected}"

    def _create(self, form: dict[str, str]) -> LabMessage:
        text = form.get("Body", "")
        segments = (
            self.segments_override
            if self.segments_override is not None
            else plan_sms(text).segment_count
        )
        with self._lock:
            found = LabMessage(
                sid=next(self._ids),
                to=form.get("To", ""),
                sender=form.get("From", ""),
                body=text,
                segments=segments,
                final_status=self.final_status,
            )
            self.messages.append(found)
        return found


def _handler_for(lab: LabSmsProvider) -> type[BaseHTTPRequestHandler]:
    messages = re.compile(
        rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages"
        r"(?:/(?P<sid>[^/]+))?\.json$"
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            # Quiet: tests read the caplog and do not want access lines.
            return

        def do_POST(self) -> None:
            self._route("POST")

        def do_GET(self) -> None:
            self._route("GET")

        def _route(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self._faulted():
                return
            if not lab._authorised(self.headers.get("Authorization")):
                self._send(401, _problem(20003, "Authenticate"))
                return
            matched = messages.match(self.path)
            if matched is None or matched["account"] != lab.account_id:
                self._send(404, _problem(20404, "The resource was not found."))
                return
            sid = matched["sid"]
            if method == "POST" and sid is None:
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                found = lab._create(form)
                self._send(201, _resource(found, "queued"))
            elif method == "GET" and sid is not None:
                try:
                    found = lab.message(sid)
                except StopIteration:
                    self._send(404, _problem(20404, f"No message {sid}."))
                    return
                found.polls += 1
                status = "sent" if found.polls == 1 else found.final_status
                self._send(200, _resource(found, status))
            else:
                self._send(405, _problem(20004, "Method not allowed."))

        def _faulted(self) -> bool:
            fault = lab.fault
            if fault is LabFault.THROTTLE:
                self._send(
                    429,
                    _problem(20429, "Too Many Requests"),
                    {"Retry-After": lab.retry_after},
                )
                return True
            if fault is LabFault.REJECT:
                self._send(400, _problem(lab.reject_code, lab.reject_reason))
                return True
            if fault is LabFault.SERVER_ERROR:
                self._send(500, _problem(20500, "Internal Server Error"))
                return True
            if fault is LabFault.OVERSIZED:
                self._send(200, {"sid": "SM1", "padding": "x" * 1_000_000})
                return True
            if fault is LabFault.REDIRECT:
                self._send(
                    307, _problem(20307, "Moved"), {"Location": f"{lab.url}/moved"}
                )
                return True
            if fault is LabFault.SLOW:
                lab._released.wait(lab.slow_seconds)
            return False

        def _send(
            self,
            code: int,
            payload: dict[str, Any],
            headers: dict[str, str] | None = None,
        ) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                # The client gave up (a timeout test); nothing to answer.
                return

    return Handler


def _resource(found: LabMessage, status: str) -> dict[str, Any]:
    return {
        "sid": found.sid,
        "to": found.to,
        "from": found.sender,
        "body": found.body,
        "status": status,
        "num_segments": str(found.segments),
        "error_code": None if status in ("queued", "sent", "delivered") else 30003,
    }


def _problem(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": 0}
