"""Governance in the warehouse: the frames the assessment runs on, and the feature decisions the
governance check persists so the segment model of the same run uses them instead of deciding
(and measuring proxies) a second time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from ml_assets.governance import (
    CUSTOM_ATTRIBUTE_COLUMNS,
    DECISION_COLUMNS,
    GovernancePolicy,
    GovernanceReport,
    GovernedFeatures,
    assert_policy_matches_catalog,
    assess_governance,
    decisions_frame,
    features_from_decisions,
    keep_shadowed_apart,
    shadowed_custom_attributes,
)
from orchestration.io import tables
from orchestration.io.catalog import load_attribute_catalog
from orchestration.io.config_files import load_policy
from orchestration.io.warehouse import read_table, replace_table, table_columns


def builtin_attribute_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The columns of customer_attributes: names a custom attribute may not take."""
    return table_columns(con, *tables.CUSTOMER_ATTRIBUTES)


def read_custom_attributes(
    con: duckdb.DuckDBPyConnection, table: tables.Table = tables.CUSTOM_ATTRIBUTES
) -> pd.DataFrame:
    """The long custom attribute table (the latest values, or `table`, e.g. those as of the
    validation date), names canonical, a custom attribute named like a built-in one kept as
    `custom_<name>`; empty with its columns when absent."""
    frame = read_table(con, *table)
    if frame.empty:
        return pd.DataFrame(columns=CUSTOM_ATTRIBUTE_COLUMNS)
    return keep_shadowed_apart(frame, builtin_attribute_names(con))


def read_shadowed_custom_attributes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Custom attribute (canonical) -> the name it is kept under, for those a built-in shadows."""
    frame = read_table(con, *tables.CUSTOM_ATTRIBUTES)
    if frame.empty:
        return {}
    return shadowed_custom_attributes(
        frame["attribute"].dropna().unique(), builtin_attribute_names(con)
    )


def assess_warehouse(
    con: duckdb.DuckDBPyConnection, catalog: pd.DataFrame, policy: GovernancePolicy
) -> GovernanceReport:
    """Mismatches, proxies and feature exclusions for the warehouse behind `con`."""
    attributes = read_table(con, *tables.CUSTOMER_ATTRIBUTES)
    return assess_governance(attributes, read_custom_attributes(con), catalog, policy)


def _stamp(run_id: str, policy: GovernancePolicy, manifest_path: Path | str) -> dict[str, str]:
    """What the decisions were made for: a reader only trusts them for the same three."""
    return {
        "run_id": run_id,
        "policy_source": policy.source,
        "manifest_path": str(Path(manifest_path).resolve()),
    }


def write_feature_decisions(
    con: duckdb.DuckDBPyConnection,
    features: GovernedFeatures,
    run_id: str,
    policy: GovernancePolicy,
    manifest_path: Path | str,
) -> int:
    """Replace governance.feature_decisions with this run's decisions."""
    frame = decisions_frame(features).assign(
        **_stamp(run_id, policy, manifest_path),
        decided_at=datetime.now(UTC).replace(tzinfo=None),
    )
    return replace_table(con, *tables.FEATURE_DECISIONS, frame)


def read_feature_decisions(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    policy: GovernancePolicy,
    manifest_path: Path | str,
) -> GovernedFeatures | None:
    """The decisions persisted for this run, policy and catalog; None when there are none."""
    frame = read_table(con, *tables.FEATURE_DECISIONS)
    if frame.empty:
        return None
    stamp = _stamp(run_id, policy, manifest_path)
    current = frame.loc[
        (frame["run_id"] == stamp["run_id"])
        & (frame["policy_source"] == stamp["policy_source"])
        & (frame["manifest_path"] == stamp["manifest_path"])
    ]
    return features_from_decisions(current[DECISION_COLUMNS]) if len(current) else None


def governed_features(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    catalog: pd.DataFrame,
    policy: GovernancePolicy,
    manifest_path: Path | str,
) -> tuple[GovernedFeatures, bool]:
    """The feature decisions for this run and whether they were reused from the check.

    When the governance check ran earlier in the same run (always, in a run that includes it:
    it is blocking), its decisions are reused; otherwise they are made here, failing with
    PolicyMismatch when the policy and the catalog disagree.
    """
    persisted = read_feature_decisions(con, run_id, policy, manifest_path)
    if persisted is not None:
        return persisted, True
    assert_policy_matches_catalog(policy, catalog)
    return assess_warehouse(con, catalog, policy).features, False


def governance_exclusions(
    con: duckdb.DuckDBPyConnection,
    manifest_path: Path | str,
    policy_path: Path | str | None = None,
) -> GovernedFeatures:
    """Outside Dagster (bench, scripts): load policy and catalog, fail on a mismatch, exclude."""
    policy = load_policy(policy_path)
    catalog = load_attribute_catalog(manifest_path)
    assert_policy_matches_catalog(policy, catalog)
    return assess_warehouse(con, catalog, policy).features
