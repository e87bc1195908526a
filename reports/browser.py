"""Opening a rendered report in headless Chromium over the DevTools protocol.

Proves what a reader would see: the page loads with no failed requests, no console errors and nothing
fetched from the network, the charts are drawn, and a screenshot records it. Uses Debian's `chromium`
(never a downloaded browser) with networking switched off.
"""
from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1")


class BrowserError(Exception):
    """Chromium is missing or could not open the page."""


@dataclasses.dataclass
class PageCheck:
    url: str
    console_errors: list[str]
    failed_requests: list[str]
    requested_urls: list[str]
    charts: int  # <svg class="chart"> elements with something drawn in them
    report_data: dict | None  # the page's embedded report data, as the browser parsed it
    screenshot: pathlib.Path | None

    @property
    def network_urls(self) -> list[str]:
        """Requests that left the file: the report must make none."""
        return [u for u in self.requested_urls if not u.startswith(("file:", "data:", "about:"))]

    @property
    def ok(self) -> bool:
        return not self.console_errors and not self.failed_requests and not self.network_urls and self.charts > 0


def find_chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("headless checks need Debian's chromium: run `apt-get install -y chromium`")


class _Session:
    def __init__(self, socket: websocket.WebSocket):
        self.socket, self.ids = socket, itertools.count(1)
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(event.get("method") == method for event in self.events):
            return
        while time.monotonic() < deadline:
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.socket.recv())
            self.events.append(message)
            if message.get("method") == method:
                return
        raise BrowserError(f"timed out waiting for {method}")


def _devtools_port(profile: pathlib.Path, process: subprocess.Popen, timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if process.poll() is not None:
            raise BrowserError(f"chromium exited with code {process.returncode} before opening DevTools")
        time.sleep(0.1)
    raise BrowserError("chromium did not open its DevTools port in time")


def check_page(html_path: pathlib.Path, screenshot: pathlib.Path | None = None, *, width: int = 1280,
               max_height: int | None = None,
               timeout: float = 30.0) -> PageCheck:
    """Open `html_path` in headless Chromium; report console errors, failed requests and drawn charts.

    The screenshot shows the whole page, or its top `max_height` pixels."""
    binary = find_chromium()
    url = pathlib.Path(html_path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="perflab-chromium-") as profile_dir:
        profile = pathlib.Path(profile_dir)
        process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
        try:
            port = _devtools_port(profile, process, timeout)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as answer:
                targets = json.load(answer)
            page = next(t for t in targets if t.get("type") == "page")
            socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
            try:
                session = _Session(socket)
                for domain in ("Page", "Runtime", "Log", "Network"):
                    session.call(f"{domain}.enable")
                session.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                             mobile=False)
                session.call("Page.navigate", url=url)
                session.wait_for("Page.loadEventFired", timeout)
                charts = session.call("Runtime.evaluate", returnByValue=True, expression=(
                    "[...document.querySelectorAll('svg.chart')].filter(s => s.getBBox().width > 0 && "
                    "s.querySelector('polyline, circle, rect')).length"))["result"].get("value", 0)
                data = session.call("Runtime.evaluate", returnByValue=True, expression=(
                    "(() => { const e = document.getElementById('report-data'); "
                    "return e ? JSON.parse(e.textContent) : null; })()"))["result"].get("value")
                if screenshot is not None:
                    size = session.call("Page.getLayoutMetrics")["cssContentSize"]
                    height = min(size["height"], max_height or size["height"])
                    shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                        clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
                    screenshot.write_bytes(base64.b64decode(shot["data"]))
                events = session.events
            finally:
                socket.close()
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    console_errors, failed, requested = [], [], []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            console_errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            requested.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            failed.append(f"{params.get('requestId')}: {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"].get("status", 0) >= 400:
            failed.append(f"{params['response']['url']}: HTTP {params['response']['status']}")
    return PageCheck(url, console_errors, failed, requested, charts, data, screenshot)
