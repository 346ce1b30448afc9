"""Dagster wrappers for governance and rule segments: the policy check, the composition audit and
the rule-based audiences. The logic lives in ml_assets.governance and ml_assets.rules.
"""

# No `from __future__ import annotations`: Dagster reads the Config class from the runtime
# annotation of the asset function.

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from pydantic import Field

from ml_assets import governance, rules
from orchestration.defs.resources import WarehouseResource
from orchestration.io.catalog import default_manifest_path, load_attribute_catalog
from orchestration.io.warehouse import read_table, replace_table

CUSTOMER_ATTRIBUTES = AssetKey(["marts", "customer_attributes"])
CUSTOM_ATTRIBUTES = AssetKey(["marts", "customer_custom_attributes"])
DIM_CUSTOMERS = AssetKey(["marts", "dim_customers"])
CUSTOMER_SEGMENTS = AssetKey(["segmentation", "customer_segments"])
SEGMENT_COMPOSITION = AssetKey(["governance", "segment_composition"])
RULE_SEGMENTS = AssetKey(["audiences", "rule_segments"])


def _md(frame: pd.DataFrame, limit: int = 50) -> MetadataValue:
    if frame.empty:
        return MetadataValue.md("_none_")
    suffix = f"\n\n_{len(frame) - limit} more rows not shown_" if len(frame) > limit else ""
    return MetadataValue.md(frame.head(limit).to_markdown(index=False) + suffix)


@asset_check(
    asset=CUSTOMER_ATTRIBUTES,
    name="governance_policy",
    blocking=True,
    additional_deps=[CUSTOM_ATTRIBUTES],
    pool="duckdb",
    description=(
        "The governance policy (config/governance_policy.yaml) matches the dbt catalog meta of "
        "customer_attributes. Reports proxies of protected attributes (blocked from the feature "
        "matrix) and unclassified custom attributes (unusable until classified)."
    ),
)
def governance_policy(warehouse: WarehouseResource) -> AssetCheckResult:
    try:
        policy = governance.load_policy()
        catalog = load_attribute_catalog(default_manifest_path())
    except (governance.PolicyError, FileNotFoundError, ValueError) as exc:
        return AssetCheckResult(passed=False, metadata={"error": MetadataValue.text(str(exc))})
    with warehouse.connect(read_only=True) as con:
        report = governance.assess_governance(con, catalog, policy)
    blocked = report.blocked_proxies
    return AssetCheckResult(
        passed=not report.mismatches,
        severity=AssetCheckSeverity.ERROR,
        description=(
            str(governance.PolicyMismatch(report.mismatches, policy.source))
            if report.mismatches
            else "policy matches the dbt catalog"
        ),
        metadata={
            "mismatches": MetadataValue.json([m.as_dict() for m in report.mismatches]),
            "mismatch_count": len(report.mismatches),
            "blocked_proxies": _md(
                blocked[["attribute", "protected_attribute", "measure", "value", "reason"]]
            ),
            "blocked_proxy_count": len(blocked),
            "proxy_measurements": _md(report.proxies, limit=100),
            "unclassified_custom_attributes": MetadataValue.json(report.unclassified),
            "protected_overrides": MetadataValue.json(report.protected_overrides),
            "excluded_features": MetadataValue.json(report.features.excluded),
            "usable_custom_attributes": MetadataValue.json(
                report.features.usable_custom_attributes
            ),
        },
    )


@asset(
    key=SEGMENT_COMPOSITION,
    deps=[CUSTOMER_SEGMENTS, CUSTOM_ATTRIBUTES],
    group_name="segmentation",
    kinds={"python", "duckdb"},
    pool="duckdb",
    description=(
        "Each ML segment's mix of protected attribute values against the whole population: "
        "a segment far from the population mix deserves a look before anyone acts on it."
    ),
)
def segment_composition(warehouse: WarehouseResource) -> MaterializeResult:
    policy = governance.load_policy()
    with warehouse.connect() as con:
        segments = read_table(con, "segmentation", "customer_segments")
        custom = governance.read_custom_attributes(con)
        protected = governance.protected_attribute_names(policy, custom["attribute"].dropna())
        if segments.empty:
            audit = pd.DataFrame(columns=governance.COMPOSITION_COLUMNS)
        else:
            audit = governance.segment_composition_audit(segments, custom, protected)
        replace_table(con, "governance", "segment_composition", audit)
    # No protected attribute in the data (e.g. no CRM custom attributes): nothing to summarise.
    summary = (
        audit.groupby(["segment_id", "segment_name", "protected_attribute"])["max_abs_deviation"]
        .first()
        .astype(float)
        .round(3)
        .reset_index()
        if len(audit)
        else audit
    )
    return MaterializeResult(
        metadata={
            "protected_attributes": MetadataValue.json(protected),
            "max_deviation_by_segment": _md(summary),
            "largest_deviation": float(audit["max_abs_deviation"].max()) if len(audit) else 0.0,
            "dagster/row_count": len(audit),
        }
    )


class RuleSegmentsConfig(Config):
    preview: bool = Field(
        default=False,
        description=(
            "Compute the rule segments and report who would enter and leave each one compared "
            "with the last published membership, without writing anything."
        ),
    )
    exclusive: bool | None = Field(
        default=None,
        description=(
            "Override the rule file's `exclusive` setting: true puts each customer in at most "
            "one segment (lowest priority number wins), false in every segment they match."
        ),
    )


@asset(
    key=RULE_SEGMENTS,
    deps=[CUSTOMER_ATTRIBUTES, CUSTOMER_SEGMENTS],
    group_name="segmentation",
    kinds={"python", "duckdb"},
    pool="duckdb",
    description=(
        "Audiences defined by marketing users in config/rule_segments.yaml, evaluated against "
        "customer_attributes and the ML segments. One row per customer and rule segment."
    ),
)
def rule_segments(
    context: AssetExecutionContext, config: RuleSegmentsConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    policy = governance.load_policy()
    catalog = load_attribute_catalog(default_manifest_path())
    rule_set = rules.load_rules()
    with warehouse.connect(read_only=config.preview) as con:
        try:
            evaluation = rules.evaluate_rules(
                con, rule_set, catalog, policy, exclusive=config.exclusive
            )
        except rules.RuleValidationError as exc:
            raise Failure(description=str(exc)) from exc
        previous = read_table(con, *rules.PUBLISHED_TABLE)
        ml_segments = read_table(con, *rules.ML_SEGMENTS_TABLE)
        if not config.preview:
            replace_table(con, *rules.PUBLISHED_TABLE, evaluation.members)
    diff = rules.membership_diff(previous, evaluation.members)
    overlap = rules.ml_segment_overlap(evaluation.members, ml_segments)
    for warning in evaluation.warnings:
        context.log.warning(str(warning))
    return MaterializeResult(
        metadata={
            "preview": config.preview,
            "published": not config.preview,
            "segment_counts": _md(evaluation.counts),
            "membership_changes": _md(diff),
            "overlap_with_ml_segments": _md(overlap.reset_index())
            if len(overlap)
            else _md(overlap),
            "warnings": MetadataValue.json([str(w) for w in evaluation.warnings]),
            "dagster/row_count": len(evaluation.members),
        }
    )


governance_assets = [segment_composition, rule_segments]
governance_checks = [governance_policy]
