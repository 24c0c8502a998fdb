"""Durations as operators write them: 30d, 12h, 90m, 45s, 2w, or plain seconds."""

from __future__ import annotations

import re

DAY = 86_400
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}


def parse_duration(text: str) -> float:
    """'30d', '12h', '90m', '45s', '2w' or plain seconds -> seconds (positive)."""
    match = _DURATION.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 90m, 45s or a number of seconds")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
