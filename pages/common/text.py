"""Numbers in words a student reads at a glance."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """`1 h 23 min`, `4 min 10 s`, `12 s`."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def count(number: int, noun: str) -> str:
    """`1 epoch`, `3 epochs`."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
