"""Value types for the command line's options: each refuses, while the command line is
parsed, what a run cannot use, with a message that says what is allowed (standard library
only, so ``sim --help`` stays fast)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from sim.engine.limits import MAX_RUNS, SEED_LIMIT


def one_line(text: str) -> str:
    """``text`` on one line: newlines and other control characters shown escaped (a key or
    a value quoted in a message can hold them, and the contract is one line on stderr)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def count(low: int = 1, high: int = MAX_RUNS) -> Callable[[str], int]:
    """An integer option from ``low`` to ``high``."""
    what = {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what}, at most {high:,} (got {text!r})")
        return value

    return parse


def seed(text: str) -> int:
    """A batch seed: an integer from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63 - 1 (got {text!r})")
    return value


def fraction(low: float, high: float, low_open: bool = True, high_open: bool = True):
    """A finite number in an interval (open or closed at either end)."""
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):  # nan fails every comparison
            raise argparse.ArgumentTypeError(f"must be a number in {shown} (got {text!r})")
        return value

    return parse


def path_text(text: str) -> str:
    """A file or directory name: not empty (an empty --out once meant the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a file or directory (got an empty name)")
    return text
