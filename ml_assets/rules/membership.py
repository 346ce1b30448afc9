"""Rule segment membership: who belongs where (exclusive or not), the per-segment counts, the
warnings that need the evaluated data, and the preview reports (membership diff, overlap with
the ML segments)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ml_assets.rules.compile import CompiledRule
from ml_assets.rules.parse import RuleIssue, RuleSet

MEMBER_COLUMNS = ["customer_key", "rule_segment", "priority", "evaluated_at"]


@dataclass
class RuleEvaluation:
    members: pd.DataFrame  # customer_key, rule_segment, priority, evaluated_at
    counts: pd.DataFrame  # rule_segment, priority, description, matched, members
    issues: list[RuleIssue]  # warnings (errors raise)

    @property
    def warnings(self) -> list[RuleIssue]:
        return [i for i in self.issues if i.severity == "warning"]


def errors_of(issues: list[RuleIssue]) -> list[RuleIssue]:
    return [i for i in issues if i.severity == "error"]


def text_attributes(compiled: list[CompiledRule]) -> list[str]:
    """Categorical attributes the rules compare with values: their values are looked up."""
    return list(dict.fromkeys(a for rule in compiled for _, a, _ in rule.text_values))


def unseen_value_warnings(
    compiled: list[CompiledRule], seen: Mapping[str, list[str]]
) -> list[RuleIssue]:
    """Categorical values no customer has: usually a typo or a different spelling ('Retail').

    `seen` maps each of `text_attributes(compiled)` to the values customers have.
    """
    warnings = []
    for rule in compiled:
        for where, attribute, values in rule.text_values:
            for value in values:
                if value in seen[attribute]:
                    continue
                hint = [v for v in seen[attribute] if v.lower() == value.lower()]
                hint = hint or difflib.get_close_matches(value, seen[attribute], n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                warnings.append(
                    RuleIssue(
                        rule.segment,
                        "unknown_value",
                        f"{where}: no customer has {attribute} = {value!r}{suggestion}",
                        severity="warning",
                    )
                )
    return warnings


def empty_segment_issues(rules: RuleSet, matched: Mapping[str, list]) -> list[RuleIssue]:
    """A segment nobody matches, with the file's severity (warning by default)."""
    return [
        RuleIssue(
            segment.name,
            "empty_segment",
            "no customer matches these conditions (check values and thresholds)",
            severity=rules.empty_segment,
        )
        for segment in rules.segments
        if not matched[segment.name]
    ]


def assign_members(
    rules: RuleSet, matched: Mapping[str, list], exclusive: bool, evaluated_at: pd.Timestamp
) -> pd.DataFrame:
    """Membership rows; exclusive keeps each customer in its lowest-priority-number segment."""
    ordered = sorted(enumerate(rules.segments), key=lambda item: (item[1].priority, item[0]))
    rows = []
    taken: set = set()
    for _, segment in ordered:
        for key in matched[segment.name]:
            if exclusive and key in taken:
                continue
            taken.add(key)
            rows.append((key, segment.name, segment.priority))
    members = pd.DataFrame(rows, columns=MEMBER_COLUMNS[:3])
    members["evaluated_at"] = evaluated_at
    return members.sort_values(["priority", "customer_key"], ignore_index=True)


def rule_evaluation(
    rules: RuleSet,
    matched: Mapping[str, list],
    exclusive: bool,
    evaluated_at: pd.Timestamp,
    issues: list[RuleIssue],
) -> RuleEvaluation:
    """Members and per-segment counts (matched before exclusivity, members after)."""
    members = assign_members(rules, matched, exclusive, evaluated_at)
    counts = pd.DataFrame(
        {
            "rule_segment": [s.name for s in rules.segments],
            "priority": [s.priority for s in rules.segments],
            "description": [s.description for s in rules.segments],
            "matched": [len(matched[s.name]) for s in rules.segments],
        }
    )
    sizes = members["rule_segment"].value_counts()
    counts["members"] = counts["rule_segment"].map(sizes).fillna(0).astype(int)
    return RuleEvaluation(members, counts, issues)


# ---------------------------------------------------------------------------------------------
# Preview and reporting


def membership_diff(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Per rule segment: members before and after, and how many entered, left and stayed."""
    columns = ["rule_segment", "before", "after", "entered", "left", "stayed"]
    empty = pd.DataFrame(columns=["customer_key", "rule_segment"])
    previous = previous if not previous.empty else empty
    current = current if not current.empty else empty
    names = sorted(set(previous["rule_segment"]) | set(current["rule_segment"]))
    rows = []
    for name in names:
        before = set(previous.loc[previous["rule_segment"] == name, "customer_key"])
        after = set(current.loc[current["rule_segment"] == name, "customer_key"])
        rows.append(
            (
                name,
                len(before),
                len(after),
                len(after - before),
                len(before - after),
                len(after & before),
            )
        )
    return pd.DataFrame(rows, columns=columns)


def ml_segment_overlap(members: pd.DataFrame, ml_segments: pd.DataFrame) -> pd.DataFrame:
    """Rule segment x ML segment member counts (customers without an ML segment: 'none')."""
    if members.empty:
        return pd.DataFrame()
    if ml_segments.empty:
        labels = pd.Series("none", index=members.index)
    else:
        label_column = "segment_name" if "segment_name" in ml_segments else "segment_id"
        lookup = ml_segments.drop_duplicates("customer_key").set_index("customer_key")[label_column]
        labels = members["customer_key"].map(lookup).fillna("none").astype(str)
    return pd.crosstab(members["rule_segment"], labels.rename("ml_segment"))
