"""Small, dependency-free SVG charts: the report opens offline and prints, with nothing to load.

Each function returns one `<svg class="chart">` element as a string. Output is deterministic (fixed
rounding), so a rendered report can be compared with a golden file. Every element that draws data carries
`class="data"`: the browser check counts a chart as drawn only when one of them has a size on the page.
"""
from __future__ import annotations

import math
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
           "#ff9da7", "#bab0ac")
ROLE_COLORS = {"api": "#4e79a7", "database": "#f28e2b", "loadgen": "#9c755f"}
PHASE_COLORS = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "#41ab5d", "#006d2c")
REFERENCE_COLOR = "#555"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
MIN_BAND_PX = 3.0  # a phase narrower than this on the chart is drawn as a dashed line, not a band


def colors_for(names: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def nice_ticks(high: float, count: int = 5, low: float = 0.0) -> list[float]:
    """Round tick values from `low` (rounded down) to at least `high`."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        return [low, low + 1.0]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks from the largest at or below `low` to the smallest at or above `high` (both > 0)."""
    exponent = math.floor(math.log10(low)) - 1
    sequence = [round(m * 10.0 ** e, 10) for e in range(exponent, math.ceil(math.log10(high)) + 2) for m in (1, 2, 5)]
    first = max(i for i, v in enumerate(sequence) if v <= low * (1 + 1e-9))
    last = min(i for i, v in enumerate(sequence) if v >= high * (1 - 1e-9))
    return sequence[first:last + 1]


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _n(value: float) -> str:
    return f"{value:.1f}"


def _svg_open(title: str, width: int, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="11">')


class _Frame:
    def __init__(self, title: str, y_label: str, width: int, height: int, y_max: float,
                 legend: list[tuple[str, str]], *, x_label: str = "", dashed: set[str] | None = None,
                 log_from: float | None = None):
        self.width, self.height = width, height
        self.left, self.right, self.bottom = 56, 14, 36 if not x_label else 44
        placed: list[tuple[str, str, float, int]] = []
        x: float = self.left
        y = 25
        for label, color in legend:  # wrap the legend rather than clip it
            item = 22 + 6.5 * len(label)
            if x + item > width - self.right and x > self.left:
                x, y = self.left, y + 15
            placed.append((label, color, x, y))
            x += item
        self.top = y + 21 if legend else 30
        self.log_from = log_from
        self.ticks = log_ticks(log_from, y_max) if log_from else nice_ticks(y_max)
        self.parts = [_svg_open(title, width, height),
                      f'<text x="{self.left}" y="16" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>']
        for label, color, x, y in placed:
            if dashed and label in dashed:
                self.parts.append(f'<line x1="{_n(x)}" x2="{_n(x + 10)}" y1="{y + 5}" y2="{y + 5}" stroke="{color}" '
                                  f'stroke-width="2" stroke-dasharray="3 2"/>')
            else:
                self.parts.append(f'<rect x="{_n(x)}" y="{y}" width="10" height="10" rx="2" fill="{color}"/>')
            self.parts.append(f'<text x="{_n(x + 14)}" y="{y + 9}" fill="#333">{escape(label)}</text>')
        self.grid_at = len(self.parts)
        for tick in self.ticks:
            tick_y = self.y(tick)
            self.parts.append(f'<line x1="{self.left}" x2="{width - self.right}" y1="{_n(tick_y)}" y2="{_n(tick_y)}" '
                              f'stroke="#e5e5e5"/><text x="{self.left - 6}" y="{_n(tick_y + 4)}" text-anchor="end" '
                              f'fill="#555">{fmt(tick)}</text>')
        self.parts.append(f'<text transform="translate(12 {_n(self.top + self.plot_h / 2)}) rotate(-90)" '
                          f'text-anchor="middle" fill="#555">{escape(y_label)}</text>')
        if x_label:
            self.parts.append(f'<text x="{_n(self.left + self.plot_w / 2)}" y="{height - 6}" text-anchor="middle" '
                              f'fill="#555">{escape(x_label)}</text>')

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        if self.log_from:
            low, high = math.log10(self.ticks[0]), math.log10(self.ticks[-1])
            return self.top + self.plot_h * (1 - (math.log10(max(value, self.ticks[0])) - low) / (high - low))
        return self.top + self.plot_h * (1 - value / self.ticks[-1])

    def close(self) -> str:
        return "".join(self.parts) + "</svg>"


def line_chart(title: str, categories: list[str], series: list[tuple[str, str, list[float | None], bool]], *,
               y_label: str, width: int = 460, height: int = 260) -> str:
    """Lines over ordered categories (phases, payload sizes); None leaves a gap; dashed marks unverified (or a
    reference)."""
    values = [v for _, _, ys, _ in series for v in ys if v is not None]
    frame = _Frame(title, y_label, width, height, max(values, default=1) * 1.05, [(s[0], s[1]) for s in series],
                   dashed={s[0] for s in series if s[3]})
    step = frame.plot_w / max(1, len(categories))
    x_of = lambda i: frame.left + step * (i + 0.5)  # noqa: E731
    for i, category in enumerate(categories):
        frame.parts.append(f'<text x="{_n(x_of(i))}" y="{height - 14}" text-anchor="middle" fill="#333">'
                           f'{escape(category)}</text>')
    for label, color, ys, dashed in series:
        points = [(x_of(i), frame.y(v)) for i, v in enumerate(ys) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            dash = ' stroke-dasharray="5 4" opacity="0.6"' if dashed else ""
            frame.parts.append(f'<polyline class="data" points="{path}" fill="none" stroke="{color}" '
                               f'stroke-width="2"{dash}/>')
        for (x, y), v in zip(points, [v for v in ys if v is not None]):
            frame.parts.append(f'<circle class="data" cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{color}">'
                               f'<title>{escape(label)}: {v:g}</title></circle>')
    return frame.close()


def hbar_chart(title: str, bars: list[tuple[str, str, float | None, str]], *, unit: str, width: int = 460) -> str:
    """Horizontal bars, one per (label, colour, value, note), in the given order. A bar without a value
    shows its note (why it is missing) instead."""
    row, head = 24, 44
    height = head + row * len(bars) + 10
    high = max((v for _, _, v, _ in bars if v is not None), default=1) or 1
    left = min(210, max(80, 12 + 6.4 * max((len(label) for label, *_ in bars), default=8)))
    right = 120
    parts = [_svg_open(title, width, height),
             f'<text x="8" y="16" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>',
             f'<text x="8" y="32" fill="#555">{escape(unit)}</text>']
    for i, (label, color, value, note) in enumerate(bars):
        y = head - 6 + i * row
        parts.append(f'<text x="{_n(left - 6)}" y="{y + 15}" text-anchor="end" fill="#333">{escape(label)}</text>')
        if value is None:
            parts.append(f'<text x="{_n(left)}" y="{y + 15}" fill="#888">– {escape(note)}</text>')
            continue
        length = (width - left - right) * value / high
        parts.append(f'<rect class="data" x="{_n(left)}" y="{y + 4}" width="{_n(max(length, 1))}" height="{row - 8}" '
                     f'rx="2" fill="{color}"><title>{escape(label)}: {value:g}</title></rect>'
                     f'<text x="{_n(left + length + 6)}" y="{y + 15}" fill="#333">{value:,.4g} {escape(note)}</text>')
    return "".join(parts) + "</svg>"


def time_chart(title: str, series: list[tuple[str, str, list[tuple[float, float]]]],
               phases: list[tuple[str, float, float]], *, y_label: str, width: int = 460,
               height: int = 220) -> tuple[str, set[str]]:
    """Values over seconds, with the phases drawn as labelled bands — or, when a phase is too short to
    shade at this scale, as a dashed line at its start. Returns the SVG and how the phases were drawn
    ({"bands"}, {"lines"} or both), so the text beside the chart can say what it shows. A series with a
    single reading is drawn as a dot; a series with none is left out of the legend."""
    series = [s for s in series if s[2]]
    values = [y for _, _, points in series for _, y in points]
    xs = [x for _, _, points in series for x, _ in points] + [e for _, _, e in phases] + [s for _, s, _ in phases]
    x_min, x_max = min(xs, default=0.0), max(xs, default=1.0)
    ticks = nice_ticks(x_max, 6, low=min(x_min, 0.0))
    x_min, x_max = ticks[0], max(x_max, ticks[0] + 1e-9)
    frame = _Frame(title, y_label, width, height, max(values, default=1) * 1.1, [(s[0], s[1]) for s in series])
    x_of = lambda x: frame.left + frame.plot_w * (x - x_min) / (x_max - x_min)  # noqa: E731
    marks: list[str] = []
    drawn: set[str] = set()
    for i, (name, start, end) in enumerate(phases):
        shade = "#f3f6fa" if i % 2 == 0 else "#e9eef5"
        band = x_of(end) - x_of(start)
        if band >= MIN_BAND_PX:
            drawn.add("bands")
            marks.append(f'<rect x="{_n(x_of(start))}" y="{frame.top}" width="{_n(band)}" height="{_n(frame.plot_h)}" '
                         f'fill="{shade}"/>')
        else:
            drawn.add("lines")
            marks.append(f'<line x1="{_n(x_of(start))}" x2="{_n(x_of(start))}" y1="{frame.top}" '
                         f'y2="{_n(frame.top + frame.plot_h)}" stroke="#8a9bb0" stroke-dasharray="3 3"/>')
        if x_of(start) + 3 + 6.5 * len(name) <= width - frame.right:
            marks.append(f'<text x="{_n(x_of(start) + 3)}" y="{frame.top + 11}" fill="#4a5a70">{escape(name)}</text>')
        else:  # at the right edge: label to the left of the phase
            marks.append(f'<text x="{_n(x_of(start) - 3)}" y="{frame.top + 11}" text-anchor="end" '
                         f'fill="#4a5a70">{escape(name)}</text>')
    frame.parts[frame.grid_at:frame.grid_at] = marks  # under the grid and lines
    for tick in ticks:
        if x_min <= tick <= x_max:
            frame.parts.append(f'<text x="{_n(x_of(tick))}" y="{height - 14}" text-anchor="middle" '
                               f'fill="#555">{fmt(tick)} s</text>')
    for label, color, points in series:
        path = " ".join(f"{_n(x_of(x))},{_n(frame.y(y))}" for x, y in points)
        if len(points) > 1:
            frame.parts.append(f'<polyline class="data" points="{path}" fill="none" stroke="{color}" '
                               f'stroke-width="1.6"/>')
        if len(points) <= 12:  # few readings: show each one
            for x, y in points:
                frame.parts.append(f'<circle class="data" cx="{_n(x_of(x))}" cy="{_n(frame.y(y))}" r="2.6" '
                                   f'fill="{color}"><title>{escape(label)}: {y:.3g} at {x:g} s</title></circle>')
    return frame.close(), drawn


PERCENTILE_TICKS = ((1, "0 %"), (2, "50 %"), (10, "90 %"), (100, "99 %"), (1000, "99.9 %"), (10_000, "99.99 %"),
                    (100_000, "99.999 %"), (1_000_000, "99.9999 %"))


def percentile_chart(title: str, series: list[tuple[str, str, list[tuple[float, float]], bool]], *,
                     y_label: str = "latency (ms)", width: int = 460, height: int = 250) -> str:
    """HDR-style latency distribution: latency over percentile, the x axis log-scaled in 1 / (1 - p), so the
    tail (99 %, 99.9 % …) gets as much room as the body. Points are (1 / (1 - p), latency)."""
    values = [y for _, _, points, _ in series for _, y in points]
    x_high = max((x for _, _, points, _ in series for x, _ in points), default=10.0)
    decades = max(1.0, math.log10(max(x_high, 10.0)))
    low = min((v for v in values if v > 0), default=1.0)
    log_from = low if values and max(values) / low > 30 else None  # APIs far apart: log latency axis
    frame = _Frame(title, y_label + (" — log scale" if log_from else ""), width, height,
                   max(values, default=1) * (1.05 if not log_from else 1.0), [(s[0], s[1]) for s in series],
                   x_label="percentile (log scale of 1 / (1 − p))", dashed={s[0] for s in series if s[3]},
                   log_from=log_from)
    x_of = lambda x: frame.left + frame.plot_w * math.log10(max(x, 1.0)) / decades  # noqa: E731
    for value, label in PERCENTILE_TICKS:
        if value <= 10 ** decades * 1.0001:
            frame.parts.append(f'<line x1="{_n(x_of(value))}" x2="{_n(x_of(value))}" y1="{frame.top}" '
                               f'y2="{_n(frame.top + frame.plot_h)}" stroke="#eeeeee"/>'
                               f'<text x="{_n(x_of(value))}" y="{height - 24}" text-anchor="middle" '
                               f'fill="#555">{label}</text>')
    for label, color, points, dashed in series:
        path = " ".join(f"{_n(x_of(x))},{_n(frame.y(y))}" for x, y in points)
        dash = ' stroke-dasharray="5 4" opacity="0.7"' if dashed else ""
        if len(points) > 1:
            frame.parts.append(f'<polyline class="data" points="{path}" fill="none" stroke="{color}" '
                               f'stroke-width="1.8" stroke-linejoin="round"{dash}/>')
        if len(points) <= 12:
            for x, y in points:
                frame.parts.append(f'<circle class="data" cx="{_n(x_of(x))}" cy="{_n(frame.y(y))}" r="2.8" '
                                   f'fill="{color}"><title>{escape(label)}: {y:g} ms at '
                                   f'{100 * (1 - 1 / x):.4g} %</title></circle>')
    return frame.close()


def xy_chart(title: str, series: list[tuple[str, str, list[tuple[float, float, str]], bool, int | None]], *,
             x_label: str, y_label: str, reference: tuple[float, str] | None = None, width: int = 460,
             height: int = 270) -> str:
    """Points joined in order on numeric axes (throughput against latency across phases); each series may
    mark one point (its knee) with a ring; `reference` draws a labelled vertical line (a limit)."""
    xs = [x for _, _, points, _, _ in series for x, _, _ in points] + ([reference[0]] if reference else [])
    ys = [y for _, _, points, _, _ in series for _, y, _ in points]
    x_ticks = nice_ticks(max(xs, default=1) * 1.05, 5)
    frame = _Frame(title, y_label, width, height, max(ys, default=1) * 1.08, [(s[0], s[1]) for s in series],
                   x_label=x_label, dashed={s[0] for s in series if s[3]})
    x_of = lambda x: frame.left + frame.plot_w * x / x_ticks[-1]  # noqa: E731
    for tick in x_ticks:
        frame.parts.append(f'<text x="{_n(x_of(tick))}" y="{height - 24}" text-anchor="middle" fill="#555">'
                           f'{fmt(tick)}</text>')
    if reference:
        x = x_of(reference[0])
        frame.parts.append(f'<line class="data reference" x1="{_n(x)}" x2="{_n(x)}" y1="{frame.top}" '
                           f'y2="{_n(frame.top + frame.plot_h)}" stroke="{REFERENCE_COLOR}" stroke-width="1.5" '
                           f'stroke-dasharray="6 4"/><text x="{_n(x - 4)}" y="{frame.top + 12}" text-anchor="end" '
                           f'fill="{REFERENCE_COLOR}">{escape(reference[1])}</text>')
    for label, color, points, dashed, knee in series:
        path = " ".join(f"{_n(x_of(x))},{_n(frame.y(y))}" for x, y, _ in points)
        dash = ' stroke-dasharray="5 4" opacity="0.7"' if dashed else ""
        if len(points) > 1:
            frame.parts.append(f'<polyline class="data" points="{path}" fill="none" stroke="{color}" '
                               f'stroke-width="1.8"{dash}/>')
        for i, (x, y, name) in enumerate(points):
            frame.parts.append(f'<circle class="data" cx="{_n(x_of(x))}" cy="{_n(frame.y(y))}" r="3.2" '
                               f'fill="{color}"><title>{escape(label)} · {escape(name)}: {x:,.0f} req/s, '
                               f'p95 {y:g} ms</title></circle>')
            if knee == i:
                frame.parts.append(f'<circle cx="{_n(x_of(x))}" cy="{_n(frame.y(y))}" r="7.5" fill="none" '
                                   f'stroke="{color}" stroke-width="1.6"><title>{escape(label)}: knee at '
                                   f'{escape(name)}</title></circle>')
    return frame.close()
