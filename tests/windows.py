"""AWS maintenance/backup windows as minute ranges in a week, to test that two do not overlap."""

from __future__ import annotations

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 24 * 60


def _minute(day: int, hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return day * 24 * 60 + int(hours) * 60 + int(minutes)


def minutes(window: str) -> set[int]:
    """Every minute of the week a window covers: `03:00-04:00` daily, `sun:04:30-sun:05:30`."""
    start, end = window.split("-")
    if start.count(":") == 2:
        (d1, t1), (d2, t2) = start.split(":", 1), end.split(":", 1)
        pairs = [(_minute(DAYS.index(d1), t1), _minute(DAYS.index(d2), t2))]
    else:
        pairs = [(_minute(d, start), _minute(d, end)) for d in range(7)]
    covered: set[int] = set()
    for a, b in pairs:
        covered |= {m % WEEK for m in range(a, b if b > a else b + WEEK)}
    return covered


def overlaps(a: str, b: str) -> bool:
    return bool(minutes(a) & minutes(b))
