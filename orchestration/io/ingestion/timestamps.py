"""Timestamp text to an instant, value by value, as DuckDB SQL expressions.

DuckDB's vectorised cast of text to TIMESTAMPTZ can carry a named zone onto the naive values after
it in the same vector, silently shifting them (DESIGN.md section 6). So the text is split with a
regular expression into date, time and zone, the wall-clock part is cast to a naive TIMESTAMP,
and the zone is applied per value by an explicit rule:

- no zone, ``Z``, ``UTC``, ``GMT`` or ``UT``: UTC (naive timestamps are UTC by the contract);
- a UTC offset ``+02:00``, ``+0200`` or ``+02`` (up to 14 hours): honoured;
- an IANA zone name with a slash (``America/New_York``, ``Etc/GMT+5``): honoured, with its
  daylight-saving rules at that instant;
- three to five capitals (``EST``, ``CET``, ``IST``, ``BST``): quarantined as an ambiguous
  abbreviation (``IST`` is India, Ireland or Israel; ``EST`` in summer usually means EDT), never
  guessed; any other zone text is quarantined as an unknown zone or offset;
- ``infinity``, ``-infinity``, ``epoch`` and instants before INGEST_MIN_TIMESTAMP (default
  1970-01-01) or after now + INGEST_FUTURE_TOLERANCE_HOURS (default 24) are quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from orchestration.io import settings
from orchestration.io.ingestion.raw_tables import quote

# date, optional time (T or space), then whatever follows as the zone
_PATTERN = r"^\s*(\d{4}-\d{1,2}-\d{1,2})(?:[Tt ](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(.*?)\s*$"
_OFFSET = r"[+-](0\d|1[0-4])(:?[0-5]\d)?"
# Text DuckDB's own cast may read: no letter but T and Z (so no zone name) and no offset past 14
# hours. Only such values reach the cast, so no zone can carry onto the next value.
_CASTABLE_GUARD = r"[A-SU-Ya-su-y]|:\d\d(\.\d+)?\s*[+-](1[5-9]|[2-9]\d)"
_TWELVE_HOUR = r"[AaPp]\.?[Mm]\.?"
_UTC_NAMES = "['z', 'utc', 'gmt', 'ut']"
_SPECIAL = "['infinity', '-infinity', '+infinity', 'epoch']"


@dataclass(frozen=True)
class TimestampBounds:
    """The plausible range: not before `earliest`, not later than now + `future_hours`."""

    earliest: str = "1970-01-01"
    future_hours: float = 24.0

    @classmethod
    def from_settings(cls) -> TimestampBounds:
        earliest = settings.ingest_min_timestamp()
        try:
            datetime.fromisoformat(earliest)
        except ValueError as exc:
            raise ValueError(f"INGEST_MIN_TIMESTAMP={earliest!r} is not an ISO date") from exc
        return cls(earliest, settings.ingest_future_tolerance_hours())


_ZONES: list[tuple[str, ...]] = []  # filled once: ICU's zone list is fixed per DuckDB build


def zone_names(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The IANA zone names this DuckDB knows; only names with a slash are unambiguous."""
    if not _ZONES:
        rows = con.execute("SELECT name FROM pg_timezone_names() WHERE name LIKE '%/%'").fetchall()
        _ZONES.append(tuple(sorted(r[0] for r in rows)))
    return _ZONES[0]


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def fast_name(column: str) -> str:
    return quote(f"__fast__{column}")


def parts_name(column: str) -> str:
    return quote(f"__parts__{column}")


def local_name(column: str) -> str:
    return quote(f"__local__{column}")


def fast_expr(column: str) -> str:
    """The instant by DuckDB's cast, for text with an offset or no zone (most values): fast."""
    v = quote(column)
    guard = f"regexp_matches({v}, '{_CASTABLE_GUARD}')"
    return f"(CASE WHEN NOT {guard} THEN try_cast({v} AS TIMESTAMPTZ) END)"


def parts_expr(column: str) -> str:
    """For the values the cast did not read: a struct (day, time, zone) of the text; day is ''
    when it does not look like a timestamp."""
    return (
        f"(CASE WHEN {fast_name(column)} IS NULL THEN "
        f"regexp_extract({quote(column)}, '{_PATTERN}', ['day', 'time', 'zone']) END)"
    )


def local_expr(column: str) -> str:
    """The wall-clock part as a naive TIMESTAMP (NULL when the date or time is not valid)."""
    p = parts_name(column)
    return (
        f"(CASE WHEN {p}.day <> '' THEN try_cast({p}.day || ' ' || "
        f"coalesce(nullif({p}.time, ''), '00:00:00') AS TIMESTAMP) END)"
    )


def instant_expr(column: str, zones: tuple[str, ...]) -> str:
    """The instant (TIMESTAMPTZ) by the rule in the module docstring; NULL when not honoured."""
    fast, p, local = fast_name(column), parts_name(column), local_name(column)
    digits = f"replace(substr({p}.zone, 2), ':', '')"
    minutes = (
        f"(CASE WHEN left({p}.zone, 1) = '-' THEN -1 ELSE 1 END) * "
        f"(cast(left({digits}, 2) AS INTEGER) * 60 "
        f"+ coalesce(try_cast(nullif(substr({digits}, 3), '') AS INTEGER), 0))"
    )
    return f"""(CASE
        WHEN {fast} IS NOT NULL THEN {fast}
        WHEN {local} IS NULL THEN NULL
        WHEN {p}.zone = '' OR list_contains({_UTC_NAMES}, lower({p}.zone))
            THEN timezone('UTC', {local})
        WHEN regexp_full_match({p}.zone, '{_OFFSET}')
            THEN timezone('UTC', {local} - to_minutes({minutes}))
        WHEN list_contains({_list(zones)}, {p}.zone) THEN timezone({p}.zone, {local})
    END)"""


def _future(bounds: TimestampBounds) -> str:
    return f"current_timestamp + to_seconds({int(bounds.future_hours * 3600)})"


def plausible(typed: str, bounds: TimestampBounds) -> str:
    """The instant is within the plausible range (NULL when there is no instant)."""
    return f"({typed} >= timestamptz '{bounds.earliest}' AND {typed} <= {_future(bounds)})"


def timestamp_checks(
    column: str, typed: str, not_blank: str, bounds: TimestampBounds
) -> list[tuple[str, str, str]]:
    """(condition, reason kind, offending value SQL) for one timestamp column, first wins."""
    v, p, local = quote(column), parts_name(column), local_name(column)
    future = _future(bounds)
    return [
        (
            f"{not_blank} AND list_contains({_SPECIAL}, lower(trim({v})))",
            f"implausible timestamp: {column}",
            v,
        ),
        (
            # a 12-hour clock is not ISO 8601: 10:00 PM would otherwise read as a zone name
            f"{typed} IS NULL AND {not_blank} AND "
            f"({local} IS NULL OR regexp_full_match({p}.zone, '{_TWELVE_HOUR}'))",
            f"not a timestamp: {column}",
            v,
        ),
        (
            f"{typed} IS NULL AND regexp_full_match({p}.zone, '[A-Z]{{3,5}}')",
            f"ambiguous time zone abbreviation (use a UTC offset or an IANA name): {column}",
            v,
        ),
        (f"{not_blank} AND {typed} IS NULL", f"unknown time zone or UTC offset: {column}", v),
        (
            f"{typed} < timestamptz '{bounds.earliest}'",
            f"implausible timestamp (before {bounds.earliest}): {column}",
            v,
        ),
        (f"{typed} > {future}", f"timestamp in the future: {column}", v),
    ]
