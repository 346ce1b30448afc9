"""Rule-based segments: named audiences marketing users define in YAML over catalog attributes.

A rule file (`config/rule_segments.yaml`) lists segments with a priority and conditions. Rules are
validated against the attribute catalog and the governance policy (clear errors per segment), then
compiled to SQL in which every value is a bound `?` parameter and every identifier is a catalog
column name, checked and quoted: no text from the file reaches SQL unescaped. Plain Python, no
Dagster.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from ml_assets.governance import GovernancePolicy, effective_attribute_policies
from orchestration.io import settings
from orchestration.io.warehouse import table_exists

OPERATORS = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "in",
    "not_in",
    "is_null",
    "not_null",
)
COMPARISONS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
ORDER_OPERATORS = {"gt", "gte", "lt", "lte", "between"}  # need a numeric attribute
ML_SEGMENT_OPERATORS = ("eq", "ne", "in", "not_in")
LOGICAL = ("all", "any", "not")

ATTRIBUTES_TABLE = ("marts", "customer_attributes")
ML_SEGMENTS_TABLE = ("segmentation", "customer_segments")
PUBLISHED_TABLE = ("audiences", "rule_segments")
MEMBER_COLUMNS = ["customer_key", "rule_segment", "priority", "evaluated_at"]


def default_rules_path() -> Path:
    return settings.CONFIG_DIR / "rule_segments.yaml"


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


# ---------------------------------------------------------------------------------------------
# Loading


def load_rules(path: Path | str | None = None) -> RuleSet:
    path = Path(path) if path is not None else default_rules_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RuleValidationError(
            [RuleIssue("(file)", "structure", f"not valid YAML: {exc}")], str(path)
        ) from exc
    return parse_rules(raw, source=str(path))


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


# ---------------------------------------------------------------------------------------------
# Validation and compilation share one walk over the condition tree


@dataclass
class _Context:
    """What the walk knows: catalog column types and policies; what it collects."""

    data_types: Mapping[str, str]
    policies: Mapping[str, str]
    segment: str
    issues: list[RuleIssue] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)
    text_values: list[tuple[str, str, list[str]]] = field(default_factory=list)
    uses_ml_segment: bool = False

    def error(self, kind: str, where: str, message: str) -> None:
        self.issues.append(RuleIssue(self.segment, kind, f"{where}: {message}"))


@dataclass(frozen=True)
class CompiledRule:
    segment: str
    where: str  # SQL boolean expression over aliases a (attributes) and s (ML segments)
    params: list[Any]
    attributes: frozenset[str]  # catalog columns the rule reads
    uses_ml_segment: bool
    # (location, attribute, values) of categorical comparisons, to warn about unseen values
    text_values: tuple[tuple[str, str, list[str]], ...] = ()


def quote_identifier(name: str, known: Mapping[str, Any]) -> str:
    """A column reference for a catalog name; anything not in the catalog never gets here."""
    if name not in known:
        raise ValueError(f"{name!r} is not a catalog column")
    return '"' + name.replace('"', '""') + '"'


def _is_number(value: Any) -> bool:
    """A finite int or float; YAML's true/false and .nan/.inf are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _placeholders(ctx: _Context, values: list[Any]) -> str:
    ctx.params.extend(values)
    return ", ".join("?" for _ in values)


def _coerce(ctx: _Context, where: str, attribute: str, data_type: str, value: Any) -> Any:
    """The parameter to bind for one value, or None after recording a type error."""
    if data_type == "numeric":
        if _is_number(value):
            return value
        ctx.error(
            "wrong_type",
            where,
            f"{attribute} is numeric but the value {value!r} is not a number",
        )
    elif data_type == "boolean":
        if isinstance(value, bool):
            return value
        ctx.error(
            "wrong_type", where, f"{attribute} is a true/false flag but the value is {value!r}"
        )
    else:  # categorical: compare as text
        if isinstance(value, str) or _is_number(value):
            return str(value)
        ctx.error("wrong_type", where, f"{attribute} is categorical but the value is {value!r}")
    return None


def _operator_of(ctx: _Context, node: dict, where: str, allowed: tuple[str, ...]) -> str | None:
    ops = [key for key in node if key != "attribute"]
    if len(ops) != 1:
        ctx.error(
            "bad_operator",
            where,
            f"expected exactly one operator ({', '.join(allowed)}), found {ops or 'none'}",
        )
        return None
    op = ops[0]
    if op not in allowed:
        hint = difflib.get_close_matches(str(op), allowed, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        ctx.error(
            "bad_operator",
            where,
            f"unknown operator {op!r} (expected one of {', '.join(allowed)}){suggestion}",
        )
        return None
    return op


def _values_list(ctx: _Context, where: str, op: str, value: Any) -> list[Any] | None:
    if not isinstance(value, list) or not value:
        ctx.error("wrong_type", where, f"{op} needs a non-empty list of values, got {value!r}")
        return None
    return value


def _attribute_condition(ctx: _Context, node: dict, where: str) -> str:
    attribute = node.get("attribute")
    if not isinstance(attribute, str) or attribute not in ctx.data_types:
        names = list(ctx.data_types)
        hint = difflib.get_close_matches(str(attribute), names, n=3, cutoff=0.6)
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        ctx.error("unknown_attribute", where, f"unknown attribute {attribute!r}{suggestion}")
        return "false"
    policy = ctx.policies.get(attribute, "prohibited")
    if policy != "allowed":
        ctx.error(
            "prohibited_attribute",
            where,
            f"attribute {attribute!r} is {policy} by the governance policy and cannot be used "
            "in rules",
        )
        return "false"
    op = _operator_of(ctx, node, where, OPERATORS)
    if op is None:
        return "false"
    data_type = ctx.data_types[attribute]
    ctx.attributes.add(attribute)
    column = "a." + quote_identifier(attribute, ctx.data_types)
    value = node[op]
    if op in ("is_null", "not_null"):
        if value is not True:
            ctx.error("wrong_type", where, f"{op} takes the value true, got {value!r}")
            return "false"
        return f"{column} is {'not ' if op == 'not_null' else ''}null"
    if op in ORDER_OPERATORS and data_type != "numeric":
        ctx.error(
            "wrong_type",
            where,
            f"operator {op!r} needs a numeric attribute but {attribute} is {data_type}",
        )
        return "false"
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            ctx.error("wrong_type", where, f"between needs [low, high], got {value!r}")
            return "false"
        low, high = (_coerce(ctx, where, attribute, data_type, v) for v in value)
        if low is None or high is None:
            return "false"
        if low > high:
            ctx.error("wrong_type", where, f"between [{low}, {high}]: low is above high")
            return "false"
        ctx.params.extend([low, high])
        return f"{column} between ? and ?"
    if op in ("in", "not_in"):
        values = _values_list(ctx, where, op, value)
        if values is None:
            return "false"
        coerced = [_coerce(ctx, where, attribute, data_type, v) for v in values]
        if any(v is None for v in coerced):
            return "false"
        if data_type not in ("numeric", "boolean"):
            ctx.text_values.append((where, attribute, coerced))
        negate = "not " if op == "not_in" else ""
        return f"{column} {negate}in ({_placeholders(ctx, coerced)})"
    if data_type == "boolean" and op not in ("eq", "ne"):
        ctx.error("wrong_type", where, f"operator {op!r} does not apply to flag {attribute}")
        return "false"
    coerced_value = _coerce(ctx, where, attribute, data_type, value)
    if coerced_value is None:
        return "false"
    if data_type not in ("numeric", "boolean"):
        ctx.text_values.append((where, attribute, [coerced_value]))
    return f"{column} {COMPARISONS[op]} {_placeholders(ctx, [coerced_value])}"


def _ml_segment_condition(ctx: _Context, node: Any, where: str) -> str:
    """Membership of the ML segment, given by segment id or by name."""
    ctx.uses_ml_segment = True
    if not isinstance(node, dict):
        ctx.error("structure", where, "ml_segment needs an operator, e.g. {in: [1, 'Champions']}")
        return "false"
    op = _operator_of(ctx, node, where, ML_SEGMENT_OPERATORS)
    if op is None:
        return "false"
    value = node[op]
    values = _values_list(ctx, where, op, value) if op in ("in", "not_in") else [value]
    if values is None:
        return "false"
    if not all(isinstance(v, str) or _is_number(v) for v in values):
        ctx.error("wrong_type", where, f"ml_segment values must be ids or names, got {value!r}")
        return "false"
    texts = [str(v) for v in values]
    ids = _placeholders(ctx, texts)
    names = _placeholders(ctx, texts)
    member = f'(cast(s."segment_id" as varchar) in ({ids}) or s."segment_name" in ({names}))'
    return f"not coalesce({member}, false)" if op in ("ne", "not_in") else member


def _walk(ctx: _Context, node: Any, where: str) -> str:
    """SQL for one node of the condition tree; records issues instead of raising."""
    if isinstance(node, list):  # a bare list means all of them
        node = {"all": node}
    if not isinstance(node, dict) or not node:
        ctx.error("structure", where, f"expected a condition, got {node!r}")
        return "false"
    logical = [key for key in node if key in LOGICAL]
    if logical or "ml_segment" in node:
        if len(node) != 1:
            ctx.error(
                "structure",
                where,
                f"{', '.join(map(str, node))}: put each condition in its own list item",
            )
            return "false"
        key, child = next(iter(node.items()))
        if key == "ml_segment":
            return _ml_segment_condition(ctx, child, f"{where}.ml_segment")
        if key == "not":
            # `not` also matches customers the inner condition is unknown for (missing values)
            return f"not coalesce(({_walk(ctx, child, f'{where}.not')}), false)"
        if not isinstance(child, list) or not child:
            ctx.error("structure", where, f"{key} needs a non-empty list of conditions")
            return "false"
        parts = [_walk(ctx, c, f"{where}.{key}[{i}]") for i, c in enumerate(child)]
        joiner = " and " if key == "all" else " or "
        return "(" + joiner.join(f"({p})" for p in parts) + ")"
    if "attribute" not in node:
        known = [*LOGICAL, "ml_segment", "attribute"]
        key = str(next(iter(node)))
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        ctx.error(
            "structure",
            where,
            f"unknown condition {key!r} (expected attribute, ml_segment, all, any or not)"
            f"{suggestion}",
        )
        return "false"
    return _attribute_condition(ctx, node, where)


def catalog_types_and_policies(
    catalog: pd.DataFrame, policy: GovernancePolicy | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Column -> data_type and column -> effective policy (stricter of dbt meta and policy file)."""
    data_types = dict(zip(catalog["attribute_name"], catalog["data_type"].fillna(""), strict=True))
    if policy is not None:
        policies = effective_attribute_policies(catalog, policy)
    else:
        policies = dict(zip(catalog["attribute_name"], catalog["segmentation_policy"], strict=True))
    return data_types, policies


def compile_segment(
    segment: RuleSegment, data_types: Mapping[str, str], policies: Mapping[str, str]
) -> tuple[CompiledRule, list[RuleIssue]]:
    ctx = _Context(data_types, policies, segment.name)
    where = _walk(ctx, segment.conditions, "conditions")
    compiled = CompiledRule(
        segment.name,
        where,
        ctx.params,
        frozenset(ctx.attributes),
        ctx.uses_ml_segment,
        tuple(ctx.text_values),
    )
    return compiled, ctx.issues


def validate_rules(
    rules: RuleSet, catalog: pd.DataFrame, policy: GovernancePolicy | None = None
) -> list[RuleIssue]:
    """Every problem with the rules short of evaluating them (errors and warnings)."""
    data_types, policies = catalog_types_and_policies(catalog, policy)
    issues: list[RuleIssue] = []
    for segment in rules.segments:
        issues.extend(compile_segment(segment, data_types, policies)[1])
    if rules.exclusive:
        by_priority: dict[int, list[str]] = {}
        for segment in rules.segments:
            by_priority.setdefault(segment.priority, []).append(segment.name)
        for priority, names in by_priority.items():
            if len(names) > 1:
                issues.append(
                    RuleIssue(
                        names[1],
                        "priority",
                        f"priority {priority} is shared with {names[0]!r}; the segment listed "
                        "first in the file wins ties",
                        severity="warning",
                    )
                )
    return issues


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass
class RuleEvaluation:
    members: pd.DataFrame  # customer_key, rule_segment, priority, evaluated_at
    counts: pd.DataFrame  # rule_segment, priority, description, matched, members
    issues: list[RuleIssue]  # warnings (errors raise)

    @property
    def warnings(self) -> list[RuleIssue]:
        return [i for i in self.issues if i.severity == "warning"]


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def evaluate_rules(
    con: duckdb.DuckDBPyConnection,
    rules: RuleSet,
    catalog: pd.DataFrame,
    policy: GovernancePolicy | None = None,
    exclusive: bool | None = None,
    evaluated_at: pd.Timestamp | None = None,
) -> RuleEvaluation:
    """Members of every rule segment in the warehouse; raise RuleValidationError on any error.

    Exclusive (the file's default): each customer belongs to the matching segment with the lowest
    priority number only. Non-exclusive: to every segment it matches.
    """
    exclusive = rules.exclusive if exclusive is None else exclusive
    evaluated_at = evaluated_at or pd.Timestamp.now(tz="UTC")
    data_types, policies = catalog_types_and_policies(catalog, policy)
    issues = validate_rules(rules, catalog, policy)
    compiled = [compile_segment(s, data_types, policies)[0] for s in rules.segments]

    table_columns = _table_columns(con, *ATTRIBUTES_TABLE)
    if not table_columns:
        issues.append(
            RuleIssue("(file)", "structure", "marts.customer_attributes does not exist yet")
        )
    else:
        for rule in compiled:
            for name in sorted(rule.attributes - table_columns):
                issues.append(
                    RuleIssue(
                        rule.segment,
                        "unknown_attribute",
                        f"attribute {name!r} is in the catalog but not in "
                        "marts.customer_attributes; rebuild dbt",
                    )
                )
    has_ml = table_exists(con, *ML_SEGMENTS_TABLE)
    for rule in compiled:
        if rule.uses_ml_segment and not has_ml:
            issues.append(
                RuleIssue(
                    rule.segment,
                    "structure",
                    "uses ml_segment but segmentation.customer_segments does not exist yet",
                )
            )
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise RuleValidationError(errors, rules.source)

    issues.extend(_unseen_value_warnings(con, compiled, data_types))
    matched: dict[str, list] = {}
    for rule in compiled:
        sql = 'select a."customer_key" from "marts"."customer_attributes" as a'
        if rule.uses_ml_segment:
            sql += (
                ' left join "segmentation"."customer_segments" as s'
                ' on s."customer_key" = a."customer_key"'
            )
        sql += f" where coalesce(({rule.where}), false)"
        matched[rule.segment] = [r[0] for r in con.execute(sql, rule.params).fetchall()]

    for segment in rules.segments:
        if not matched[segment.name]:
            issues.append(
                RuleIssue(
                    segment.name,
                    "empty_segment",
                    "no customer matches these conditions (check values and thresholds)",
                    severity=rules.empty_segment,
                )
            )
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise RuleValidationError(errors, rules.source)

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


def _unseen_value_warnings(
    con: duckdb.DuckDBPyConnection, compiled: list[CompiledRule], data_types: Mapping[str, str]
) -> list[RuleIssue]:
    """Categorical values no customer has: usually a typo or a different spelling ('Retail')."""
    seen: dict[str, list[str]] = {}
    warnings = []
    for rule in compiled:
        for where, attribute, values in rule.text_values:
            if attribute not in seen:
                column = quote_identifier(attribute, data_types)
                rows = con.execute(
                    f"select distinct cast(a.{column} as varchar)"
                    f' from "marts"."customer_attributes" as a where a.{column} is not null'
                ).fetchall()
                seen[attribute] = [r[0] for r in rows]
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
