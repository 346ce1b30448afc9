"""Rule segments in the warehouse: evaluating compiled rules against customer_attributes and the
ML segments, and reading the published membership. The SQL text comes from ml_assets.rules;
this module only runs it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ml_assets.governance import GovernancePolicy
from ml_assets.rules import (
    RuleEvaluation,
    RuleSet,
    RuleValidationError,
    catalog_types_and_policies,
    compile_rules,
    distinct_values_query,
    empty_segment_issues,
    errors_of,
    membership_query,
    rule_evaluation,
    text_attributes,
    unseen_value_warnings,
    warehouse_issues,
)
from orchestration.io import tables
from orchestration.io.warehouse import read_table, replace_table, table_columns, table_exists


def _display(table: tables.Table) -> str:
    return f"{table.schema}.{table.name}"


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
    compiled, issues = compile_rules(rules, catalog, policy)
    issues += warehouse_issues(
        compiled,
        table_columns(con, *tables.CUSTOMER_ATTRIBUTES),
        table_exists(con, *tables.CUSTOMER_SEGMENTS),
        _display(tables.CUSTOMER_ATTRIBUTES),
        _display(tables.CUSTOMER_SEGMENTS),
    )
    if errors := errors_of(issues):
        raise RuleValidationError(errors, rules.source)

    data_types, _ = catalog_types_and_policies(catalog, policy)
    seen = {
        attribute: [
            row[0]
            for row in con.execute(
                distinct_values_query(attribute, data_types, tables.CUSTOMER_ATTRIBUTES.sql)
            ).fetchall()
        ]
        for attribute in text_attributes(compiled)
    }
    issues += unseen_value_warnings(compiled, seen)
    matched = {
        rule.segment: [
            row[0]
            for row in con.execute(
                membership_query(
                    rule, tables.CUSTOMER_ATTRIBUTES.sql, tables.CUSTOMER_SEGMENTS.sql
                ),
                rule.params,
            ).fetchall()
        ]
        for rule in compiled
    }
    issues += empty_segment_issues(rules, matched)
    if errors := errors_of(issues):
        raise RuleValidationError(errors, rules.source)
    return rule_evaluation(rules, matched, exclusive, evaluated_at, issues)


def read_published_members(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The last published rule segment membership (empty before the first publish)."""
    return read_table(con, *tables.RULE_SEGMENTS)


def read_ml_segments(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return read_table(con, *tables.CUSTOMER_SEGMENTS)


def publish_members(con: duckdb.DuckDBPyConnection, members: pd.DataFrame) -> int:
    return replace_table(con, *tables.RULE_SEGMENTS, members)
