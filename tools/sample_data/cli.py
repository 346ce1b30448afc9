"""Command line: `python -m tools.sample_data --accounts N --seed S --out DIR [--period 1|2]`."""

from __future__ import annotations

import argparse
from pathlib import Path

import tools.sample_data
from tools.sample_data.writer import generate


def main(argv: list[str] | None = None) -> dict:
    """Parse the flags, generate, print rows per table and planted defects; return the summary."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.sample_data", description=tools.sample_data.__doc__.splitlines()[0]
    )
    parser.add_argument("--accounts", type=int, default=5000, help="number of companies")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="landing directory to write")
    parser.add_argument("--period", type=int, choices=(1, 2), default=1)
    args = parser.parse_args(argv)
    summary = generate(args.out, args.accounts, args.seed, args.period, show_progress=True)
    total = sum(summary["rows"].values())
    print(
        f"wrote {total:,} rows for {args.accounts:,} accounts to {args.out} (period {args.period})"
    )
    for name, count in summary["rows"].items():
        print(f"  {name:<24} {count:>12,}")
    print("  malformed: " + ", ".join(f"{k}={v}" for k, v in summary["malformed"].items()))
    return summary
