"""Rule files: the parsed YAML mapping -> a RuleSet of named, prioritised segments.

Marketing users define audiences in `config/rule_segments.yaml` (read by the I/O layer). This
module checks the file's structure (segments, names, priorities) and reports every problem at
once, grouped per segment; the conditions are checked against the catalog by `compile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RuleIssue:
    segment: str
    kind: str  # structure | unknown_attribute | bad_operator | wrong_type | prohibited_attribute
    #            | empty_segment | priority
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"segment {self.segment!r}: {self.message}"


class RuleValidationError(ValueError):
    """Rules that cannot be evaluated; the message lists every error, grouped per segment."""

    def __init__(self, issues: list[RuleIssue], source: str = "rule segments"):
        self.issues = issues
        by_segment: dict[str, list[str]] = {}
        for issue in issues:
            by_segment.setdefault(issue.segment, []).append(issue.message)
        lines = [f"{source}: {len(issues)} error(s)"]
        for segment, messages in by_segment.items():
            lines.append(f"  segment {segment!r}:")
            lines.extend(f"    - {m}" for m in messages)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class RuleSegment:
    name: str
    priority: int
    conditions: Any  # the condition tree as written in the file
    description: str = ""


@dataclass(frozen=True)
class RuleSet:
    segments: list[RuleSegment]
    exclusive: bool = True
    empty_segment: str = "warning"  # severity of a segment with no members
    source: str = "rule segments"


def parse_rules(raw: Any, source: str = "rule segments") -> RuleSet:
    """The file's structure (segments, names, priorities); conditions are checked by validate."""
    issues: list[RuleIssue] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("segments"), list):
        raise RuleValidationError(
            [RuleIssue("(file)", "structure", "expected a mapping with a 'segments' list")], source
        )
    for key in sorted(set(raw) - {"version", "exclusive", "empty_segment", "segments"}):
        issues.append(RuleIssue("(file)", "structure", f"unknown top-level key {key!r}"))
    exclusive = raw.get("exclusive", True)
    if not isinstance(exclusive, bool):
        issues.append(RuleIssue("(file)", "structure", "'exclusive' must be true or false"))
    empty = raw.get("empty_segment", "warning")
    if empty not in ("warning", "error"):
        issues.append(RuleIssue("(file)", "structure", "'empty_segment' must be warning or error"))

    segments: list[RuleSegment] = []
    seen: set[str] = set()
    for position, entry in enumerate(raw["segments"]):
        label = f"#{position + 1}"
        if not isinstance(entry, dict):
            issues.append(RuleIssue(label, "structure", "each segment must be a mapping"))
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            issues.append(RuleIssue(label, "structure", "'name' must be a non-empty text"))
            continue
        label = name
        if name in seen:
            issues.append(RuleIssue(label, "structure", "segment name is used more than once"))
        seen.add(name)
        for key in sorted(set(entry) - {"name", "description", "priority", "conditions"}):
            issues.append(
                RuleIssue(
                    label,
                    "structure",
                    f"unknown key {key!r} (expected name, description, priority, conditions)",
                )
            )
        priority = entry.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int):
            issues.append(RuleIssue(label, "priority", f"priority {priority!r} must be an integer"))
            continue
        if "conditions" not in entry:
            issues.append(RuleIssue(label, "structure", "'conditions' is missing"))
            continue
        segments.append(
            RuleSegment(name, priority, entry["conditions"], str(entry.get("description") or ""))
        )
    if issues:
        raise RuleValidationError(issues, source)
    return RuleSet(segments, exclusive, empty, source)
