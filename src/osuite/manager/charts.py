"""The geometry of the Manager's charts, drawn by the server as inline SVG: pure arithmetic, so a
template only places what is computed here and the rules (bars stay inside, heights are proportional,
a day without sales is still a day) are tested without a browser."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from math import ceil


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: float
    y: float
    width: float
    height: float
    label: bool
    """Whether the day is written under the bar (every day would overlap on a long period)."""


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    top: float
    """Where the highest value (or zero, when every value is negative) reaches."""
    zero: float
    """Where the zero line is drawn."""
    bottom: float
    """Where the lowest value (or zero, when none is negative) reaches; the days are written below."""
    highest: int
    lowest: int
    bars: tuple[Bar, ...]


LABEL_ROOM = 18.0
"""Space under the plot for the days' labels."""
HEADROOM = 6.0
"""Space above the highest bar."""
MIN_LABEL_GAP = 44.0
"""The narrowest space a day's label needs (``31.12``)."""


def every_day(values: Iterable[tuple[date, int]], first: date, last: date) -> list[tuple[date, int]]:
    """Each day from ``first`` to ``last`` once, with the sum of its values (zero for a day without
    any: a day the store sold nothing is shown, not skipped); values outside the days are left out."""
    sums: dict[date, int] = {}
    for day, value in values:
        if first <= day <= last:
            sums[day] = sums.get(day, 0) + value
    count = (last - first).days + 1
    return [(day, sums.get(day, 0)) for day in (first + timedelta(days=n) for n in range(max(count, 0)))]


def bar_chart(series: Sequence[tuple[date, int]], *, width: int, height: int) -> BarChart:
    """Bars of ``series`` (a value may be negative: a day whose returns exceed its sales) in a
    ``width`` × ``height`` picture, above and below a zero line, every height in the same proportion
    to its value."""
    if width <= 0 or height <= LABEL_ROOM + HEADROOM:
        raise ValueError(f"a chart of {width}×{height} has no room for bars")
    top, bottom = HEADROOM, height - LABEL_ROOM
    highest = max([0, *(v for _, v in series)])
    lowest = min([0, *(v for _, v in series)])
    span = highest - lowest
    scale = (bottom - top) / span if span else 0.0
    # At the bottom when nothing is negative (even when all is zero); kept in the plot despite rounding.
    zero = max(top, bottom + lowest * scale)
    slot = width / len(series) if series else float(width)
    label_every = max(1, ceil(MIN_LABEL_GAP / slot))
    bars = []
    for n, (day, value) in enumerate(series):
        # Clamped so that rounding never lets the highest or lowest bar poke out of the plot.
        if value > 0:
            y = max(top, zero - value * scale)
            size = zero - y
        else:
            y, size = zero, min(-value * scale, bottom - zero)
        bars.append(Bar(day, value, n * slot + slot * 0.15, y, slot * 0.7, size, label=n % label_every == 0))
    return BarChart(width, height, top, zero, bottom, highest, lowest, tuple(bars))
