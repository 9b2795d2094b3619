"""The plumbing both lab node servers share: a thread, a port, the faults.

A :class:`LabServer` listens on 127.0.0.1 only. Port 0 lets the OS pick;
after the first start the port is kept, so ``stop()`` then ``start()``
brings the node back where clients expect it (a node restarting).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar

from controlroom.payments.lab.faults import ChainSource, ChainView, Faults

logger = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow handler must not hold up stop()
    lab: LabServer
    connections: set[socket.socket]

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out, or a connection cut by stop(), is part of
        # the drill, not a server bug: note it without a traceback on stderr.
        logger.debug("lab_connection_error client=%s", client_address, exc_info=True)

    def drop_connections(self) -> None:
        """Cut every open keep-alive connection, as a dying node does."""
        for connection in list(self.connections):
            # A connection the client closed already raises; nothing to cut.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LabHandler(BaseHTTPRequestHandler):
    """A request handler that applies the server's faults first."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as real nodes do
    # Headers and body go out in two writes; with Nagle's algorithm on, a
    # keep-alive client's delayed ACK holds the body back about 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("lab_request %s", format % args)

    def faulty_view(self) -> ChainView | None:
        """Apply down/slow; return the chain to answer from, or None if down."""
        faults = self.server.lab.faults
        if faults.slow_seconds:
            time.sleep(faults.slow_seconds)
        if faults.down and faults.drop_connection:
            self.close_connection = True
            return None
        if faults.down:
            self.reply(503, b"Service Unavailable", "text/plain")
            return None
        return faults.view(self.server.lab.chain)

    def read_body(self) -> bytes:
        """Return the request body (bounded: lab requests are small)."""
        length = min(int(self.headers.get("Content-Length") or 0), 1_000_000)
        return self.rfile.read(length)

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send one complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class LabServer:
    """A lab node server in its own thread; use it as a context manager.

    Parameters
    ----------
    chain
        What it serves; may be swapped while it runs.
    port
        0 to let the OS pick a free port.
    """

    handler: ClassVar[type[LabHandler]]

    def __init__(self, chain: ChainSource, *, port: int = 0) -> None:
        self.chain = chain
        self.faults = Faults()
        self.port = port
        self.started_at = time.monotonic()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> LabServer:
        """Listen and serve in a background thread."""
        if self._server is not None:
            return self
        server = _Server((LOCALHOST, self.port), self.handler)
        server.lab = self
        server.connections = set()
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"lab-{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the socket; ``start()`` reopens the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
