"""``python -m devkit.bench [--scale 0.1]``: run the bench, print its table, exit 1 if a figure missed its target."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from .config import Scale
from .report import exit_status, report
from .runner import Bench
from .tools import serve_receiver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.bench", description="how fast and how cheap the pipeline is"
    )
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    parser.add_argument("--serve-receiver", type=float, metavar="DELAY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_receiver is not None:
        serve_receiver(args.serve_receiver)
        return 0
    out = sys.stdout
    bench = Bench(Scale(factor=args.scale), out)
    bench.say(f"auth0-webhooks bench (scale {args.scale:g}): moto, the local tenant and receiver on this machine")
    threading.current_thread().name = "bench"
    figures = bench.run()
    report(bench, figures)
    missed = [f.name for f in figures if f.ok is False]
    enforced = args.scale >= 1
    if missed:
        verdict = "" if enforced else " (not enforced below scale 1: too little work to judge)"
        bench.say(f"Missed their targets: {', '.join(missed)}{verdict}")
    return exit_status(figures, enforced)
