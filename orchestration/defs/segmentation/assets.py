"""Dagster assets of the segmentation engine: thin wrappers around the pure ml_assets modules.

segment_model      features from the catalog -> model selection -> stable ids and names; the
                   artifact goes to the model store under a hash of data + features + config
customer_segments  every customer's segment, confidence and margin (segmentation.customer_segments)
segment_profiles   size, traits, outcomes and playbook per segment (segmentation.segment_profiles)
"""

from datetime import UTC, datetime

import pandas as pd
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

from ml_assets import plots
from ml_assets.assignment import SegmentModel, train_segment_model
from ml_assets.features import FeatureConfig, frame_fingerprint
from ml_assets.governance import analytics_consent_mask
from ml_assets.naming import playbook_actions
from ml_assets.profiling import build_profiles
from ml_assets.selection import NoClusterStructure, SelectionConfig
from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.resources import (
    GovernancePolicyResource,
    ModelStoreResource,
    WarehouseResource,
)
from orchestration.io import settings
from orchestration.io.catalog import default_manifest_path, load_attribute_catalog
from orchestration.io.config_files import load_name_overrides, load_playbooks
from orchestration.io.governance import governed_features
from orchestration.io.model_store import version_hash
from orchestration.io.warehouse import read_table, replace_table

GROUP = "segmentation"
KINDS = {"python", "scikit-learn"}
MODEL_NAME = "segment_model"
SCHEMA = "segmentation"
ATTRIBUTES = AssetKey(["marts", "customer_attributes"])
QUALITY = AssetKey(["marts", "attribute_quality"])
OUTCOMES = AssetKey(["marts", "customer_outcomes"])
DIM_CUSTOMERS = AssetKey(["marts", "dim_customers"])
CUSTOM_ATTRIBUTES = AssetKey(["marts", "customer_custom_attributes"])


def _consented(warehouse: WarehouseResource, attributes: pd.DataFrame) -> pd.Series:
    """Row mask: customers whose latest analytics consent is granted (governance policy)."""
    (dim_customers,) = _read_marts(warehouse, "dim_customers")
    return analytics_consent_mask(dim_customers, attributes["customer_key"])


def _behavioural(names: list[str], catalog: pd.DataFrame) -> list[str]:
    """The attributes among `names` that describe behaviour (the ones consent protects)."""
    behavioural = set(catalog.loc[catalog["behavioural"], "attribute_name"])
    return [name for name in names if name in behavioural]


def _informative(attributes: pd.DataFrame, names: list[str]) -> list[str]:
    """Attributes that vary in this data: an absent source's columns carry no behaviour at all."""
    return [n for n in names if n in attributes and attributes[n].nunique(dropna=True) > 1]


class SegmentationConfig(Config):
    """How segments are discovered; every field is editable in the launchpad."""

    algorithm: str = Field(
        default="kmeans",
        description="Algorithm of the chosen model: kmeans, gmm, ward, or auto (best of all).",
    )
    candidates: list[str] = Field(
        default=["kmeans", "gmm", "ward"],
        description="Algorithms scored side by side in the selection table.",
    )
    k_min: int = Field(default=3, description="Smallest number of segments considered.")
    k_max: int = Field(default=8, description="Largest number of segments considered.")
    seed: int = Field(
        default=42, description="Random seed: same data and config give the same segments."
    )
    min_segment_share: float = Field(
        default=0.02, description="Candidates with a segment smaller than this share are rejected."
    )
    quality_threshold: float = Field(
        default=0.5, description="Attributes with a measured quality_score below this are not used."
    )
    bootstrap_rounds: int = Field(
        default=20,
        description="Bootstrap resamples for the stability (mean Jaccard) of each candidate.",
    )
    stability_cutoff: float = Field(
        default=0.75,
        description="Min. mean bootstrap Jaccard (Hennig 2007: >= 0.75 stable, <= 0.5 dissolves).",
    )
    silhouette_cutoff: float = Field(
        default=0.25,
        description="Minimum silhouette (Kaufman & Rousseeuw: < 0.25 is no substantial structure).",
    )
    sample_size: int = Field(
        default=20_000,
        description="Customers sampled to fit and score candidates; all are assigned.",
    )
    silhouette_sample_size: int = Field(
        default=5_000, description="Customers the silhouette is computed on."
    )
    bootstrap_sample_size: int = Field(
        default=2_000, description="Customers re-clustered in each bootstrap round."
    )
    ward_sample_size: int = Field(
        default=5_000,
        description="Customers Ward clustering sees (its memory grows with n squared).",
    )
    excluded_attributes: list[str] = Field(
        default=[],
        description="Attributes blocked from segmentation in addition to the catalog policy.",
    )
    manifest_path: str = Field(
        default="",
        description="dbt manifest with the attribute catalog; empty: dbt_project/target.",
    )

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(quality_threshold=self.quality_threshold)

    def selection_config(self) -> SelectionConfig:
        return SelectionConfig(
            algorithm=self.algorithm,
            candidates=tuple(self.candidates),
            k_min=self.k_min,
            k_max=self.k_max,
            seed=self.seed,
            min_segment_share=self.min_segment_share,
            bootstrap_rounds=self.bootstrap_rounds,
            stability_cutoff=self.stability_cutoff,
            silhouette_cutoff=self.silhouette_cutoff,
            sample_size=self.sample_size,
            silhouette_sample_size=self.silhouette_sample_size,
            bootstrap_sample_size=self.bootstrap_sample_size,
            ward_sample_size=self.ward_sample_size,
        )


def _read_marts(warehouse: WarehouseResource, *tables: str) -> list[pd.DataFrame]:
    with warehouse.connect(read_only=True) as con:
        return [read_table(con, "marts", table) for table in tables]


def _write(warehouse: WarehouseResource, tables: dict[str, pd.DataFrame]) -> None:
    with warehouse.connect() as con:
        for table, frame in tables.items():
            replace_table(con, SCHEMA, table, frame)


def _load_model(model_store: ModelStoreResource) -> SegmentModel:
    model = model_store.load(MODEL_NAME)
    if model is None:
        raise Failure(
            description="no segment model stored yet: materialize segmentation/segment_model first"
        )
    return model


def _feature_table(model: SegmentModel) -> pd.DataFrame:
    used = pd.DataFrame(model.chosen).assign(used=True, reason="")
    dropped = pd.DataFrame(model.dropped, columns=["attribute", "reason"]).assign(
        used=False, transform=""
    )
    table = pd.concat([used, dropped], ignore_index=True)
    return table[["attribute", "used", "transform", "reason"]].assign(model_version=model.version)


@asset(
    key=AssetKey([GROUP, "segment_model"]),
    group_name=GROUP,
    kinds=KINDS,
    pool="duckdb",
    deps=[ATTRIBUTES, QUALITY, DIM_CUSTOMERS, CUSTOM_ATTRIBUTES],
    automation_condition=refresh_on_new_upstream_data(),
    description="Segment model: governed features, automatic model selection, stable ids, names.",
)
def segment_model(
    context: AssetExecutionContext,
    config: SegmentationConfig,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    governance: GovernancePolicyResource,
) -> MaterializeResult:
    attributes, quality = _read_marts(warehouse, "customer_attributes", "attribute_quality")
    if attributes.empty:
        raise Failure(
            description="marts.customer_attributes is empty or missing: nothing to segment"
        )
    manifest = config.manifest_path or default_manifest_path()
    catalog = load_attribute_catalog(manifest)
    # Governance is enforced here, not only reported: prohibited, protected, proxy and
    # unclassified attributes never reach the model, nor do customers without analytics consent.
    # The decisions (and proxy measurements) of this run's governance_policy check, same policy.
    with warehouse.connect(read_only=True) as con:
        governed, reused = governed_features(
            con, context.run.run_id, catalog, governance.load(), manifest
        )
    context.log.info(f"governance exclusions {'from the check' if reused else 'decided here'}")
    excluded = {
        **governed.excluded,
        **{name: "excluded in the segmentation config" for name in config.excluded_attributes},
    }
    # Consent protects behavioural attributes: when the data has any to cluster on, customers
    # without analytics consent are left out; data without behaviour (e.g. invoices only) is not
    # gated, so a business with no product tracking or consent ledger can still segment on value.
    allowed = catalog.loc[catalog["segmentation_policy"] == "allowed", "attribute_name"].tolist()
    candidates = [name for name in allowed if name not in excluded]
    behaviour = _informative(attributes, _behavioural(candidates, catalog))
    consented = _consented(warehouse, attributes) if behaviour else None
    if consented is not None:
        context.log.info(
            f"{int(consented.sum())} of {len(consented)} customers have analytics consent and are "
            "clustered"
        )
    try:
        model = train_segment_model(
            attributes,
            catalog,
            quality,
            config.feature_config(),
            config.selection_config(),
            previous=model_store.load(MODEL_NAME),
            name_overrides=load_name_overrides(settings.CONFIG_DIR / "segment_names.yaml"),
            excluded=excluded,
            row_mask=consented,
        )
    except NoClusterStructure as refusal:
        _write(warehouse, {"model_selection": refusal.table.assign(model_version="refused")})
        raise Failure(
            description=str(refusal),
            metadata={"selection": MetadataValue.md(plots.markdown_table(refusal.table))},
        ) from refusal

    model.version = version_hash(
        frame_fingerprint(attributes), model.feature_names, config.model_dump()
    )
    artifact = model_store.save(MODEL_NAME, model.version, model)
    features = _feature_table(model)
    _write(
        warehouse,
        {
            "model_selection": model.selection.assign(model_version=model.version),
            "feature_matrix_columns": features,
        },
    )
    context.log.info(f"segment model {model.version}: {model.algorithm}, k={model.k}")

    sizes = model.membership.value_counts().reindex(model.segment_ids)
    labelled = sizes.rename(index=lambda s: f"{s} {model.names[s]}")
    trained = attributes.set_index("customer_key", drop=False).loc[model.membership.index]
    X = model.transformer.transform(trained)
    labels = pd.Series(range(model.k), index=model.segment_ids)[
        model.membership.to_numpy()
    ].to_numpy()
    segments = pd.DataFrame(
        {
            "segment_id": model.segment_ids,
            "name": [model.names[s] for s in model.segment_ids],
            "customers": sizes.to_numpy(),
            "status": [model.status[s] for s in model.segment_ids],
        }
    )
    dissolved = sorted(s for s, st in model.status.items() if st == "dissolved")
    images = {
        "segment_sizes": plots.segment_size_chart(labelled),
        "projection": plots.pca_projection(X, labels, [model.names[s] for s in model.segment_ids]),
    }
    if model.stats is not None and not model.stats.empty:
        images["lift_heatmap"] = plots.lift_heatmap(model.stats, model.names)
    return MaterializeResult(
        metadata={
            "model_version": model.version,
            "artifact": MetadataValue.path(str(artifact)),
            "algorithm": model.algorithm,
            "k": model.k,
            "holdout_accuracy": model.holdout_accuracy,
            "identity_matching": model.match_method,
            "dissolved_segments": ", ".join(dissolved) or "none",
            "dagster/row_count": len(model.membership),
            "selection": MetadataValue.md(plots.markdown_table(model.selection)),
            "features": MetadataValue.md(
                plots.markdown_table(features.drop(columns="model_version"))
            ),
            "segments": MetadataValue.md(plots.markdown_table(segments)),
            **{
                key: MetadataValue.md(plots.markdown_image(png, key.replace("_", " ")))
                for key, png in images.items()
            },
        }
    )


@asset(
    key=AssetKey([GROUP, "customer_segments"]),
    group_name=GROUP,
    kinds=KINDS,
    pool="duckdb",
    deps=[segment_model, ATTRIBUTES],
    automation_condition=refresh_on_new_upstream_data(),
    description="One row per customer: segment id and name, confidence and margin.",
)
def customer_segments(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    model = _load_model(model_store)
    (attributes,) = _read_marts(warehouse, "customer_attributes")
    # Behaviour of customers without analytics consent is never scored: they get no segment.
    if _behavioural([c["attribute"] for c in model.chosen], model.catalog):
        attributes = attributes[_consented(warehouse, attributes)]
    assigned = model.assign(attributes).assign(assigned_at=datetime.now(UTC).replace(tzinfo=None))
    _write(warehouse, {"customer_segments": assigned})
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
    key=AssetKey([GROUP, "segment_profiles"]),
    group_name=GROUP,
    kinds=KINDS,
    pool="duckdb",
    deps=[customer_segments, ATTRIBUTES, OUTCOMES],
    automation_condition=refresh_on_new_upstream_data(),
    description="One row per segment: size, share, defining traits, outcomes and playbook action.",
)
def segment_profiles(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    model = _load_model(model_store)
    attributes, outcomes = _read_marts(warehouse, "customer_attributes", "customer_outcomes")
    with warehouse.connect(read_only=True) as con:
        segments = read_table(con, SCHEMA, "customer_segments")
    rows = attributes.merge(
        segments[["customer_key", "segment_id"]], on="customer_key", how="inner"
    )
    actions = playbook_actions(
        model.names, model.concepts, load_playbooks(settings.CONFIG_DIR / "playbooks.yaml")
    )
    profiles, stats = build_profiles(
        rows, rows["segment_id"], model.catalog, outcomes, model.names, actions, model.status
    )
    profiles = profiles.assign(model_version=model.version)
    _write(warehouse, {"segment_profiles": profiles})
    summary = profiles[
        [
            "segment_id",
            "segment_name",
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


segmentation_assets = [segment_model, customer_segments, segment_profiles]
