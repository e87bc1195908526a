"""Opening a rendered report in headless Chromium over the DevTools protocol.

Proves what a reader would see: the page loads with no failed requests, no console errors and nothing
fetched from the network; at the checked width (1280 px) nothing runs wider than the page or its column
and no table cell is squeezed to a word per line; every chart draws data (an element of class `data`
with a size — axes and a legend alone do not count); a smoke report (a functional check) shows no ranking,
no ranking bars and no throughput chart; and a screenshot records it. Uses Debian's `chromium` (never a
downloaded browser) with networking switched off.
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
    charts: int  # <svg class="chart"> elements that draw data
    report_data: dict | None  # the page's embedded report data, as the browser parsed it
    screenshot: pathlib.Path | None
    empty_charts: list[str] = dataclasses.field(default_factory=list)  # titles of charts that draw no data
    overflow: list[str] = dataclasses.field(default_factory=list)  # what runs wider than the page or its column
    squeezed: list[str] = dataclasses.field(default_factory=list)  # table cells wrapped to about a word per line
    smoke_ranking: list[str] = dataclasses.field(default_factory=list)  # ranking shown for a functional check

    @property
    def network_urls(self) -> list[str]:
        """Requests that left the file: the report must make none."""
        return [u for u in self.requested_urls if not u.startswith(("file:", "data:", "about:"))]

    @property
    def problems(self) -> list[str]:
        return ([f"console: {e}" for e in self.console_errors] + [f"failed request: {r}" for r in self.failed_requests]
                + [f"network request: {u}" for u in self.network_urls]
                + [f"chart without data: {c}" for c in self.empty_charts]
                + [f"horizontal overflow: {o}" for o in self.overflow]
                + [f"squeezed cell: {c}" for c in self.squeezed]
                + [f"smoke report ranks: {r}" for r in self.smoke_ranking])

    @property
    def ok(self) -> bool:
        return not self.problems and self.charts > 0


# Run in the page: what a reader would see at the checked width.
_HEADING = """const heading = el => { let best = ''; for (const h of document.querySelectorAll('h1, h2, h3')) {
  if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) best = h.textContent.trim(); }
  return best; };
const name = el => el.tagName.toLowerCase() + (el.getAttribute('class') ? '.' + el.getAttribute('class').split(' ')[0] : '')
  + ' under "' + heading(el) + '"';"""
CHART_CHECK = "(() => {" + _HEADING + """
  const charts = [...document.querySelectorAll('svg.chart')];
  const drawn = s => [...s.querySelectorAll('.data')].some(e => { const b = e.getBBox();
    return (b.width > 0 || b.height > 0) && e.getBoundingClientRect().width + e.getBoundingClientRect().height > 0; });
  return {drawn: charts.filter(drawn).length,
          empty: charts.filter(s => !drawn(s)).map(s => (s.getAttribute('aria-label') || '?') + ' (' + name(s) + ')')};
})()"""
LAYOUT_CHECK = "(() => {" + _HEADING + """
  const overflow = [], squeezed = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1)
    overflow.push('the page is ' + root.scrollWidth + ' px wide in a ' + root.clientWidth + ' px window');
  const main = document.querySelector('main') || document.body;
  const style = getComputedStyle(main);
  const right = main.getBoundingClientRect().right - parseFloat(style.paddingRight || '0');
  for (const el of document.querySelectorAll('main table, main .grid, main svg.chart, main pre, main .banner')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > right + 1)
      overflow.push(name(el) + ' ends ' + Math.round(box.right - right) + ' px past its column');
  }
  for (const cell of document.querySelectorAll('main td')) {
    // the cell's running text (badges are unbreakable labels, stacked on purpose): its words and lines
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let words = 0, text = '';
    const bottoms = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('.badge')) continue;
      words += node.textContent.trim().split(/\\s+/).filter(w => w.length > 0).length;
      text += node.textContent;
      const range = document.createRange(); range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (r.width > 0) bottoms.add(Math.round(r.bottom));
    }
    const lines = bottoms.size;
    if (words >= 4 && lines >= 3 && words / lines < 2)
      squeezed.push(name(cell) + ': ' + words + ' words on ' + lines + ' lines ("' + text.trim().slice(0, 40) + '")');
  }
  return {overflow, squeezed};
})()"""
SMOKE_CHECK = """(() => {
  const found = [];
  for (const el of document.querySelectorAll('table.ranking')) found.push('a ranking table');
  const bars = document.querySelectorAll('.bar').length;
  if (bars) found.push(bars + ' ranking bars');
  for (const s of document.querySelectorAll('svg.chart')) {
    const label = s.getAttribute('aria-label') || '';
    if (/throughput/i.test(label)) found.push('chart "' + label + '"');
  }
  return found;
})()"""


def _is_smoke_report(data: object) -> bool:
    """A report of smoke runs only: a functional check, which must show no ranking."""
    if not isinstance(data, dict):
        return False
    runs = data.get("runs") or []
    return bool(data.get("functional")) or (bool(runs) and all(run.get("mode") == "smoke" for run in runs))


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
    """Open `html_path` in headless Chromium `width` pixels wide; report console errors, failed and network
    requests, charts with and without data, horizontal overflow, squeezed table cells and, for a smoke
    report, any ranking shown.

    The screenshot shows the whole page, or its top `max_height` pixels."""
    binary = find_chromium()
    url = pathlib.Path(html_path).resolve().as_uri()
    # Chromium's helper processes may still write to the profile as it exits: cleaning up is best effort.
    with tempfile.TemporaryDirectory(prefix="perflab-chromium-", ignore_cleanup_errors=True) as profile_dir:
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

                def evaluate(expression: str):
                    answer = session.call("Runtime.evaluate", returnByValue=True, expression=expression)
                    if "exceptionDetails" in answer:
                        raise BrowserError(f"page check failed: {answer['exceptionDetails'].get('text')}")
                    return answer["result"].get("value")

                chart_check = evaluate(CHART_CHECK)
                layout = evaluate(LAYOUT_CHECK)
                data = evaluate("(() => { const e = document.getElementById('report-data'); "
                                "return e ? JSON.parse(e.textContent) : null; })()")
                smoke = evaluate(SMOKE_CHECK) if _is_smoke_report(data) else []
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
    return PageCheck(url, console_errors, failed, requested, chart_check["drawn"], data, screenshot,
                     empty_charts=chart_check["empty"], overflow=layout["overflow"], squeezed=layout["squeezed"],
                     smoke_ranking=smoke)
