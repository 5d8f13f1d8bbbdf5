"""Open a page in headless Chromium and check it: loaded, no broken image, no console error.

A minimal client of the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (stdlib only):
Chromium reads JSON commands on its fd 3 and writes JSON replies and events on its fd 4, each
message ended by a NUL byte. We attach to the page, enable the Page, Runtime, Log and Network
domains, navigate to the file, wait for the load event (which waits for every image), then ask the
page which <img> elements did not decode (``complete && naturalWidth > 0``). Console errors come
from Runtime.consoleAPICalled (console.error/assert), Runtime.exceptionThrown (uncaught errors) and
Log.entryAdded at level "error" (e.g. "Failed to load resource"); any request that leaves the
machine (not file:, data:, about: or blob:) is reported too, since a report must be self-contained.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--remote-debugging-pipe", "about:blank")
BLOCKED = ("http://*", "https://*", "ws://*", "wss://*", "ftp://*")
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome-error:")
IMAGE_CHECK = """(() => { const images = Array.from(document.images);
  return {ready: document.readyState, title: document.title, count: images.length,
          broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))}; })()"""


def find_chromium() -> str | None:
    """$DIFFLAB_CHROMIUM, else Debian's binary (/usr/lib/chromium/chromium), else chromium or Chrome on PATH."""
    for name in filter(None, (os.environ.get("DIFFLAB_CHROMIUM"),) + CANDIDATES):
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


@dataclass
class PageCheck:
    """What the browser saw."""

    url: str
    loaded: bool = False
    title: str = ""
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.loaded and not (self.broken_images or self.console_errors or self.external_requests)

    def summary(self) -> str:
        if self.ok:
            return f"{self.url}: loaded, {self.images} images, no console error"
        problems = ([] if self.loaded else ["did not load"]) + [f"broken image {s}" for s in self.broken_images] \
            + [f"console error: {e}" for e in self.console_errors] \
            + [f"external request {u}" for u in self.external_requests]
        return f"{self.url}: " + "; ".join(problems)


class _DevTools:
    """Chromium with a DevTools pipe: `call` sends a command and waits for its reply, keeping events."""

    def __init__(self, binary: str, profile: str, log, timeout: float):
        import fcntl
        to_read, self._to_write = os.pipe()
        self._from_read, from_write = os.pipe()
        # park the child's ends above 2 so that dup2 onto 3 and 4 cannot clobber one with the other
        child_in = fcntl.fcntl(to_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_read)
        os.close(from_write)

        def place_fds() -> None:  # runs in the child, before exec: Chromium wants fds 3 and 4
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        try:
            self.process = subprocess.Popen([binary, f"--user-data-dir={profile}", *FLAGS], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log, pass_fds=(3, 4),
                                            preexec_fn=place_fds)  # noqa: PLW1509 — dup2 only
        finally:
            os.close(child_in)
            os.close(child_out)
        self.deadline = time.monotonic() + timeout
        self.events: list[dict] = []
        self._buffer, self._next_id = b"", 0

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self._from_read], [], [], max(0.0, left))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_read, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._receive())

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within `seconds` (late console messages)."""
        end = min(self.deadline, time.monotonic() + seconds)
        while time.monotonic() < end:
            if not select.select([self._from_read], [], [], max(0.0, end - time.monotonic()))[0]:
                break
            self.events.append(self._receive())

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.deadline = time.monotonic() + 5
                self.call("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError, ValueError):
            pass
        finally:
            for fd in (self._to_write, self._from_read):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _console_errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
    return errors


def check_page(page: str | os.PathLike, timeout: float = 60.0, chromium: str | None = None) -> PageCheck:
    """Load `page` (a local HTML file) in headless Chromium and report what went wrong, if anything."""
    binary = chromium or find_chromium()
    if binary is None:
        raise UserError("no Chromium found: install Debian's chromium (apt-get install chromium) or set DIFFLAB_CHROMIUM")
    url = Path(page).resolve().as_uri()
    result = PageCheck(url)
    with tempfile.TemporaryDirectory(prefix="difflab-chromium-", ignore_cleanup_errors=True) as profile, \
            open(Path(profile) / "chromium.log", "wb") as log:
        browser = _DevTools(binary, profile, log, timeout)
        try:
            targets = browser.call("Target.getTargets")["targetInfos"]
            target = next(t["targetId"] for t in targets if t.get("type") == "page")
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.call(f"{domain}.enable", session=session)
            try:  # fail requests that would leave the machine at once (they are still reported)
                browser.call("Network.setBlockedURLs", {"urls": list(BLOCKED)}, session=session)
            except RuntimeError:
                pass  # a Chromium without this experimental command: such requests just take longer
            navigation = browser.call("Page.navigate", {"url": url}, session=session)
            if navigation.get("errorText"):
                result.console_errors.append(f"navigation failed: {navigation['errorText']}")
                return result
            browser.wait_for("Page.loadEventFired")
            state = browser.call("Runtime.evaluate", {"expression": IMAGE_CHECK, "returnByValue": True},
                                 session=session)["result"]["value"]
            browser.drain(0.3)
        except (OSError, EOFError, TimeoutError, RuntimeError, StopIteration, KeyError) as err:
            log.flush()
            tail = (Path(profile) / "chromium.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise UserError(f"headless Chromium ({binary}) failed: {err or type(err).__name__}"
                            + (f"; its last words: {tail[0][:300]}" if tail else "")) from None
        finally:
            browser.close()
    result.loaded = state.get("ready") == "complete"
    result.title, result.images = state.get("title", ""), int(state.get("count", 0))
    result.broken_images = [str(s) for s in state.get("broken", [])]
    result.console_errors = _console_errors(browser.events)
    result.external_requests = sorted({e["params"]["request"]["url"] for e in browser.events
                                       if e.get("method") == "Network.requestWillBeSent"
                                       and not e["params"]["request"]["url"].startswith(LOCAL_SCHEMES)})
    return result
