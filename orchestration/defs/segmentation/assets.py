"""Dagster assets of the segmentation engine: thin wrappers around the pure ml_assets modules.

segment_model      reads the marts, governance exclusions and consent, trains with
                   ml_assets.training and stores the artifact under its version hash
customer_segments  every customer's segment, confidence and margin (segmentation.customer_segments)
validation_segments the same model's assignment on the validation snapshot, what outcomes are
                   compared with (segmentation.validation_segments)
segment_profiles   size, traits, outcomes and playbook per segment (segmentation.segment_profiles)
"""

from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ml_assets import lifecycle, plots, training
from ml_assets.assignment import SegmentModel
from ml_assets.governance import analytics_consent_mask
from ml_assets.naming import playbook_actions
from ml_assets.profiling import build_profiles
from ml_assets.selection import NoClusterStructure
from orchestration.defs.dbt.assets import dbt_table_key
from orchestration.defs.resources import (
    GovernancePolicyResource,
    ModelStoreResource,
    WarehouseResource,
)
from orchestration.defs.segmentation.config import SegmentationConfig
from orchestration.io import model_lifecycle, tables
from orchestration.io.attributes import read_attributes, training_inputs
from orchestration.io.catalog import default_manifest_path, load_attribute_catalog
from orchestration.io.config_files import (
    PLAYBOOKS_FILE,
    SEGMENT_NAMES_FILE,
    config_path,
    load_name_overrides,
    load_playbooks,
)
from orchestration.io.governance import governed_features
from orchestration.io.tables import Table
from orchestration.io.warehouse import read_table, replace_table

KINDS = {"python", "scikit-learn"}
MODEL_NAME = "segment_model"
SEGMENT_MODEL_KEY = AssetKey([tables.SEGMENTATION_SCHEMA, MODEL_NAME])  # an artifact, no table
ATTRIBUTES = dbt_table_key(tables.CUSTOMER_ATTRIBUTES)
QUALITY = dbt_table_key(tables.ATTRIBUTE_QUALITY)
OUTCOMES = dbt_table_key(tables.CUSTOMER_OUTCOMES)
VALIDATION_ATTRIBUTES = dbt_table_key(tables.CUSTOMER_ATTRIBUTES_VALIDATION)
DIM_CUSTOMERS = dbt_table_key(tables.DIM_CUSTOMERS)
CUSTOM_ATTRIBUTES = dbt_table_key(tables.CUSTOM_ATTRIBUTES)
VALIDATION_CUSTOM_ATTRIBUTES = dbt_table_key(tables.CUSTOM_ATTRIBUTES_VALIDATION)


def _consented(warehouse: WarehouseResource, attributes: pd.DataFrame) -> pd.Series:
    """Row mask: customers whose latest analytics consent is granted (governance policy)."""
    (dim_customers,) = _read(warehouse, tables.DIM_CUSTOMERS)
    return analytics_consent_mask(dim_customers, attributes["customer_key"])


def _read(warehouse: WarehouseResource, *sources: Table) -> list[pd.DataFrame]:
    with warehouse.connect(read_only=True) as con:
        return [read_table(con, *table) for table in sources]


def _write(warehouse: WarehouseResource, frames: dict[Table, pd.DataFrame]) -> None:
    with warehouse.connect() as con:
        for table, frame in frames.items():
            replace_table(con, *table, frame)


def _load_model(model_store: ModelStoreResource) -> SegmentModel:
    model = model_store.load(MODEL_NAME)
    if model is None:
        raise Failure(
            description="no segment model stored yet: materialize segmentation/segment_model first"
        )
    return model


def _signature(config: SegmentationConfig, catalog: pd.DataFrame, excluded: dict) -> str:
    candidates = training.candidate_attributes(catalog, excluded)
    return lifecycle.training_signature(candidates, excluded, config.training_fingerprint())


def _training_decision(
    context: AssetExecutionContext,
    config: SegmentationConfig,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    catalog: pd.DataFrame,
    excluded: dict[str, str],
) -> tuple[lifecycle.TrainingDecision, datetime]:
    """Retrain or keep, on the data's clock (the latest data date), and why."""
    previous = model_store.load(MODEL_NAME)
    with warehouse.connect(read_only=True) as con:
        now = model_lifecycle.data_as_of(con) or datetime.now(UTC).replace(tzinfo=None)
        recommendation = model_lifecycle.drift_recommendation(
            con, getattr(previous, "trained_at", None) if previous is not None else None
        )
    policy = config.lifecycle_policy()
    decision = lifecycle.decide_training(
        trained_at=getattr(previous, "trained_at", None) if previous is not None else None,
        previous_signature=getattr(previous, "training_signature", None),
        signature=_signature(config, catalog, excluded),
        now=now,
        policy=policy,
        recommendation=recommendation,
        force=policy.retrain,
    )
    context.log.info(f"segment model: {decision.summary}")
    return decision, now


def _log_decision(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    decision: lifecycle.TrainingDecision,
    now: datetime,
    version: str,
) -> None:
    with warehouse.connect() as con:
        model_lifecycle.record_decision(
            con,
            {
                "run_id": context.run.run_id,
                "decided_at": datetime.now(UTC).replace(tzinfo=None),
                "data_as_of": now,
                "trained": decision.train,
                "reason": decision.reason,
                "model_version": version,
            },
        )


def _kept(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    decision: lifecycle.TrainingDecision,
    now: datetime,
) -> MaterializeResult:
    """No retrain due: the stored model stays; the decision is recorded and shown."""
    model = _load_model(model_store)
    _log_decision(context, warehouse, decision, now, model.version)
    return MaterializeResult(
        metadata={
            "trained": False,
            "decision": decision.summary,
            "model_version": model.version,
            "k": model.k,
            "trained_at": str(model.trained_at),
        }
    )


@asset(
    key=SEGMENT_MODEL_KEY,
    kinds=KINDS,
    pool="duckdb",
    deps=[ATTRIBUTES, QUALITY, DIM_CUSTOMERS, CUSTOM_ATTRIBUTES],
    description="Segment model: governed features, automatic model selection, stable ids, names.",
)
def segment_model(
    context: AssetExecutionContext,
    config: SegmentationConfig,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    governance: GovernancePolicyResource,
) -> MaterializeResult:
    manifest = config.manifest_path or default_manifest_path()
    catalog = load_attribute_catalog(manifest)
    policy = governance.load()
    # Governance: prohibited, protected, proxy and unclassified attributes never reach the model.
    # The decisions (and proxy measurements) of this run's governance_policy check, same policy.
    # The custom attributes it found usable are joined to the attributes, with catalog entries.
    with warehouse.connect(read_only=True) as con:
        governed, reused = governed_features(con, context.run.run_id, catalog, policy, manifest)
        attributes, catalog, quality = training_inputs(
            con, catalog, policy, governed.usable_custom_attributes
        )
    if attributes.empty:
        raise Failure(
            description=f"{tables.CUSTOMER_ATTRIBUTES.sql} is empty or missing: nothing to segment"
        )
    context.log.info(f"governance exclusions {'from the check' if reused else 'decided here'}")
    excluded = {
        **governed.excluded,
        **{name: "excluded in the segmentation config" for name in config.excluded_attributes},
    }
    decision, now = _training_decision(context, config, warehouse, model_store, catalog, excluded)
    if not decision.train:
        return _kept(context, warehouse, model_store, decision, now)
    consented = (
        _consented(warehouse, attributes)
        if training.consent_applies(attributes, catalog, excluded)
        else None
    )
    if consented is not None:
        context.log.info(
            f"{int(consented.sum())} of {len(consented)} customers have analytics consent and are "
            "clustered"
        )
    try:
        result = training.train(
            attributes,
            catalog,
            quality,
            config.feature_config(),
            config.selection_config(),
            excluded=excluded,
            consent_mask=consented,
            previous=model_store.load(MODEL_NAME),
            name_overrides=load_name_overrides(config_path(SEGMENT_NAMES_FILE)),
            config_fingerprint=config.training_fingerprint(),
            keep_structure=decision.keeps_structure,
        )
    except NoClusterStructure as refusal:
        _write(warehouse, {tables.MODEL_SELECTION: refusal.table.assign(model_version="refused")})
        raise Failure(
            description=str(refusal),
            metadata={"selection": MetadataValue.md(plots.markdown_table(refusal.table))},
        ) from refusal

    model = result.model
    model.trained_at, model.training_signature = now, _signature(config, catalog, excluded)
    artifact = model_store.save(MODEL_NAME, model.version, model)
    _log_decision(context, warehouse, decision, now, model.version)
    _write(
        warehouse,
        {tables.MODEL_SELECTION: result.selection, tables.FEATURE_MATRIX_COLUMNS: result.features},
    )
    context.log.info(f"segment model {model.version}: {model.algorithm}, k={model.k}")
    return MaterializeResult(
        metadata={
            "trained": True,
            "decision": decision.summary,
            "model_version": model.version,
            "artifact": MetadataValue.path(str(artifact)),
            "algorithm": model.algorithm,
            "k": model.k,
            "holdout_accuracy": model.holdout_accuracy,
            "identity_matching": model.match_method,
            "dissolved_segments": ", ".join(result.dissolved) or "none",
            "dagster/row_count": len(model.membership),
            "selection": MetadataValue.md(plots.markdown_table(model.selection)),
            "features": MetadataValue.md(
                plots.markdown_table(result.features.drop(columns="model_version"))
            ),
            "segments": MetadataValue.md(plots.markdown_table(result.segments)),
            **{
                key: MetadataValue.md(plots.markdown_image(png, key.replace("_", " ")))
                for key, png in result.images.items()
            },
        }
    )


def _model_attributes(
    warehouse: WarehouseResource, model: SegmentModel, source: Table
) -> pd.DataFrame:
    """An attribute snapshot with the custom attributes the model uses (the columns it was
    trained on: training reads through the same io helper)."""
    with warehouse.connect(read_only=True) as con:
        return read_attributes(con, source, model.catalog, model.transformer.attributes)


def score(warehouse: WarehouseResource, model: SegmentModel, source: Table) -> pd.DataFrame:
    """Every customer of an attribute snapshot assigned by the model; customers without
    analytics consent are never scored when the model uses behaviour (they get no segment)."""
    attributes = _model_attributes(warehouse, model, source)
    if attributes.empty:
        return attributes
    if training.behavioural([c["attribute"] for c in model.chosen], model.catalog):
        attributes = attributes[_consented(warehouse, attributes)]
    return model.assign(attributes)


VALIDATION_COLUMNS = [
    "customer_key",
    "segment_id",
    "segment_name",
    "confidence",
    "margin",
    "model_version",
]


def validation_segments(
    warehouse: WarehouseResource, model: SegmentModel, current: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """The segments to test against outcomes, and which they are.

    Outcomes happen after the validation date, so the customers are segmented on what was known
    then (marts.customer_attributes_validation), never on data from the outcome window itself:
    the stored segmentation.validation_segments when this model wrote it, else scored here.
    Without that snapshot (a warehouse built before it existed) the current segments are used.
    """
    (stored,) = _read(warehouse, tables.VALIDATION_SEGMENTS)
    if not stored.empty and set(stored["model_version"].astype(str)) == {model.version}:
        validation = stored
    else:
        validation = score(warehouse, model, tables.CUSTOMER_ATTRIBUTES_VALIDATION)
    if validation.empty:
        return current, "current segments (no validation snapshot)"
    return validation, "validation snapshot"


@asset(
    key=AssetKey(tables.VALIDATION_SEGMENTS.path),
    kinds=KINDS,
    pool="duckdb",
    deps=[segment_model, VALIDATION_ATTRIBUTES, VALIDATION_CUSTOM_ATTRIBUTES, DIM_CUSTOMERS],
    description="The current model's segment per customer on the validation snapshot "
    "(attributes as of scoring date - outcome window): what outcomes are compared with.",
)
def validation_segments_asset(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    model = _load_model(model_store)
    assigned = score(warehouse, model, tables.CUSTOMER_ATTRIBUTES_VALIDATION)
    if assigned.empty:  # no validation snapshot yet: an empty table, outcomes stay unknown
        assigned = pd.DataFrame(
            {
                c: pd.Series(dtype=float if c in ("confidence", "margin") else str)
                for c in VALIDATION_COLUMNS
            }
        )
    _write(warehouse, {tables.VALIDATION_SEGMENTS: assigned[VALIDATION_COLUMNS]})
    return MaterializeResult(
        metadata={"dagster/row_count": len(assigned), "model_version": model.version}
    )


@asset(
    key=AssetKey(tables.CUSTOMER_SEGMENTS.path),
    kinds=KINDS,
    pool="duckdb",
    # After the validation assignment, so the blocking outcome check reads the stored one.
    deps=[segment_model, ATTRIBUTES, validation_segments_asset],
    description="One row per customer: segment id and name, confidence and margin.",
)
def customer_segments(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    model = _load_model(model_store)
    assigned = score(warehouse, model, tables.CUSTOMER_ATTRIBUTES)
    assigned = assigned.assign(assigned_at=datetime.now(UTC).replace(tzinfo=None))
    _write(warehouse, {tables.CUSTOMER_SEGMENTS: assigned})
    sizes = (
        assigned.groupby(["segment_id", "segment_name"]).size().rename("customers").reset_index()
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(assigned),
            "model_version": model.version,
            "mean_confidence": float(assigned["confidence"].mean()) if len(assigned) else 0.0,
            "low_margin_share": float((assigned["margin"] < 0.2).mean()) if len(assigned) else 0.0,
            "segment_sizes": MetadataValue.md(plots.markdown_table(sizes)),
        }
    )


@asset(
    key=AssetKey(tables.SEGMENT_PROFILES.path),
    kinds=KINDS,
    pool="duckdb",
    deps=[customer_segments, ATTRIBUTES, OUTCOMES, validation_segments_asset],
    description="One row per segment: size, share, defining traits, outcomes and playbook action.",
)
def segment_profiles(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    model = _load_model(model_store)
    attributes = _model_attributes(warehouse, model, tables.CUSTOMER_ATTRIBUTES)
    (outcomes,) = _read(warehouse, tables.CUSTOMER_OUTCOMES)
    (segments,) = _read(warehouse, tables.CUSTOMER_SEGMENTS)
    rows = attributes.merge(
        segments[["customer_key", "segment_id"]], on="customer_key", how="inner"
    )
    parents = {s: model.parent_of(s) for s in segments["segment_id"].unique()}
    actions = playbook_actions(
        model.names, model.concepts, load_playbooks(config_path(PLAYBOOKS_FILE)), parents
    )
    # Traits describe the segments as they are now; outcomes are those of the customers the
    # model puts in each segment on the validation snapshot (outcomes come after that date).
    tested, _ = validation_segments(warehouse, model, segments)
    profiles, stats = build_profiles(
        rows,
        rows["segment_id"],
        model.catalog,
        outcomes,
        model.names,
        actions,
        model.status,
        outcome_segments=tested.set_index("customer_key")["segment_id"],
        parents=parents,
    )
    profiles = profiles.assign(model_version=model.version)
    _write(warehouse, {tables.SEGMENT_PROFILES: profiles})
    summary = profiles[
        [
            "segment_id",
            "segment_name",
            "parent_segment_name",
            "size",
            "share",
            "avg_revenue_after",
            "churn_rate",
            "expansion_rate",
            "support_burden",
            "playbook_action",
        ]
    ]
    metadata = {
        "dagster/row_count": len(profiles),
        "model_version": model.version,
        "profiles": MetadataValue.md(plots.markdown_table(summary)),
    }
    if not stats.empty:
        metadata["lift_heatmap"] = MetadataValue.md(
            plots.markdown_image(plots.lift_heatmap(stats, model.names), "profile heat map")
        )
    return MaterializeResult(metadata=metadata)


segmentation_assets = [
    segment_model,
    validation_segments_asset,
    customer_segments,
    segment_profiles,
]
