"""The blocking `governance_policy` check on customer_attributes: the policy matches the dbt
catalog meta and allows no protected attribute. It also decides, once per run, which attributes
the feature matrix must leave out (proxies of protected attributes, unclassified custom
attributes, ...) and persists that decision for the segment model downstream.

The warning `custom_attribute_coverage` check on customer_custom_attributes names the custom
attributes nobody has classified (unusable until someone does) and the policy entries that match
no custom attribute in the data (a misspelt key, or an attribute the CRM no longer sends); names
are compared ignoring case and punctuation. It also names the custom attributes a built-in
attribute of customer_attributes shadows (same canonical name): they are kept as `custom_<name>`.
The logic lives in ml_assets.governance.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from ml_assets.governance import (
    PolicyError,
    PolicyMismatch,
    unclassified_custom_attributes,
    unmatched_policy_entries,
)
from ml_assets.governance.policy import allowed_protected_attributes
from orchestration.defs.governance.metadata import markdown_preview
from orchestration.defs.resources import GovernancePolicyResource, WarehouseResource
from orchestration.io import tables
from orchestration.io.catalog import default_manifest_path, load_attribute_catalog
from orchestration.io.governance import (
    assess_warehouse,
    read_custom_attributes,
    read_shadowed_custom_attributes,
    write_feature_decisions,
)

CUSTOMER_ATTRIBUTES = AssetKey(tables.CUSTOMER_ATTRIBUTES.path)
CUSTOM_ATTRIBUTES = AssetKey(tables.CUSTOM_ATTRIBUTES.path)


@asset_check(
    asset=CUSTOMER_ATTRIBUTES,
    name="governance_policy",
    blocking=True,
    additional_deps=[CUSTOM_ATTRIBUTES],
    pool="duckdb",
    description=(
        "The governance policy (the `governance` resource, config/governance_policy.yaml by "
        "default) matches the dbt catalog meta of customer_attributes. Reports proxies of "
        "protected attributes (blocked from the feature matrix) and unclassified custom "
        "attributes (unusable until classified)."
    ),
)
def governance_policy(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    governance: GovernancePolicyResource,
) -> AssetCheckResult:
    manifest = default_manifest_path()
    try:
        policy = governance.load()
        catalog = load_attribute_catalog(manifest)
    except (PolicyError, FileNotFoundError, ValueError) as exc:
        return AssetCheckResult(passed=False, metadata={"error": MetadataValue.text(str(exc))})
    allowed_protected = allowed_protected_attributes(policy, catalog)
    with warehouse.connect() as con:
        report = assess_warehouse(con, catalog, policy)
        shadowed = read_shadowed_custom_attributes(con)
        if not report.mismatches and not allowed_protected:
            # the segment model of this run reuses these instead of measuring proxies again
            write_feature_decisions(con, report.features, context.run.run_id, policy, manifest)
    blocked = report.blocked_proxies
    problems = [str(PolicyMismatch(report.mismatches, policy.source))] if report.mismatches else []
    if allowed_protected:
        problems.append(
            f"{policy.source} allows protected attribute(s) {', '.join(allowed_protected)}: "
            "protected characteristics (built-in terms such as gender, age, ethnicity, which a "
            "policy file can add to but never remove) are prohibited; classify them as "
            "prohibited"
        )
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        description="\n".join(problems) if problems else "policy matches the dbt catalog",
        metadata={
            "policy_file": MetadataValue.path(policy.source),
            "mismatches": MetadataValue.json([m.as_dict() for m in report.mismatches]),
            "mismatch_count": len(report.mismatches),
            "blocked_proxies": markdown_preview(
                blocked[["attribute", "protected_attribute", "measure", "value", "reason"]]
            ),
            "blocked_proxy_count": len(blocked),
            "proxy_measurements": markdown_preview(report.proxies, limit=100),
            "unclassified_custom_attributes": MetadataValue.json(report.unclassified),
            "unmatched_policy_entries": MetadataValue.json(report.unmatched_policy_entries),
            "protected_overrides": MetadataValue.json(report.protected_overrides),
            "shadowed_custom_attributes": MetadataValue.json(shadowed),
            "allowed_protected_attributes": MetadataValue.json(allowed_protected),
            "excluded_features": MetadataValue.json(report.features.excluded),
            "usable_custom_attributes": MetadataValue.json(
                report.features.usable_custom_attributes
            ),
        },
    )


@asset_check(
    asset=CUSTOM_ATTRIBUTES,
    name="custom_attribute_coverage",
    blocking=False,
    pool="duckdb",
    description=(
        "Every custom attribute in the data is classified in the governance policy, and every "
        "custom_attributes entry of the policy matches one (ignoring case and punctuation), and "
        "no custom attribute is named like a built-in one. A warning names the unclassified "
        "attributes, the unmatched entries and the shadowed attributes (kept as custom_<name>)."
    ),
)
def custom_attribute_coverage(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    governance: GovernancePolicyResource,
) -> AssetCheckResult:
    try:
        policy = governance.load()
    except (PolicyError, FileNotFoundError) as exc:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"error": MetadataValue.text(str(exc))},
        )
    with warehouse.connect(read_only=True) as con:
        names = read_custom_attributes(con)["attribute"].dropna().unique()
        shadowed = read_shadowed_custom_attributes(con)
    unclassified = unclassified_custom_attributes(policy, names)
    unmatched = unmatched_policy_entries(policy, names)
    problems = []
    if shadowed:
        problems.append(
            "custom attribute(s) named like a built-in attribute of customer_attributes, kept "
            "under another name (classify them under either): "
            + ", ".join(f"{old} -> {new}" for old, new in shadowed.items())
        )
    if unclassified:
        problems.append(
            f"custom attribute(s) not classified in {policy.source} (never used until "
            f"classified): {', '.join(unclassified)}"
        )
    if unmatched:
        problems.append(
            f"{policy.source} classifies custom attribute(s) absent from the data: "
            f"{', '.join(unmatched)}"
        )
    for problem in problems:
        context.log.warning(problem)
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.WARN,
        description="\n".join(problems)
        or "every custom attribute is classified and matched, none shadowed",
        metadata={
            "unclassified_custom_attributes": MetadataValue.json(unclassified),
            "unmatched_policy_entries": MetadataValue.json(unmatched),
            "shadowed_custom_attributes": MetadataValue.json(shadowed),
            "custom_attributes_in_data": len(names),
        },
    )


governance_checks = [governance_policy, custom_attribute_coverage]
