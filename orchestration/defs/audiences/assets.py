"""The `audiences/rule_segments` asset: audiences marketing users define in
config/rule_segments.yaml, evaluated against customer_attributes and the ML segments, with a
preview mode that reports who would enter and leave without publishing. The logic lives in
ml_assets.rules; the evaluation SQL runs in orchestration.io.audiences.
"""

# No `from __future__ import annotations`: Dagster reads the Config class from the runtime
# annotation of the asset function.

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from ml_assets.rules import RuleValidationError, membership_diff, ml_segment_overlap
from orchestration.defs.governance.metadata import markdown_preview
from orchestration.defs.resources import GovernancePolicyResource, WarehouseResource
from orchestration.io import tables
from orchestration.io.audiences import (
    evaluate_rules,
    publish_members,
    read_ml_segments,
    read_published_members,
)
from orchestration.io.catalog import default_manifest_path, load_attribute_catalog
from orchestration.io.config_files import load_rules

CUSTOMER_ATTRIBUTES = AssetKey(tables.CUSTOMER_ATTRIBUTES.path)
CUSTOMER_SEGMENTS = AssetKey(tables.CUSTOMER_SEGMENTS.path)


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
    key=AssetKey(tables.RULE_SEGMENTS.path),
    deps=[CUSTOMER_ATTRIBUTES, CUSTOMER_SEGMENTS],
    kinds={"python", "duckdb"},
    pool="duckdb",
    description=(
        "Audiences defined by marketing users in config/rule_segments.yaml, evaluated against "
        "customer_attributes and the ML segments. One row per customer and rule segment."
    ),
)
def rule_segments(
    context: AssetExecutionContext,
    config: RuleSegmentsConfig,
    warehouse: WarehouseResource,
    governance: GovernancePolicyResource,
) -> MaterializeResult:
    policy = governance.load()
    catalog = load_attribute_catalog(default_manifest_path())
    rule_set = load_rules()
    with warehouse.connect(read_only=config.preview) as con:
        try:
            evaluation = evaluate_rules(con, rule_set, catalog, policy, exclusive=config.exclusive)
        except RuleValidationError as exc:
            raise Failure(description=str(exc)) from exc
        previous = read_published_members(con)
        ml_segments = read_ml_segments(con)
        if not config.preview:
            publish_members(con, evaluation.members)
    diff = membership_diff(previous, evaluation.members)
    overlap = ml_segment_overlap(evaluation.members, ml_segments)
    for warning in evaluation.warnings:
        context.log.warning(str(warning))
    return MaterializeResult(
        metadata={
            "preview": config.preview,
            "published": not config.preview,
            "segment_counts": markdown_preview(evaluation.counts),
            "membership_changes": markdown_preview(diff),
            "overlap_with_ml_segments": markdown_preview(overlap.reset_index())
            if len(overlap)
            else markdown_preview(overlap),
            "warnings": MetadataValue.json([str(w) for w in evaluation.warnings]),
            "dagster/row_count": len(evaluation.members),
        }
    )


audiences_assets = [rule_segments]
