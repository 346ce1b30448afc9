"""The pure governance core on small frames: parsing the policy mapping, the one assessment, the
feature decisions' round trip through a frame, and the core's imports (no I/O)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import ml_assets
from ml_assets.governance import (
    DECISION_COLUMNS,
    GovernedFeatures,
    PolicyError,
    assess_governance,
    decisions_frame,
    features_from_decisions,
    parse_policy,
)

POLICY = {
    "attributes": {"customer_key": "prohibited", "mrr": "allowed", "region": "sensitive"},
    "custom_attributes": {"tier": "allowed", "contact_gender": {"policy": "prohibited"}},
    "protected_attributes": ["gender"],
    "proxy_detection": {"min_observations": 2},
}
CATALOG = pd.DataFrame(
    {
        "attribute_name": ["customer_key", "mrr", "region"],
        "segmentation_policy": ["prohibited", "allowed", "sensitive"],
        "data_type": ["identifier", "numeric", "categorical"],
    }
)


def test_parse_policy_takes_the_parsed_mapping():
    policy = parse_policy(POLICY, source="inline")
    assert policy.source == "inline"
    assert policy.custom_policy("tier") == "allowed"
    assert policy.min_observations == 2
    with pytest.raises(PolicyError, match="expected a mapping at the top level"):
        parse_policy(["not", "a", "mapping"])


def test_assessment_on_frames_decides_exclusions_and_reports_proxies():
    keys = [f"c{i}" for i in range(6)]
    attributes = pd.DataFrame(
        {"customer_key": keys, "mrr": [1.0, 2, 3, 4, 5, 6], "region": list("nnssnn")}
    )
    gender = ["f", "f", "f", "m", "m", "m"]
    custom = pd.DataFrame(
        [(k, "contact_gender", g, None) for k, g in zip(keys, gender, strict=True)]
        + [(k, "tier", "gold", None) for k in keys]
        + [(k, "colour", "red", None) for k in keys],
        columns=["customer_key", "attribute", "value", "updated_at"],
    )
    report = assess_governance(attributes, custom, CATALOG, parse_policy(POLICY))
    assert report.mismatches == []
    assert report.unclassified == ["colour"]
    # mrr rises with the protected attribute's value: a blocked proxy
    assert report.blocked_proxies["attribute"].tolist() == ["mrr"]
    excluded = report.features.excluded
    assert excluded["contact_gender"] == "protected attribute"
    assert excluded["region"] == "segmentation policy is sensitive"
    assert "proxy of protected attribute contact_gender" in excluded["mrr"]
    assert report.features.usable_custom_attributes == ["tier"]


def test_an_empty_warehouse_is_assessed_without_error():
    empty_custom = pd.DataFrame(columns=["customer_key", "attribute", "value", "updated_at"])
    report = assess_governance(pd.DataFrame(), empty_custom, CATALOG, parse_policy(POLICY))
    assert report.proxies.empty
    assert "customer_key" in report.features.excluded


def test_feature_decisions_round_trip_through_a_frame():
    features = GovernedFeatures({"a": "protected attribute", "b": "identifier"}, ["tier", "x"])
    frame = decisions_frame(features)
    assert list(frame.columns) == DECISION_COLUMNS
    assert features_from_decisions(frame) == features
    assert features_from_decisions(decisions_frame(GovernedFeatures({}, []))) == ({}, [])


@pytest.mark.parametrize("package", ["governance", "rules"])
def test_the_core_does_no_io(package):
    """ml_assets.governance and ml_assets.rules import no I/O or orchestration module."""
    forbidden = {"dagster", "duckdb", "sqlalchemy", "yaml", "orchestration", "os"}
    root = Path(ml_assets.__file__).parent / package
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & forbidden, (path.name, names)
        assert "open(" not in path.read_text(), path.name
