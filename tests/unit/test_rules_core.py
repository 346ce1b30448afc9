"""The pure rule core: compiling once, the SQL text it generates, the issues that need warehouse
facts (given as arguments) and the membership assembly."""

from __future__ import annotations

import pandas as pd
import pytest

from ml_assets.rules import (
    MEMBER_COLUMNS,
    compile_rules,
    distinct_values_query,
    empty_segment_issues,
    membership_query,
    parse_rules,
    rule_evaluation,
    text_attributes,
    unseen_value_warnings,
    validate_rules,
    warehouse_issues,
)

CATALOG = pd.DataFrame(
    {
        "attribute_name": ["customer_key", "industry", "mrr"],
        "segmentation_policy": ["prohibited", "allowed", "allowed"],
        "data_type": ["identifier", "categorical", "numeric"],
    }
)
RULES = parse_rules(
    {
        "segments": [
            {
                "name": "shops",
                "priority": 1,
                "conditions": [{"attribute": "industry", "eq": "Shop"}],
            },
            {
                "name": "big",
                "priority": 1,
                "conditions": [{"attribute": "mrr", "gte": 100}, {"ml_segment": {"eq": 2}}],
            },
        ]
    }
)
ATTRIBUTES_SQL = '"marts"."customer_attributes"'
SEGMENTS_SQL = '"segmentation"."customer_segments"'


def test_compile_rules_compiles_every_segment_once_and_validates_like_validate_rules():
    compiled, issues = compile_rules(RULES, CATALOG)
    assert [c.segment for c in compiled] == ["shops", "big"]
    assert issues == validate_rules(RULES, CATALOG)
    assert [(i.segment, i.kind, i.severity) for i in issues] == [("big", "priority", "warning")]


def test_membership_query_binds_values_and_joins_ml_segments_only_when_used():
    shops, big = compile_rules(RULES, CATALOG)[0]
    assert membership_query(shops, ATTRIBUTES_SQL, SEGMENTS_SQL) == (
        'select a."customer_key" from "marts"."customer_attributes" as a'
        ' where coalesce((((a."industry" = ?))), false)'
    )
    assert shops.params == ["Shop"]
    sql = membership_query(big, ATTRIBUTES_SQL, SEGMENTS_SQL)
    assert 'left join "segmentation"."customer_segments" as s on s."customer_key"' in sql
    assert big.params == [100, "2", "2"]


def test_distinct_values_query_quotes_catalog_columns_only():
    data_types = dict(zip(CATALOG["attribute_name"], CATALOG["data_type"], strict=True))
    assert distinct_values_query("industry", data_types, ATTRIBUTES_SQL) == (
        'select distinct cast(a."industry" as varchar) from "marts"."customer_attributes" as a'
        ' where a."industry" is not null'
    )
    with pytest.raises(ValueError, match="not a catalog column"):
        distinct_values_query("industry; drop", data_types, ATTRIBUTES_SQL)


def test_warehouse_issues_name_the_missing_table_column_and_segments():
    compiled, _ = compile_rules(RULES, CATALOG)
    missing_table = warehouse_issues(compiled, set(), True, "marts.ca", "seg.cs")
    assert [str(i) for i in missing_table] == ["segment '(file)': marts.ca does not exist yet"]
    issues = warehouse_issues(compiled, {"customer_key", "industry"}, False, "marts.ca", "seg.cs")
    assert [str(i) for i in issues] == [
        "segment 'big': attribute 'mrr' is in the catalog but not in marts.ca; rebuild dbt",
        "segment 'big': uses ml_segment but seg.cs does not exist yet",
    ]


def test_unseen_values_are_warned_with_the_spelling_customers_have():
    compiled, _ = compile_rules(RULES, CATALOG)
    assert text_attributes(compiled) == ["industry"]
    [warning] = unseen_value_warnings(compiled, {"industry": ["shop", "bank"]})
    assert warning.severity == "warning"
    assert str(warning).endswith("no customer has industry = 'Shop'; did you mean 'shop'?")
    assert unseen_value_warnings(compiled, {"industry": ["Shop"]}) == []


def test_rule_evaluation_counts_matches_and_exclusive_members():
    matched = {"shops": ["a", "b"], "big": ["b", "c"]}
    at = pd.Timestamp("2026-01-01", tz="UTC")
    evaluation = rule_evaluation(RULES, matched, True, at, [])
    assert list(evaluation.members.columns) == MEMBER_COLUMNS
    assert evaluation.members["customer_key"].is_unique
    counts = evaluation.counts.set_index("rule_segment")
    assert counts["matched"].to_dict() == {"shops": 2, "big": 2}
    assert counts["members"].to_dict() == {"shops": 2, "big": 1}
    empty = empty_segment_issues(RULES, {"shops": [], "big": ["c"]})
    assert [(i.segment, i.kind, i.severity) for i in empty] == [
        ("shops", "empty_segment", "warning")
    ]
