"""`make taxonomy` / `python -m tools.taxonomy unmapped`: the raw event names the taxonomy does
not map in the warehouse (WAREHOUSE_PATH, after a run), most frequent first, each with the
canonical event it most likely is, and the line to add to your taxonomy additions file."""

from __future__ import annotations

import argparse
import sys

from orchestration.io import settings
from orchestration.io.config_files import TAXONOMY_ADDITIONS_FILE, config_path
from orchestration.io.taxonomy import unmapped_event_names
from orchestration.io.warehouse import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["unmapped"])
    parser.add_argument("--limit", type=int, default=30, help="rows to show (default 30)")
    args = parser.parse_args(argv)
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        print(f"No warehouse at {warehouse}: run `make run` first.", file=sys.stderr)
        return 2
    with connect(warehouse, read_only=True) as con:
        unmapped = unmapped_event_names(con)
    if unmapped.empty:
        print("Every raw event name is mapped by the taxonomy.")
        return 0
    print(
        f"{len(unmapped)} unmapped event name(s), {int(unmapped.event_count.sum()):,} events "
        f"(showing {min(args.limit, len(unmapped))}):\n"
    )
    shown = unmapped.head(args.limit).fillna("-")
    print(
        shown[
            ["raw_event_name_normalised", "event_count", "user_count", "suggested_canonical_event",
             "similarity"]
        ].to_string(index=False)
    )  # fmt: skip
    print(
        f"\nMap a name by adding a row to {config_path(TAXONOMY_ADDITIONS_FILE)}\n"
        "(raw_event_name_normalised,canonical_event,event_category,tracking_version); the next "
        "run applies it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
