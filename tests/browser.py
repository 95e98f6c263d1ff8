"""Open a local page in Debian's headless ``chromium`` over the DevTools protocol (on a pipe:
no port, no network) and report what a reader would get: the DOM facts a script asks for,
console messages, uncaught exceptions, log entries (CSP violations, failed loads), every
request the page made, and a full-page PNG screenshot.

``scripts/chromium.sh`` (run by ``scripts/test.sh``) installs chromium where it is missing.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)
TIMEOUT = 30.0


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Rendered:
    facts: Any  # what the probe expression returned
    screenshot: bytes  # PNG of the whole page
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class _Pipe:
    """The DevTools protocol on fds 3 (to the browser) and 4 (from it), NUL-separated JSON."""

    def __init__(self, to_browser: int, from_browser: int) -> None:
        self.out, self.inp = to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        reply = self._until(lambda m: m.get("id") == self.next_id, method)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        return self._until(lambda m: m.get("method") == method, method)

    def _until(self, wanted: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.inp], [], [], left)[0]:
                raise TimeoutError(f"chromium did not answer {what} in {TIMEOUT:.0f} s")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe while waiting for {what}")
            self.buffer += chunk


def render(page: Path, probe: str, *, width: int = 1100, height: int = 900) -> Rendered:
    """Load ``page`` (a local file) and evaluate the JavaScript expression ``probe`` (its
    JSON-able value is returned as ``facts``) after the load event."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium")
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def wire() -> None:  # in the child: the pipe ends on fds 3 and 4, where chromium looks
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_r, from_w)]  # clear of 3, 4
        for target, fd in zip((3, 4), high, strict=True):
            os.dup2(fd, target)
            os.set_inheritable(target, True)

    with tempfile.TemporaryDirectory(prefix="askdocs-chromium-") as profile:
        proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,  # noqa: PLW1509 (only fcntl and dup2: no locks taken)
            close_fds=False,  # our fds are not inheritable (PEP 446); only 3 and 4 pass
        )
        os.close(to_r)
        os.close(from_w)
        pipe = _Pipe(to_w, from_r)
        try:
            return _drive(pipe, page, probe, width, height)
        finally:
            with contextlib.suppress(OSError, RuntimeError, TimeoutError):
                pipe.call("Browser.close")
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(to_w)
            os.close(from_r)


def _drive(pipe: _Pipe, page: Path, probe: str, width: int, height: int) -> Rendered:
    targets = pipe.call("Target.getTargets")["targetInfos"]
    target = next(t["targetId"] for t in targets if t["type"] == "page")
    session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session)
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    pipe.events.clear()
    pipe.call("Page.navigate", session, url=page.resolve().as_uri())
    pipe.wait_event("Page.loadEventFired")
    facts = pipe.call("Runtime.evaluate", session, expression=probe, returnByValue=True)
    size = pipe.call("Page.getLayoutMetrics", session)["cssContentSize"]
    shot = pipe.call(
        "Page.captureScreenshot",
        session,
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
    )
    rendered = Rendered(
        facts=facts.get("result", {}).get("value"),
        screenshot=base64.b64decode(shot["data"]),
    )
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            rendered.console.append(f"{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            rendered.exceptions.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Log.entryAdded":
            entry = params["entry"]
            rendered.log_entries.append(f"{entry['level']} {entry['source']}: {entry['text']}")
        elif method == "Network.requestWillBeSent":
            rendered.requests.append(params["request"]["url"])
    return rendered
