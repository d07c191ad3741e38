"""Server-side SVG charts (no JavaScript): stacked bars per month, and a year timeline.

Every text is escaped; the markup is returned as ``markupsafe.Markup`` for the template.
"""
from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup

PALETTE = ["#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#f59f00", "#0c8599", "#c2255c", "#5c7cfa",
           "#868e96"]


def _scale(value: int) -> tuple[int, int]:
    """(step, top) for a y axis with at most 5 whole-number intervals reaching VALUE."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if -(-max(value, 1) // step) <= 5:
            return step, step * max(1, -(-value // step))
    return value, value


def stacked_bars(months: list[str], series: list[tuple[str, list[int]]], *, title: str,
                 width: int = 760, height: int = 280) -> Markup:
    """Stacked bar chart: one bar per month, one colour per series, a legend below."""
    left, right, top, bottom = 40, 10, 16, 44
    legend_rows = (len(series) + 3) // 4
    total_height = height + legend_rows * 20
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for _, values in series) for i in range(len(months))]
    step, ymax = _scale(max(totals, default=0))
    slot = plot_w / max(1, len(months))
    bar_w = slot * 0.62
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {width} {total_height}" width="{width}" height="{total_height}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for value in range(0, ymax + 1, step):  # horizontal grid and y labels
        y = top + plot_h - plot_h * value / ymax
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value}</text>')
    for index, label in enumerate(months):
        x = left + slot * index + (slot - bar_w) / 2
        y = top + plot_h
        for s_index, (name, values) in enumerate(series):
            value = values[index]
            if not value:
                continue
            h = plot_h * value / ymax
            y -= h
            colour = PALETTE[s_index % len(PALETTE)]
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(name)} — {escape(label)} : {value}</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" class="axis" '
                     f'text-anchor="middle">{escape(label)}</text>')
        if totals[index]:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" class="total" '
                         f'text-anchor="middle">{totals[index]}</text>')
    for s_index, (name, _values) in enumerate(series):
        row, col = divmod(s_index, 4)
        lx = left + col * (plot_w / 4)
        ly = height + row * 20 - 8
        colour = PALETTE[s_index % len(PALETTE)]
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" fill="{colour}" class="swatch"/>'
                     f'<text x="{lx + 18:.1f}" y="{ly}" class="legend">{escape(name)}</text>')
    if not series:
        parts.append(f'<text x="{width / 2}" y="{top + plot_h / 2}" class="empty" text-anchor="middle">'
                     f'Aucun message pour l\'instant</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


CHAR_WIDTH = 7.0    # generous average width of an 11 px label character (svg text in the CSS)
LANE_HEIGHT = 18
LABEL_CHARS = 38


def _label_span(x: float, label: str, width: int, right: int) -> tuple[float, float, str]:
    """(start, end, anchor) of a label drawn beside its marker at X: to the right, or to the
    left when it would leave the drawing."""
    w = len(label) * CHAR_WIDTH
    if x + 4 + w <= width - right:
        return x + 4, x + 4 + w, "start"
    return x - 4 - w, x - 4, "end"


def _assign_lanes(spans: list[tuple[float, float]], gap: float = 8) -> list[int]:
    """Greedy interval packing: each label takes the first lane where it overlaps nothing."""
    lane_ends: list[float] = []
    lanes = []
    for start, end in spans:
        for index, lane_end in enumerate(lane_ends):
            if start >= lane_end + gap:
                lane_ends[index] = end
                lanes.append(index)
                break
        else:
            lane_ends.append(end)
            lanes.append(len(lane_ends) - 1)
    return lanes


def timeline(year: int, items: list[dict], *, width: int = 760, height: int = 150) -> Markup:
    """Jan–Dec axis with a marker per release (blue, above) and club event (orange, below).
    Labels never overlap: close ones go to further lanes and the drawing grows to fit them."""
    left, right = 20, 20
    plot_w = width - left - right
    start = date(year, 1, 1).toordinal()
    days = date(year + 1, 1, 1).toordinal() - start
    months = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
    placed = {"release": [], "event": []}
    for item in items:
        x = left + plot_w * (item["date"].toordinal() - start) / days
        label = f'{item["date"]:%d/%m} {item["title"]}'
        kind = "release" if item["kind"] == "release" else "event"
        placed[kind].append((x, label[:LABEL_CHARS], label, *_label_span(x, label[:LABEL_CHARS], width, right)))
    lanes = {}
    for kind, marks in placed.items():
        marks.sort(key=lambda m: m[3])
        lanes[kind] = _assign_lanes([(m[3], m[4]) for m in marks])
    above = max(lanes["release"], default=-1) + 1
    below = max(lanes["event"], default=-1) + 1
    mid = max(height / 2, 30 + above * LANE_HEIGHT)
    height = int(max(height, mid + 36 + below * LANE_HEIGHT))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="Frise {year}"><title>Versions et événements {year}</title>'
             f'<line x1="{left}" y1="{mid}" x2="{width - right}" y2="{mid}" class="axisline"/>']
    for m in range(12):
        x = left + plot_w * (date(year, m + 1, 1).toordinal() - start) / days
        parts.append(f'<line x1="{x:.1f}" y1="{mid - 4}" x2="{x:.1f}" y2="{mid + 4}" class="tick"/>'
                     f'<text x="{x + 3:.1f}" y="{mid + 16}" class="axis">{months[m]}</text>')
    today = date.today()
    if today.year == year:
        x = left + plot_w * (today.toordinal() - start) / days
        parts.append(f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{height - 10}" class="today"/>')
    for kind, marks in placed.items():
        for (x, short, label, x0, _x1, anchor), lane in zip(marks, lanes[kind]):
            y = mid - 22 - lane * LANE_HEIGHT if kind == "release" else mid + 30 + lane * LANE_HEIGHT
            tx = x0 if anchor == "start" else _x1
            parts.append(f'<g class="mark {kind}"><circle cx="{x:.1f}" cy="{mid}" r="5"/>'
                         f'<line x1="{x:.1f}" y1="{mid}" x2="{x:.1f}" y2="{y:.1f}" class="stem"/>'
                         f'<text x="{tx:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(short)}</text>'
                         f'<title>{escape(label)}</title></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
