"""The bench's table and notes, and its exit status (1 if a figure misses its target)."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Figure
from .cost import PRICES_AS_OF

if TYPE_CHECKING:
    from .runner import Bench


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def number(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:.3f}"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def table(figures: list[Figure]) -> list[str]:
    rows = [("figure", "measured", "baseline", "ratio", "target", "")]
    for f in figures:
        verdict = "" if f.ok is None else ("pass" if f.ok else "FAIL")
        baseline = number(f.baseline, f.unit) if f.baseline is not None else "-"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        rows.append((f.name, number(f.measured, f.unit), baseline, ratio, f.target or "-", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:5], widths[1:5], strict=True)
        ]
        lines.append("| " + " | ".join(cells + [row[5].ljust(widths[5])]) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def report(bench: Bench, figures: list[Figure]) -> None:
    say = bench.say
    say("")
    say(f"Machine: {machine()}")
    say("")
    for line in table(figures):
        say(line)
    say("")
    for f in figures:
        if f.note:
            say(f"- {f.name}: {f.note}")
    say("")
    say(f"Cost per million logs (AWS list prices, us-east-1, {PRICES_AS_OF}):")
    for item, dollars, how in bench.costs:
        say(f"  ${dollars:8.4f}  {item}: {how}")
    if bench.gzip_costs:
        say("")
        say("The same with compression: gzip:")
        for item, dollars, how in bench.gzip_costs:
            say(f"  ${dollars:8.4f}  {item}: {how}")
    say("")
    say(f"Fixed cost a month, idle (template.yaml's resources at list prices, before free tiers, {PRICES_AS_OF}):")
    for fixed in bench.fixed:
        say(f"  ${fixed.dollars:8.4f}  {fixed.what}: {fixed.how}")


def exit_status(figures: list[Figure], enforced: bool) -> int:
    """1 if a figure missed its target (when targets are enforced: at full scale), else 0.

    >>> exit_status([Figure("x", 1.0, None, "s", "< 2", True), Figure("y", 3.0, None, "s", "< 2", False)], True)
    1
    >>> exit_status([Figure("y", 3.0, None, "s", "< 2", False)], enforced=False)
    0
    """
    return 1 if enforced and any(f.ok is False for f in figures) else 0
