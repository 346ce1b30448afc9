"""Rule conditions -> SQL: validation against the catalog types and the governance policy, and
compilation to SQL text in which every value is a bound `?` parameter and every identifier is a
catalog column name, checked and quoted: no text from the file reaches SQL unescaped.

Validation and compilation share one walk over the condition tree. Generating the SQL text is
pure; running it is the I/O layer's job (orchestration.io.audiences), which passes the facts it
reads from the warehouse (columns present, ML segments present) to `warehouse_issues`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml_assets.governance.policy import GovernancePolicy, effective_attribute_policies
from ml_assets.rules.parse import RuleIssue, RuleSegment, RuleSet

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


def compile_rules(
    rules: RuleSet, catalog: pd.DataFrame, policy: GovernancePolicy | None = None
) -> tuple[list[CompiledRule], list[RuleIssue]]:
    """Every segment compiled, and every problem short of evaluating them (errors and warnings)."""
    data_types, policies = catalog_types_and_policies(catalog, policy)
    compiled: list[CompiledRule] = []
    issues: list[RuleIssue] = []
    for segment in rules.segments:
        rule, segment_issues = compile_segment(segment, data_types, policies)
        compiled.append(rule)
        issues.extend(segment_issues)
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
    return compiled, issues


def validate_rules(
    rules: RuleSet, catalog: pd.DataFrame, policy: GovernancePolicy | None = None
) -> list[RuleIssue]:
    """Every problem with the rules short of evaluating them (errors and warnings)."""
    return compile_rules(rules, catalog, policy)[1]


def warehouse_issues(
    compiled: list[CompiledRule],
    attribute_columns: set[str],
    has_ml_segments: bool,
    attributes_table: str,
    segments_table: str,
) -> list[RuleIssue]:
    """Errors only the warehouse reveals: columns the catalog has but the table lacks (dbt not
    rebuilt), and ML segment conditions before any segments exist. Table names are for messages."""
    issues: list[RuleIssue] = []
    if not attribute_columns:
        issues.append(RuleIssue("(file)", "structure", f"{attributes_table} does not exist yet"))
    else:
        for rule in compiled:
            for name in sorted(rule.attributes - attribute_columns):
                issues.append(
                    RuleIssue(
                        rule.segment,
                        "unknown_attribute",
                        f"attribute {name!r} is in the catalog but not in "
                        f"{attributes_table}; rebuild dbt",
                    )
                )
    for rule in compiled:
        if rule.uses_ml_segment and not has_ml_segments:
            issues.append(
                RuleIssue(
                    rule.segment,
                    "structure",
                    f"uses ml_segment but {segments_table} does not exist yet",
                )
            )
    return issues


def membership_query(rule: CompiledRule, attributes_sql: str, segments_sql: str) -> str:
    """SQL selecting the customer_key of every customer the rule matches; bind `rule.params`."""
    sql = f'select a."customer_key" from {attributes_sql} as a'
    if rule.uses_ml_segment:
        sql += f' left join {segments_sql} as s on s."customer_key" = a."customer_key"'
    return sql + f" where coalesce(({rule.where}), false)"


def distinct_values_query(
    attribute: str, data_types: Mapping[str, str], attributes_sql: str
) -> str:
    """SQL for the distinct non-null values (as text) of one catalog attribute."""
    column = quote_identifier(attribute, data_types)
    return (
        f"select distinct cast(a.{column} as varchar)"
        f" from {attributes_sql} as a where a.{column} is not null"
    )
