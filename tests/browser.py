"""A headless Chromium for the tests that look at pages as a person would (the run's report).

Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it as it installs Slurm)
is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ended by
a NUL byte on file descriptors 3 and 4), so no web socket and no network are needed. Started with
a fresh profile and without background networking (this machine's network is closed); stopped by
its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time

__all__ = ["find_chromium", "HeadlessChromium", "NO_CHROMIUM"]

NO_CHROMIUM = (
    "no chromium on PATH: the report is checked in a real browser, Debian's `chromium` "
    "(apt-get install chromium; .ci/run installs it)"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    """The browser's path, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class HeadlessChromium:
    """One browser with one page; use as a context manager."""

    def __init__(self, binary: str, width: int = 1400, height: int = 1800) -> None:
        self.profile = tempfile.mkdtemp(prefix="adain-chromium-")
        to_browser, self._to = os.pipe()
        self._from, from_browser = os.pipe()

        def pipes_as_3_and_4() -> None:  # what --remote-debugging-pipe reads and writes
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            pass_fds=(3, 4),
            preexec_fn=pipes_as_3_and_4,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._next = b"", 0
        page = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.send("Page.enable", session=self.session)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, session: str | None = None, timeout: float = 60, **params) -> dict:
        """One DevTools command; its result (events met on the way are dropped)."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise TimeoutError(method)

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._from, 1 << 20) if ready else b""
            if not chunk:
                raise EOFError("chromium closed its pipe or did not answer")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(line)

    def open(self, url: str) -> None:
        self.send("Page.navigate", session=self.session, url=url)

    def evaluate(self, expression: str, context: int | None = None):
        """The value of a JavaScript expression in the page (or in the execution ``context``)."""
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context is not None:
            params["contextId"] = context
        result = self.send("Runtime.evaluate", session=self.session, **params)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, context: int | None = None):
        """Poll ``expression`` until it is truthy; its value (``None`` on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression, context)
            except RuntimeError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        return None

    def frame_context(self, url_prefix: str) -> int | None:
        """An execution context in the child frame whose URL starts with ``url_prefix`` (e.g. an
        ``<iframe>`` showing a ``data:`` page), to evaluate in it."""

        def frames(tree):
            yield tree["frame"]
            for child in tree.get("childFrames", []):
                yield from frames(child)

        tree = self.send("Page.getFrameTree", session=self.session)["frameTree"]
        for frame in frames(tree):
            if frame.get("url", "").startswith(url_prefix) and frame.get("parentId"):
                world = self.send("Page.createIsolatedWorld", session=self.session, frameId=frame["id"])
                return world["executionContextId"]
        return None

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()  # this browser, by its own PID
            self.process.wait()
        for fd in (self._to, self._from):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)
