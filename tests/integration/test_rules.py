"""Rule segments: validation messages, safe SQL, exclusive membership and the preview diff."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ml_assets import rules
from ml_assets.rules import RuleValidationError, parse_rules, validate_rules
from orchestration.io.audiences import evaluate_rules
from orchestration.io.catalog import load_attribute_catalog
from orchestration.io.config_files import load_policy, load_rules
from orchestration.io.settings import CONFIG_DIR
from orchestration.io.warehouse import connect
from tests.support.governance import (
    POLICY_PATH,
    build_warehouse,
    catalog_meta,
    synthetic_frames,
    write_manifest,
)

RULES_PATH = CONFIG_DIR / "rule_segments.yaml"
HOSTILE = "x'; drop table marts.customer_attributes; --"


@pytest.fixture(scope="module")
def frames():
    return synthetic_frames()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, frames) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("rules") / "warehouse.duckdb", frames)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    manifest = write_manifest(tmp_path_factory.mktemp("dbt") / "manifest.json", catalog_meta())
    return load_attribute_catalog(manifest)


@pytest.fixture(scope="module")
def policy():
    return load_policy(POLICY_PATH)


def rule_set(*segments: dict, **options) -> rules.RuleSet:
    return parse_rules({"segments": list(segments), **options})


def segment(name: str, conditions, priority: int = 1) -> dict:
    return {"name": name, "priority": priority, "conditions": conditions}


def evaluate(warehouse, rule_set_, catalog, policy, **kwargs) -> rules.RuleEvaluation:
    with connect(warehouse) as con:
        return evaluate_rules(con, rule_set_, catalog, policy, **kwargs)


def messages(rule_set_, catalog, policy) -> list[str]:
    return [str(i) for i in validate_rules(rule_set_, catalog, policy)]


# --- validation messages, one per kind ------------------------------------------------------------


def test_shipped_rule_file_is_valid_and_evaluates(warehouse, catalog, policy):
    loaded = load_rules(RULES_PATH)
    assert len(loaded.segments) >= 5
    assert [i for i in validate_rules(loaded, catalog, policy) if i.severity == "error"] == []
    result = evaluate(warehouse, loaded, catalog, policy)
    assert result.members["customer_key"].is_unique  # the shipped file is exclusive
    assert result.counts["members"].sum() == len(result.members) > 0


def test_unknown_attribute_suggests_the_closest_names(catalog, policy):
    found = messages(
        rule_set(segment("whales", [{"attribute": "curent_mrr", "gte": 100}])), catalog, policy
    )
    assert found == [
        "segment 'whales': conditions.all[0]: unknown attribute 'curent_mrr'; "
        "did you mean current_mrr?"
    ]


def test_wrong_types_are_reported(catalog, policy):
    issues = validate_rules(
        rule_set(
            segment(
                "typed",
                [
                    {"attribute": "industry", "gt": 3},
                    {"attribute": "current_mrr", "eq": "lots"},
                    {"attribute": "tenure_days", "between": [90, 10]},
                    {"attribute": "unsubscribed_flag", "eq": "no"},
                    {"attribute": "current_mrr", "in": 5},
                ],
            )
        ),
        catalog,
        policy,
    )
    assert {i.kind for i in issues} == {"wrong_type"}
    text = "\n".join(str(i) for i in issues)
    assert "operator 'gt' needs a numeric attribute but industry is categorical" in text
    assert "current_mrr is numeric but the value 'lots' is not a number" in text
    assert "between [90, 10]: low is above high" in text
    assert "unsubscribed_flag is a true/false flag but the value is 'no'" in text
    assert "in needs a non-empty list of values, got 5" in text


def test_prohibited_and_sensitive_attributes_are_refused(catalog, policy):
    found = messages(
        rule_set(
            segment("by_key", [{"attribute": "customer_key", "eq": "c0001"}]),
            segment("by_country", [{"attribute": "country", "eq": "DE"}], priority=2),
        ),
        catalog,
        policy,
    )
    assert found == [
        "segment 'by_key': conditions.all[0]: attribute 'customer_key' is prohibited by the "
        "governance policy and cannot be used in rules",
        "segment 'by_country': conditions.all[0]: attribute 'country' is sensitive by the "
        "governance policy and cannot be used in rules",
    ]


def test_bad_operator_is_reported_with_a_suggestion(catalog, policy):
    found = messages(
        rule_set(
            segment(
                "ops",
                {
                    "any": [
                        {"attribute": "tenure_days", "betwen": [1, 2]},
                        {"attribute": "tenure_days", "bigger": 3},
                        {"attribute": "tenure_days", "gt": 1, "lt": 5},
                        {"ml_segment": {"gt": 2}},
                    ]
                },
            )
        ),
        catalog,
        policy,
    )
    assert len(found) == 4
    assert "conditions.any[0]: unknown operator 'betwen'" in found[0]
    assert found[0].endswith("did you mean 'between'?")
    assert "unknown operator 'bigger'" in found[1]
    assert "expected exactly one operator" in found[2]
    assert "conditions.any[3].ml_segment: unknown operator 'gt'" in found[3]


def test_empty_segment_is_a_warning_or_an_error(warehouse, catalog, policy):
    nobody = segment("nobody", [{"attribute": "current_mrr", "gt": 10**12}])
    someone = segment("someone", [{"attribute": "current_mrr", "gt": 0}], priority=2)
    result = evaluate(warehouse, rule_set(nobody, someone), catalog, policy)
    assert [(w.segment, w.kind) for w in result.warnings] == [("nobody", "empty_segment")]
    assert result.counts.set_index("rule_segment").loc["nobody", "members"] == 0

    with pytest.raises(RuleValidationError) as error:
        evaluate(warehouse, rule_set(nobody, someone, empty_segment="error"), catalog, policy)
    assert "segment 'nobody':" in str(error.value)
    assert "no customer matches these conditions" in str(error.value)


def test_values_no_customer_has_are_flagged_with_the_right_spelling(warehouse, catalog, policy):
    typo = segment("shops", [{"attribute": "industry", "in": ["Retail", "finance"]}])
    result = evaluate(warehouse, rule_set(typo), catalog, policy)
    assert [str(w) for w in result.warnings] == [
        "segment 'shops': conditions.all[0]: no customer has industry = 'Retail'; "
        "did you mean 'retail'?"
    ]


def test_errors_are_collected_per_segment_before_anything_runs(warehouse, catalog, policy):
    broken = rule_set(
        segment("a", [{"attribute": "nps_latst", "gte": 9}, {"attribute": "industry", "lt": 1}]),
        segment("b", [{"attribute": "country", "eq": "DE"}], priority=2),
    )
    with pytest.raises(RuleValidationError) as error:
        evaluate(warehouse, broken, catalog, policy)
    text = str(error.value)
    assert text.startswith("rule segments: 3 error(s)")
    assert "segment 'a':" in text and "segment 'b':" in text
    assert "did you mean nps_latest" in text


def test_file_structure_errors(tmp_path):
    with pytest.raises(RuleValidationError, match="expected a mapping with a 'segments' list"):
        parse_rules({"segment": []})
    with pytest.raises(RuleValidationError) as error:
        parse_rules(
            {"segments": [{"name": "x", "priority": "high", "conditions": []}, {"name": "y"}]}
        )
    assert "priority 'high' must be an integer" in str(error.value)
    assert "'priority' is missing" not in str(error.value)  # reported as not an integer
    bad_yaml = tmp_path / "rules.yaml"
    bad_yaml.write_text("segments: [\n")
    with pytest.raises(RuleValidationError, match="not valid YAML"):
        load_rules(bad_yaml)


# --- evaluation -----------------------------------------------------------------------------------


def test_operators_match_the_expected_customers(warehouse, frames, catalog, policy):
    attrs = frames["customer_attributes"]
    segs = frames["customer_segments"]
    cases = {
        "gte": ([{"attribute": "current_mrr", "gte": 500}], attrs["current_mrr"] >= 500),
        "between": (
            [{"attribute": "tenure_days", "between": [100, 200]}],
            attrs["tenure_days"].between(100, 200),
        ),
        "in": (
            [{"attribute": "industry", "in": ["retail", "finance"]}],
            attrs["industry"].isin(["retail", "finance"]),
        ),
        "not_in": (
            [{"attribute": "industry", "not_in": ["retail"]}],
            attrs["industry"] != "retail",
        ),
        "is_null": ([{"attribute": "current_mrr", "is_null": True}], attrs["current_mrr"].isna()),
        "not": (
            [{"not": {"attribute": "current_mrr", "gte": 500}}],
            ~(attrs["current_mrr"] >= 500),  # missing values count as "not"
        ),
        "any": (
            [
                {
                    "any": [
                        {"attribute": "unsubscribed_flag", "eq": True},
                        {"attribute": "tenure_days", "lt": 30},
                    ]
                }
            ],
            attrs["unsubscribed_flag"] | (attrs["tenure_days"] < 30),
        ),
        "ml_by_id_and_name": (
            [{"ml_segment": {"in": [2, "Growing champions"]}}],
            segs["segment_id"].isin([0, 2]),
        ),
        "ml_ne": ([{"ml_segment": {"ne": "At risk"}}], segs["segment_id"] != 2),
    }
    for name, (conditions, expected) in cases.items():
        result = evaluate(warehouse, rule_set(segment(name, conditions)), catalog, policy)
        assert set(result.members["customer_key"]) == set(attrs.loc[expected, "customer_key"]), name


def test_priorities_make_membership_exclusive(warehouse, frames, catalog, policy):
    big = segment("big_spenders", [{"attribute": "current_mrr", "gte": 300}], priority=2)
    retail = segment("retail", [{"attribute": "industry", "eq": "retail"}], priority=1)
    attrs = frames["customer_attributes"]
    both = set(
        attrs.loc[(attrs["current_mrr"] >= 300) & (attrs["industry"] == "retail"), "customer_key"]
    )
    assert both, "the synthetic data has overlapping customers"

    result = evaluate(warehouse, rule_set(big, retail), catalog, policy)
    members = result.members
    assert members["customer_key"].is_unique
    assert set(members.loc[members["customer_key"].isin(both), "rule_segment"]) == {"retail"}
    counts = result.counts.set_index("rule_segment")
    assert counts.loc["big_spenders", "matched"] - counts.loc["big_spenders", "members"] == len(
        both
    )
    assert list(members.columns) == rules.MEMBER_COLUMNS

    overlapping = evaluate(warehouse, rule_set(big, retail), catalog, policy, exclusive=False)
    assert len(overlapping.members) == len(members) + len(both)


# --- injection ------------------------------------------------------------------------------------


def test_hostile_values_are_inert(warehouse, frames, catalog, policy):
    hostile = rule_set(
        segment("eq", [{"attribute": "industry", "eq": HOSTILE}]),
        segment("in", [{"attribute": "industry", "in": [HOSTILE, "retail' or '1'='1"]}], 2),
        segment("ml", [{"ml_segment": {"in": [HOSTILE, "0) or (1=1"]}}], 3),
        segment("num", [{"attribute": "tenure_days", "gte": -1}], 4),
    )
    result = evaluate(warehouse, hostile, catalog, policy)
    counts = result.counts.set_index("rule_segment")["members"]
    assert counts[["eq", "in", "ml"]].tolist() == [0, 0, 0]  # matched nothing, dropped nothing
    assert counts["num"] == len(frames["customer_attributes"])
    with connect(warehouse) as con:
        rows = con.execute("select count(*) from marts.customer_attributes").fetchone()[0]
    assert rows == len(frames["customer_attributes"])


def test_hostile_attribute_names_are_unknown_attributes(catalog, policy):
    names = ['industry" = industry; drop table marts.customer_attributes; --', "industry'", "1=1"]
    found = messages(
        rule_set(
            *(segment(f"s{i}", [{"attribute": n, "eq": "x"}], i) for i, n in enumerate(names))
        ),
        catalog,
        policy,
    )
    assert len(found) == 3
    assert all("unknown attribute" in m for m in found)
    assert "did you mean industry?" in found[1]


def test_compiled_sql_carries_values_only_as_parameters(catalog, policy):
    data_types, policies = rules.catalog_types_and_policies(catalog, policy)
    compiled, issues = rules.compile_segment(
        rules.RuleSegment(
            "s", 1, [{"attribute": "industry", "in": [HOSTILE]}, {"ml_segment": {"eq": HOSTILE}}]
        ),
        data_types,
        policies,
    )
    assert issues == []
    assert HOSTILE not in compiled.where and "drop" not in compiled.where
    assert compiled.params == [HOSTILE, HOSTILE, HOSTILE]
    assert compiled.where.count("?") == 3
    with pytest.raises(ValueError, match="not a catalog column"):
        rules.quote_identifier('x"; drop', data_types)


# --- preview --------------------------------------------------------------------------------------


def test_membership_diff_reports_entered_and_left():
    before = pd.DataFrame(
        {"customer_key": ["a", "b", "c", "d"], "rule_segment": ["x", "x", "y", "gone"]}
    )
    after = pd.DataFrame({"customer_key": ["a", "c", "e"], "rule_segment": ["x", "x", "new"]})
    diff = rules.membership_diff(before, after).set_index("rule_segment")
    assert diff.loc["x"].to_dict() == {
        "before": 2,
        "after": 2,
        "entered": 1,
        "left": 1,
        "stayed": 1,
    }
    assert diff.loc["gone", "left"] == 1 and diff.loc["new", "entered"] == 1
    assert diff.loc["y"].to_dict() == {
        "before": 1,
        "after": 0,
        "entered": 0,
        "left": 1,
        "stayed": 0,
    }
    empty = rules.membership_diff(pd.DataFrame(), after)
    assert empty["entered"].sum() == 3


def test_ml_overlap_counts_rule_members_per_ml_segment(warehouse, frames, catalog, policy):
    result = evaluate(
        warehouse,
        rule_set(segment("all", [{"attribute": "tenure_days", "gte": 0}])),
        catalog,
        policy,
    )
    overlap = rules.ml_segment_overlap(result.members, frames["customer_segments"])
    expected = frames["customer_segments"]["segment_name"].value_counts()
    assert overlap.loc["all"].to_dict() == expected.to_dict()


def test_rule_file_round_trips_through_yaml(tmp_path, catalog, policy):
    text = RULES_PATH.read_text()
    copy = tmp_path / "rules.yaml"
    copy.write_text(text)
    assert load_rules(copy).segments == rules.parse_rules(yaml.safe_load(text)).segments
