"""A headless Chromium driven over the DevTools protocol, for the site tests.

Just enough of the protocol (https://chromedevtools.github.io/devtools-protocol/)
to open a page, type, read the page and watch every request: the ``Fetch``
domain pauses each request, and only those to the allowed origin go on.
Chromium's resolver is also told to resolve no name but 127.0.0.1, so a
request that slipped past ``Fetch`` would still fail.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.sync.client import ClientConnection, connect

REPLY_SECONDS = 15.0


def find_chromium() -> str | None:
    """Return the Chromium binary on PATH, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """One WebSocket to the browser; replies by id, events to handlers."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._handlers: dict[str, Callable[[dict[str, Any], str | None], None]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self._socket:
            message = json.loads(raw)
            if "id" in message:
                self._replies.pop(message["id"]).put(message)
                continue
            handler = self._handlers.get(message.get("method", ""))
            if handler is not None:
                handler(message.get("params", {}), message.get("sessionId"))

    def on(
        self, method: str, handler: Callable[[dict[str, Any], str | None], None]
    ) -> None:
        """Call ``handler(params, session_id)`` for every ``method`` event."""
        self._handlers[method] = handler

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
    ) -> queue.Queue[dict[str, Any]]:
        """Send a command; return where its reply will arrive."""
        number = next(self._ids)
        reply: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1)
        self._replies[number] = reply
        message: dict[str, Any] = {
            "id": number,
            "method": method,
            "params": params or {},
        }
        if session is not None:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        return reply

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
    ) -> dict[str, Any]:
        """Send a command and wait for its result; raise on a protocol error."""
        message = self.send(method, params, session).get(timeout=REPLY_SECONDS)
        if "error" in message:
            raise RuntimeError(f"{method} failed: {message['error']}")
        result: dict[str, Any] = message.get("result", {})
        return result


class Page:
    """One tab whose requests may go to ``allowed_origin`` only."""

    def __init__(self, tools: DevTools, allowed_origin: str) -> None:
        self.tools = tools
        self.allowed = urlsplit(allowed_origin)
        self.requested: list[str] = []
        self.blocked: list[str] = []
        self.target: str = tools.call("Target.createTarget", {"url": "about:blank"})[
            "targetId"
        ]
        self.session: str = tools.call(
            "Target.attachToTarget", {"targetId": self.target, "flatten": True}
        )["sessionId"]
        tools.on("Network.requestWillBeSent", self._seen)
        tools.on("Fetch.requestPaused", self._paused)
        self.call("Network.enable")
        self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        self.call("Page.enable")

    def close(self) -> None:
        """Close the tab."""
        self.tools.call("Target.closeTarget", {"targetId": self.target})

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command to this tab."""
        return self.tools.call(method, params, self.session)

    def _seen(self, params: dict[str, Any], session: str | None) -> None:
        self.requested.append(params["request"]["url"])

    def _paused(self, params: dict[str, Any], session: str | None) -> None:
        url = params["request"]["url"]
        parts = urlsplit(url)
        local = (parts.scheme, parts.netloc) == (
            self.allowed.scheme,
            self.allowed.netloc,
        )
        if local:
            self.tools.send(
                "Fetch.continueRequest", {"requestId": params["requestId"]}, session
            )
            return
        self.blocked.append(url)
        self.tools.send(
            "Fetch.failRequest",
            {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
            session,
        )

    def fix_clock(self, epoch_ms: int) -> None:
        """Make ``Date.now()`` in every later document return ``epoch_ms``."""
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": f"Date.now = function () {{ return {epoch_ms}; }};"},
        )

    def open(self, url: str) -> None:
        """Navigate and wait until the page and its script are ready."""
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && !!window.CryptoPackStatus")

    def evaluate(self, expression: str) -> Any:
        """Return the value of ``expression`` in the page (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 10.0) -> Any:
        """Poll until ``expression`` is truthy and return it; raise if it never is."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"{expression!r} stayed false for {seconds} s")

    def type_text(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` as keyboard input."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", {"text": text})

    def press_enter(self) -> None:
        """Press and release Enter in the focused element."""
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **key})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", **key})


@contextmanager
def headless_chromium(binary: str, profile: Path) -> Iterator[DevTools]:
    """Start Chromium with its own profile; yield a DevTools connection to it."""
    args = [
        binary,
        "--headless=new",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-extensions",
        "--disable-sync",
        "--metrics-recording-only",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "about:blank",
    ]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses its sandbox as root
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = _browser_socket(profile, process)
        with connect(url, max_size=None) as socket:
            yield DevTools(socket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _browser_socket(profile: Path, process: subprocess.Popen[bytes]) -> str:
    # Chromium writes the port it chose and the browser's path to this file.
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode} at start")
        lines = marker.read_text().split() if marker.exists() else []
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise TimeoutError("Chromium did not open its DevTools port within 30 s")
