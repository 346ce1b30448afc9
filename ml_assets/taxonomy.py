"""The event taxonomy's rules in pure code: what a user's addition row must hold, and which
canonical event an unmapped raw event name most likely means.

Raw names are compared the way staging keys them (trimmed, lower case). A suggestion is a fuzzy
match (difflib) of the unmapped name against every name the taxonomy knows for a canonical
event: its raw names in every tracking version (the aliases) and the canonical name itself.
Separators are ignored and word order counts little, so "Dashboard View" and "view_dashboard"
meet. A suggestion is a hint for the person editing the taxonomy, never a mapping applied.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

TAXONOMY_COLUMNS = (
    "raw_event_name_normalised",
    "canonical_event",
    "event_category",
    "tracking_version",
)
# Below this similarity (0-1) no canonical event is suggested: a guess would mislead more than help.
SUGGESTION_CUTOFF = 0.6


class TaxonomyError(ValueError):
    """A taxonomy additions file that cannot be used, with every problem listed."""


def normalise_event_name(name: str) -> str:
    """The taxonomy key of a raw name, as staging computes it: trimmed and lower-cased."""
    return str(name).strip().lower()


def parse_taxonomy_additions(rows: Iterable[Mapping[str, str]], source: str) -> list[dict]:
    """Validated addition rows (values stripped) from a CSV's dict rows; TaxonomyError lists
    every missing column and empty value with its line. Duplicates are the dbt test's to judge,
    against the project's seed too."""
    rows = list(rows)
    problems = []
    if rows:
        missing = [column for column in TAXONOMY_COLUMNS if column not in rows[0]]
        if missing:
            raise TaxonomyError(f"{source}: missing column(s) {', '.join(missing)}")
    parsed = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        values = {column: str(row.get(column) or "").strip() for column in TAXONOMY_COLUMNS}
        empty = [column for column, value in values.items() if not value]
        if empty:
            problems.append(f"line {line}: empty {', '.join(empty)}")
        else:
            parsed.append(values)
    if problems:
        raise TaxonomyError(f"{source}: " + "; ".join(problems))
    return parsed


def _words(name: str) -> str:
    return " ".join(re.split(r"[^0-9a-z]+", normalise_event_name(name))).strip()


def _similarity(a: str, b: str) -> float:
    """Best of the plain and the word-sorted comparison of the separator-free forms."""
    plain = difflib.SequenceMatcher(None, _words(a), _words(b)).ratio()
    unordered = difflib.SequenceMatcher(
        None, " ".join(sorted(_words(a).split())), " ".join(sorted(_words(b).split()))
    ).ratio()
    return max(plain, unordered)


@dataclass(frozen=True)
class Suggestion:
    canonical_event: str
    matched_name: str  # the alias or canonical name it resembles most
    similarity: float


def suggest_canonical_event(
    name: str, known: Mapping[str, str], cutoff: float = SUGGESTION_CUTOFF
) -> Suggestion | None:
    """The canonical event whose known name (alias -> canonical event) `name` resembles most;
    None below `cutoff`. Ties go to the alphabetically first name, so the answer is stable."""
    best: Suggestion | None = None
    for alias in sorted(known):
        score = _similarity(name, alias)
        if best is None or score > best.similarity:
            best = Suggestion(known[alias], alias, score)
    if best is None or best.similarity < cutoff:
        return None
    return best


def known_event_names(taxonomy: pd.DataFrame) -> dict[str, str]:
    """Every name the taxonomy knows (raw names of all tracking versions and the canonical
    names themselves) -> its canonical event."""
    known = {
        normalise_event_name(raw): canonical
        for raw, canonical in zip(
            taxonomy["raw_event_name_normalised"], taxonomy["canonical_event"], strict=True
        )
    }
    known.update({canonical: canonical for canonical in taxonomy["canonical_event"]})
    return known


def unmapped_with_suggestions(unmapped: pd.DataFrame, taxonomy: pd.DataFrame) -> pd.DataFrame:
    """The unmapped names (int_events_unmapped's rows), most frequent first, each with the
    canonical event to map it to if it is a rename (None when nothing is close enough)."""
    known = known_event_names(taxonomy)
    columns = ["raw_event_name_normalised", "event_count", "user_count"]
    ordered = unmapped.sort_values(
        ["event_count", "raw_event_name_normalised"], ascending=[False, True]
    )[columns].reset_index(drop=True)
    suggestions = [suggest_canonical_event(name, known) for name in ordered[columns[0]]]
    ordered["suggested_canonical_event"] = [s.canonical_event if s else None for s in suggestions]
    ordered["matched_name"] = [s.matched_name if s else None for s in suggestions]
    ordered["similarity"] = [round(s.similarity, 2) if s else None for s in suggestions]
    return ordered
