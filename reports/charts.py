"""Small, dependency-free SVG charts: the report opens offline and prints, with nothing to load.

Each function returns one `<svg>` element as a string. Output is deterministic (fixed rounding), so a
rendered report can be compared with a golden file.
"""
from __future__ import annotations

import math
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
           "#ff9da7", "#bab0ac")
ROLE_COLORS = {"api": "#4e79a7", "database": "#f28e2b", "loadgen": "#9c755f"}
FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'


def colors_for(names: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high`."""
    if high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [round(i * step, 10) for i in range(int(math.ceil(high / step - 1e-9)) + 1)]


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


class _Frame:
    def __init__(self, title: str, y_label: str, width: int, height: int, y_max: float, legend: list[tuple[str, str]]):
        self.width, self.height = width, height
        self.left, self.right, self.bottom = 56, 14, 36
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
        self.ticks = nice_ticks(y_max)
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
                      f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT} '
                      f'font-size="11">',
                      f'<text x="{self.left}" y="16" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>']
        for label, color, x, y in placed:
            self.parts.append(f'<rect x="{_n(x)}" y="{y}" width="10" height="10" rx="2" fill="{color}"/>'
                              f'<text x="{_n(x + 14)}" y="{y + 9}" fill="#333">{escape(label)}</text>')
        for tick in self.ticks:
            tick_y = self.y(tick)
            self.parts.append(f'<line x1="{self.left}" x2="{width - self.right}" y1="{_n(tick_y)}" y2="{_n(tick_y)}" '
                              f'stroke="#e5e5e5"/><text x="{self.left - 6}" y="{_n(tick_y + 4)}" text-anchor="end" '
                              f'fill="#555">{fmt(tick)}</text>')
        self.parts.append(f'<text transform="translate(12 {_n(self.top + self.plot_h / 2)}) rotate(-90)" '
                          f'text-anchor="middle" fill="#555">{escape(y_label)}</text>')

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        return self.top + self.plot_h * (1 - value / self.ticks[-1])

    def close(self) -> str:
        return "".join(self.parts) + "</svg>"


def line_chart(title: str, categories: list[str], series: list[tuple[str, str, list[float | None], bool]], *,
               y_label: str, width: int = 460, height: int = 260) -> str:
    """Lines over ordered categories (phases, payload sizes); None leaves a gap; dashed marks unverified."""
    values = [v for _, _, ys, _ in series for v in ys if v is not None]
    frame = _Frame(title, y_label, width, height, max(values, default=1) * 1.05, [(s[0], s[1]) for s in series])
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
            frame.parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for (x, y), v in zip(points, [v for v in ys if v is not None]):
            frame.parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{color}">'
                               f'<title>{escape(label)}: {v:g}</title></circle>')
    return frame.close()


def hbar_chart(title: str, bars: list[tuple[str, str, float | None, str]], *, unit: str, width: int = 460) -> str:
    """Horizontal bars, one per (label, colour, value, note), in the given order; None is drawn as 'n/a'."""
    row = 24
    height = 40 + row * len(bars) + 10
    high = max((v for _, _, v, _ in bars if v is not None), default=1) or 1
    left, right = 110, 130
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="11">',
             f'<text x="8" y="16" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>',
             f'<text x="{width - 8}" y="16" text-anchor="end" fill="#555">{escape(unit)}</text>']
    for i, (label, color, value, note) in enumerate(bars):
        y = 30 + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" fill="#333">{escape(label)}</text>')
        if value is None:
            parts.append(f'<text x="{left}" y="{y + 15}" fill="#999">n/a</text>')
            continue
        length = (width - left - right) * value / high
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{_n(max(length, 1))}" height="{row - 8}" rx="2" '
                     f'fill="{color}"><title>{escape(label)}: {value:g}</title></rect>'
                     f'<text x="{_n(left + length + 6)}" y="{y + 15}" fill="#333">{value:,.4g} {escape(note)}</text>')
    return "".join(parts) + "</svg>"


def time_chart(title: str, series: list[tuple[str, str, list[tuple[float, float]]]],
               phases: list[tuple[str, float, float]], *, y_label: str, width: int = 460, height: int = 220) -> str:
    """Values over seconds since the start, with the phases drawn as labelled bands."""
    values = [y for _, _, points in series for _, y in points]
    xs = [x for _, _, points in series for x, _ in points] + [e for _, _, e in phases] + [s for _, s, _ in phases]
    x_max = max(xs, default=1) or 1
    frame = _Frame(title, y_label, width, height, max(values, default=1) * 1.1, [(s[0], s[1]) for s in series])
    x_of = lambda x: frame.left + frame.plot_w * x / x_max  # noqa: E731
    bands = []
    for i, (name, start, end) in enumerate(phases):
        shade = "#f3f6fa" if i % 2 == 0 else "#e9eef5"
        bands.append(f'<rect x="{_n(x_of(start))}" y="{frame.top}" width="{_n(x_of(end) - x_of(start))}" '
                     f'height="{_n(frame.plot_h)}" fill="{shade}"/><line x1="{_n(x_of(start))}" '
                     f'x2="{_n(x_of(start))}" y1="{frame.top}" y2="{_n(frame.top + frame.plot_h)}" stroke="#8a9bb0" '
                     f'stroke-dasharray="3 3"/><text x="{_n(x_of(start) + 3)}" y="{frame.top + 11}" '
                     f'fill="#4a5a70">{escape(name)}</text>')
    frame.parts[2:2] = bands  # under the grid and lines
    for tick in nice_ticks(x_max, 6):
        if tick <= x_max:
            frame.parts.append(f'<text x="{_n(x_of(tick))}" y="{height - 14}" text-anchor="middle" '
                               f'fill="#555">{fmt(tick)} s</text>')
    for _label, color, points in series:
        if points:
            path = " ".join(f"{_n(x_of(x))},{_n(frame.y(y))}" for x, y in points)
            frame.parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.6"/>')
    return frame.close()
