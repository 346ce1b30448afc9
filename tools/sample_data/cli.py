"""Command line: `python -m tools.sample_data --accounts N --seed S --out DIR [--period 1|2]`,
or a continuing history with `--periods K --period-days D`."""

from __future__ import annotations

import argparse
from pathlib import Path

import tools.sample_data
from tools.sample_data.history_writer import generate_history
from tools.sample_data.writer import generate


def _print_rows(rows: dict, malformed: dict, indent: str = "  ") -> None:
    for name, count in rows.items():
        print(f"{indent}{name:<24} {count:>12,}")
    print(f"{indent}malformed: " + ", ".join(f"{k}={v}" for k, v in malformed.items()))


def main(argv: list[str] | None = None) -> dict:
    """Parse the flags, generate, print rows per table and planted defects; return the summary."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.sample_data", description=tools.sample_data.__doc__.splitlines()[0]
    )
    parser.add_argument("--accounts", type=int, default=5000, help="number of companies")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="landing directory to write")
    parser.add_argument("--period", type=int, choices=(1, 2), default=1)
    parser.add_argument(
        "--periods",
        type=int,
        default=None,
        help="write a continuing history instead: DIR/period_00 (the initial history, as "
        "--period 1) and DIR/period_01 .. period_K, each holding only its --period-days days",
    )
    parser.add_argument(
        "--period-days", type=int, default=30, help="days per history period (with --periods)"
    )
    args = parser.parse_args(argv)
    if args.periods is not None:
        summary = generate_history(
            args.out, args.accounts, args.seed, args.periods, args.period_days, show_progress=True
        )
        print(
            f"wrote {len(summary['periods'])} periods for {args.accounts:,} accounts to "
            f"{args.out} ({args.periods} x {args.period_days} days after the initial history)"
        )
        for part in summary["periods"]:
            print(f"  {Path(part['dir']).name}: {sum(part['rows'].values()):,} rows")
            _print_rows(part["rows"], part["malformed"], indent="    ")
        return summary
    summary = generate(args.out, args.accounts, args.seed, args.period, show_progress=True)
    total = sum(summary["rows"].values())
    print(
        f"wrote {total:,} rows for {args.accounts:,} accounts to {args.out} (period {args.period})"
    )
    _print_rows(summary["rows"], summary["malformed"])
    return summary
