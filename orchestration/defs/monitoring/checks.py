"""Dagster wrappers for trust over time: membership history, migration, and the checks that gate
publishing segments (group `monitoring`).

The logic lives in history, stability, flapping, migration, drift and outcomes; this module only
reads the warehouse, calls them and reports every figure as metadata so the UI shows the trend.

Checks on `segmentation/customer_segments` run right after it is materialized, before the history
asset records the run, so "previous run" always means the latest recorded run other than the one
being checked (runs are named by model version and scoring time, see `history.scoring_run_id`).

Blocking (ERROR) checks: segment_stability (mean bootstrap Jaccard of a segment below 0.6) and
outcome_validation (negligible outcome differences). Non-blocking (WARN): run_to_run_agreement
(ARI/AMI below 0.8) and feature_drift (major PSI: "segment redefinition recommended").

Tables in schema `monitoring`: segment_membership_history (raw + published segment per customer
per run), feature_snapshots (a sample of each run's raw feature values, the PSI reference of the
next run), feature_drift (PSI per feature of the latest run), segment_migration (the matrix of the
last two runs, long format) and action_entrants (customers who entered a segment marked for action).
"""

# No `from __future__ import annotations` here: Dagster reads the Config classes of checks from the
# runtime annotations.
import time

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    asset_check,
    define_asset_job,
)
from pydantic import Field
from sklearn.cluster import KMeans

from ml_assets import drift, migration, outcomes, plots, stability
from ml_assets.features import FeatureConfig, build_feature_matrix
from ml_assets.flapping import apply_anti_flapping, state_from_history
from orchestration.defs.resources import ModelStoreResource, WarehouseResource
from orchestration.defs.segmentation.assets import MODEL_NAME as SEGMENT_MODEL_NAME
from orchestration.io import history, settings
from orchestration.io.catalog import load_attribute_catalog
from orchestration.io.warehouse import read_table, replace_table, table_exists

SEGMENTS_KEY = AssetKey(["segmentation", "customer_segments"])
HISTORY_KEY = AssetKey(["monitoring", "segment_membership_history"])
MIGRATION_KEY = AssetKey(["monitoring", "segment_migration"])
GROUP = "monitoring"
SNAPSHOT_TABLE = "feature_snapshots"  # per run: a sample of raw feature values, for PSI
SNAPSHOT_SAMPLE = 20_000
SNAPSHOT_RUNS_KEPT = 10


# ---------------------------------------------------------------------------------------------
# Config (editable in the launchpad)


class StabilityCheckConfig(Config):
    n_boot: int = Field(default=20, description="Bootstrap resamples (Hennig suggests >= 20).")
    max_points: int = Field(
        default=5_000, description="Customers re-clustered per resample (bounds runtime)."
    )
    seed: int = Field(default=0, description="Random seed of resampling and KMeans refits.")


class AntiFlappingConfig(Config):
    min_margin: float = Field(
        # margin = (d2 - d1) / (d2 + d1): 0 on a boundary. At 0.1, 5,000 generated accounts publish
        # most planted moves at once and hold back only near-ties for another run.
        default=0.1,
        description="A raw move is published at once when its margin (customer_segments.margin) "
        "is at least this.",
    )
    persist_runs: int = Field(
        default=2, description="Otherwise it is published after this many consecutive runs."
    )


class MigrationConfig(Config):
    action_segments: list[str] = Field(
        # ml_assets.naming calls the segments that need a save "Dormant", "High value,
        # disengaging" and "Unhappy"; "at risk" covers names set by hand.
        default=["at risk", "at-risk", "disengaging", "dormant", "unhappy"],
        description="Segments marked for action: a segment id, or text its name contains.",
    )
    value_column: str = Field(
        default="current_mrr", description="customer_attributes column whose total is 'moved'."
    )


# ---------------------------------------------------------------------------------------------
# Reading the warehouse


def _segments(con) -> pd.DataFrame:
    frame = read_table(con, "segmentation", "customer_segments")
    if frame.empty:
        raise ValueError("segmentation.customer_segments is empty or missing")
    # Keys and segment ids compare as text with the history table.
    return frame.astype({"customer_key": str, "segment_id": str})


def _run_id(segments: pd.DataFrame) -> tuple[str, str, pd.Timestamp]:
    model_version = str(segments["model_version"].iloc[0])
    scored_at = pd.Timestamp(segments["assigned_at"].max())
    return history.scoring_run_id(model_version, scored_at), model_version, scored_at


def _catalog(attributes: pd.DataFrame) -> pd.DataFrame:
    """The dbt attribute catalog; without a manifest, every numeric column counts as allowed."""
    manifest = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    if manifest.exists():
        try:
            return load_attribute_catalog(manifest)
        except ValueError:
            pass
    return _numeric_catalog(attributes)


def _numeric_catalog(attributes: pd.DataFrame) -> pd.DataFrame:
    numeric = [
        c
        for c in attributes.columns
        if c != "customer_key" and pd.api.types.is_numeric_dtype(attributes[c])
    ]
    return pd.DataFrame(
        {
            "attribute_name": numeric,
            "segmentation_policy": "allowed",
            "data_type": "numeric",
            "unit": None,
        }
    )


def _feature_matrix(
    con, segments: pd.DataFrame, model_store: ModelStoreResource | None = None
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """(X, feature names, raw numeric feature values) of the segmented customers, in their order.

    X comes from the stored segment model's own transform when it is the model that scored the
    segments, so the bootstrap re-clusters the very space the segments were found in. Otherwise
    (no model stored yet) the transform is refitted the same way (ml_assets.features on the
    catalog-allowed attributes: log1p for skewed amounts, median impute, robust scale, clip);
    without a dbt manifest every numeric column counts as allowed. Governance exclusions are not
    re-applied in that fallback.
    """
    attributes = read_table(con, "marts", "customer_attributes")
    if attributes.empty:
        raise ValueError("marts.customer_attributes is empty or missing")
    attributes["customer_key"] = attributes["customer_key"].astype(str)
    keys = segments["customer_key"].to_numpy()
    rows = attributes.set_index("customer_key").reindex(keys).reset_index()
    model = model_store.load(SEGMENT_MODEL_NAME) if model_store is not None else None
    if model is not None and model.version == str(segments["model_version"].iloc[0]):
        transformer = model.transformer
    else:
        quality = read_table(con, "marts", "attribute_quality")
        config = FeatureConfig()
        transformer = build_feature_matrix(rows, _catalog(attributes), quality, config).transformer
        if not transformer.feature_names:  # a manifest of another project: numeric columns
            catalog = _numeric_catalog(attributes)
            transformer = build_feature_matrix(rows, catalog, quality, config).transformer
    numeric = [s.attribute for s in transformer.specs if s.kind != "categorical"]
    return transformer.transform(rows), transformer.feature_names, rows[numeric]


def _previous(con, run_id: str) -> tuple[str | None, pd.DataFrame]:
    previous_id = history.previous_run_id(con, run_id)
    frame = history.load_run(con, previous_id) if previous_id else pd.DataFrame()
    return previous_id, frame


def _md_table(frame: pd.DataFrame, digits: int = 3) -> MetadataValue:
    return MetadataValue.md(frame.round(digits).to_markdown(index=False))


def kmeans_refit(k: int, seed: int = 0):
    """The refit used by the stability check: KMeans with the current number of segments."""
    return lambda X: KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(X)


# ---------------------------------------------------------------------------------------------
# Checks on customer_segments


@asset_check(
    asset=SEGMENTS_KEY,
    blocking=True,
    pool="duckdb",
    description="Bootstrap stability per segment (Hennig clusterboot, mean Jaccard): "
    "fail below 0.6, warn below 0.75.",
)
def segment_stability(
    config: StabilityCheckConfig, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> AssetCheckResult:
    started = time.perf_counter()
    with warehouse.connect(read_only=True) as con:
        segments = _segments(con)
        X, feature_names, _ = _feature_matrix(con, segments, model_store)
    k = segments["segment_id"].nunique()
    result = stability.bootstrap_stability(
        X,
        segments["segment_id"].to_numpy(),
        kmeans_refit(k, config.seed),
        n_boot=config.n_boot,
        max_points=config.max_points,
        seed=config.seed,
    )
    return AssetCheckResult(
        passed=result.status == "pass",
        severity=AssetCheckSeverity.ERROR if result.status == "fail" else AssetCheckSeverity.WARN,
        metadata={
            "status": result.status,
            "min_jaccard": result.min_jaccard,
            "mean_jaccard": result.mean_jaccard,
            "segments": int(k),
            "features": len(feature_names),
            "n_boot": result.n_boot,
            "customers_resampled": result.n_points,
            "per_segment": _md_table(result.per_segment),
            "runtime_s": round(time.perf_counter() - started, 2),
        },
    )


@asset_check(
    asset=SEGMENTS_KEY,
    blocking=True,
    pool="duckdb",
    description="Segments must differ on outcomes: Kruskal-Wallis eta² on revenue_after, "
    "chi-square Cramér's V on churned/retained; negligible effects fail.",
)
def outcome_validation(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        segments = _segments(con)
        customer_outcomes = read_table(con, "marts", "customer_outcomes")
    if customer_outcomes.empty:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={"reasons": "marts.customer_outcomes is empty or missing"},
        )
    customer_outcomes["customer_key"] = customer_outcomes["customer_key"].astype(str)
    result = outcomes.validate_outcomes(segments, customer_outcomes)
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "eta_squared_revenue": result.eta_squared,
            "max_cramers_v": result.max_cramers_v,
            "reasons": "; ".join(result.reasons),
            "tests": _md_table(result.tests),
            "per_segment": _md_table(result.per_segment, digits=2),
        },
    )


@asset_check(
    asset=SEGMENTS_KEY,
    pool="duckdb",
    description="Agreement with the previous run after label matching (ARI, AMI; warn "
    "below 0.8) and the share of customers who changed segment.",
)
def run_to_run_agreement(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        segments = _segments(con)
        previous_id, previous = _previous(con, _run_id(segments)[0])
    if previous.empty:
        return AssetCheckResult(
            passed=True, metadata={"note": "first recorded run: nothing to compare"}
        )
    result = stability.run_agreement(
        previous.rename(columns={"raw_segment_id": "segment_id"}), segments
    )
    return AssetCheckResult(
        passed=result.status == "pass",
        severity=AssetCheckSeverity.WARN,
        metadata={
            "ari": result.ari,
            "ami": result.ami,
            "changed_share": result.changed_share,
            "common_customers": result.common_customers,
            "previous_run_id": previous_id,
            "label_mapping": MetadataValue.json(
                {str(k): str(v) for k, v in result.label_mapping.items()}
            ),
        },
    )


@asset_check(
    asset=SEGMENTS_KEY,
    pool="duckdb",
    description="PSI per feature against the previous run (0.1 moderate, 0.25 major) and "
    "segment-size drift; major drift recommends redefining the segments.",
)
def feature_drift(
    warehouse: WarehouseResource, model_store: ModelStoreResource
) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        segments = _segments(con)
        previous_id, previous = _previous(con, _run_id(segments)[0])
        if previous.empty:
            return AssetCheckResult(
                passed=True, metadata={"note": "first recorded run: nothing to compare"}
            )
        _, _, current_values = _feature_matrix(con, segments, model_store)
        reference = _load_snapshot(con, previous_id)
    summary = _drift(reference, current_values, previous, segments)
    return AssetCheckResult(
        passed=not summary.redefinition_recommended,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "status": summary.status,
            "message": summary.message,
            "drifted_features": ", ".join(summary.drifted_features) or "none",
            "max_psi": float(summary.features["psi"].max()) if len(summary.features) else 0.0,
            "segment_size_psi": summary.size_drift.psi if summary.size_drift else 0.0,
            "features": _md_table(summary.features),
            "previous_run_id": previous_id,
        },
    )


def _drift(
    reference: pd.DataFrame, current: pd.DataFrame, previous: pd.DataFrame, segments: pd.DataFrame
) -> drift.DriftSummary:
    """Feature PSI plus segment-size drift with the current labels matched to the previous run's."""
    paired = previous[["customer_key", "raw_segment_id"]].merge(
        segments[["customer_key", "segment_id"]], on="customer_key"
    )
    mapping = (
        stability.match_labels(paired["raw_segment_id"].to_numpy(), paired["segment_id"].to_numpy())
        if len(paired)
        else {}
    )
    columns = [c for c in current.columns if c in reference.columns]
    return drift.drift_summary(
        reference,
        current,
        columns,
        reference_labels=previous["raw_segment_id"].to_numpy(),
        current_labels=segments["segment_id"].map(lambda s: mapping.get(s, s)).to_numpy(),
    )


def _load_snapshot(con, run_id: str) -> pd.DataFrame:
    """The feature sample stored for a run, wide (one column per feature)."""
    if not table_exists(con, history.SCHEMA, SNAPSHOT_TABLE):
        return pd.DataFrame()
    long = con.execute(
        f'select row_no, feature, value from "{history.SCHEMA}"."{SNAPSHOT_TABLE}" '
        "where run_id = ?",
        [run_id],
    ).df()
    return long.pivot(index="row_no", columns="feature", values="value") if len(long) else long


def _store_snapshot(con, run_id: str, values: pd.DataFrame) -> int:
    """Keep a sample of this run's raw feature values (long format) for the next run's PSI."""
    sample = values.sample(n=min(SNAPSHOT_SAMPLE, len(values)), random_state=0).reset_index(
        drop=True
    )
    long = (
        sample.astype(float)
        .rename_axis("row_no")
        .reset_index()
        .melt(id_vars="row_no", var_name="feature", value_name="value")
        .assign(run_id=run_id)
    )
    qualified = f'"{history.SCHEMA}"."{SNAPSHOT_TABLE}"'
    con.execute(
        f"create table if not exists {qualified} "
        "(run_id varchar, row_no bigint, feature varchar, value double)"
    )
    keep = list(history.list_runs(con)["run_id"].iloc[-SNAPSHOT_RUNS_KEPT:])
    con.register("_snapshot", long)
    try:
        con.execute(
            f"delete from {qualified} where run_id = ? or not list_contains(?, run_id)",
            [run_id, keep + [run_id]],
        )
        con.execute(f"insert into {qualified} by name select * from _snapshot")
    finally:
        con.unregister("_snapshot")
    return len(long)


# ---------------------------------------------------------------------------------------------
# Assets


@asset(
    key=HISTORY_KEY,
    deps=[SEGMENTS_KEY],
    group_name=GROUP,
    pool="duckdb",
    kinds={"python"},
    description="Every scoring run's raw and published (anti-flapping) segment per customer.",
)
def segment_membership_history(
    context: AssetExecutionContext,
    config: AntiFlappingConfig,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
) -> MaterializeResult:
    with warehouse.connect() as con:
        segments = _segments(con)
        run_id, model_version, scored_at = _run_id(segments)
        runs = history.list_runs(con)
        earlier = list(runs.loc[runs["run_id"] != run_id, "run_id"].iloc[-config.persist_runs :])
        state = state_from_history(history.load_history(con, earlier))
        new = segments.rename(columns={"segment_id": "raw_segment_id"})
        result = apply_anti_flapping(state, new, config.min_margin, config.persist_runs)
        rows = history.record_run(con, run_id, model_version, scored_at, result.assignments)
        _, _, values = _feature_matrix(con, segments, model_store)
        _store_snapshot(con, run_id, values)
        previous_id, previous = _previous(con, run_id)
        drift_rows = 0
        if previous_id is not None:
            summary = _drift(_load_snapshot(con, previous_id), values, previous, segments)
            drift_rows = replace_table(
                con,
                history.SCHEMA,
                "feature_drift",
                summary.features.assign(run_id=run_id, previous_run_id=previous_id),
            )
        runs_stored = len(history.list_runs(con))
    context.log.info(
        f"recorded run {run_id}: {rows} customers, {result.suppressed_moves} moves held"
    )
    return MaterializeResult(
        metadata={
            "run_id": run_id,
            "dagster/row_count": rows,
            "runs_stored": runs_stored,
            "raw_moves": result.raw_moves,
            "published_moves": result.published_moves,
            "suppressed_moves": result.suppressed_moves,
            "flapping_rate_prevented": result.flapping_rate_prevented,
            "feature_drift_rows": drift_rows,
        }
    )


@asset(
    key=MIGRATION_KEY,
    deps=[HISTORY_KEY],
    group_name=GROUP,
    pool="duckdb",
    kinds={"python"},
    description="Migration matrix between the last two runs' published segments, flows by "
    "customers and value, and customers who entered segments marked for action.",
)
def segment_migration(config: MigrationConfig, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect() as con:
        runs = history.list_runs(con)
        if len(runs) < 2:
            return MaterializeResult(metadata={"note": "fewer than two runs recorded"})
        previous_id, current_id = runs["run_id"].iloc[-2], runs["run_id"].iloc[-1]
        published = {"published_segment_id": "segment_id"}
        previous = history.load_run(con, previous_id).rename(columns=published)
        current = history.load_run(con, current_id).rename(columns=published)
        names = _segments(con)
        attributes = read_table(con, "marts", "customer_attributes")
        names = names[["segment_id", "segment_name"]].drop_duplicates("segment_id")
        labels = dict(zip(names["segment_id"], names["segment_name"], strict=True))
        values = None
        if config.value_column in attributes:
            values = attributes[["customer_key", config.value_column]].astype({"customer_key": str})

        counts, shares = migration.migration_matrix(previous, current)
        flows = migration.migration_flows(previous, current, values, config.value_column)
        action = migration.segments_marked_for_action(names, config.action_segments)
        entrants = migration.action_entrants(previous, current, action)
        table = (
            counts.stack()
            .rename("customers")
            .to_frame()
            .join(shares.stack().rename("share_of_from"))
            .reset_index()
            .assign(previous_run_id=previous_id, run_id=current_id)
        )
        replace_table(con, history.SCHEMA, "segment_migration", table)
        replace_table(
            con,
            history.SCHEMA,
            "action_entrants",
            entrants.assign(previous_run_id=previous_id, run_id=current_id),
        )
    png = migration.migration_heatmap_png(shares, counts, labels=labels)
    moved = int(table.loc[table["from_segment"] != table["to_segment"], "customers"].sum())
    named = flows.assign(
        from_name=flows["from_segment"].map(labels), to_name=flows["to_segment"].map(labels)
    )
    return MaterializeResult(
        metadata={
            "previous_run_id": previous_id,
            "run_id": current_id,
            "customers_compared": int(counts.to_numpy().sum()),
            "customers_moved": moved,
            "moved_share": moved / max(int(counts.to_numpy().sum()), 1),
            "matrix": MetadataValue.md(counts.rename(index=labels, columns=labels).to_markdown()),
            "chart": MetadataValue.md(plots.markdown_image(png, "segment migration")),
            "top_flows_by_customers": _md_table(named.head(10)),
            "top_flows_by_value": _md_table(named.sort_values("rank_by_value").head(10)),
            "action_segments": ", ".join(str(labels.get(s, s)) for s in sorted(action)) or "none",
            "action_entrants": len(entrants),
            "action_entrants_preview": _md_table(entrants.head(20)),
        }
    )


# ---------------------------------------------------------------------------------------------
# Exports


monitoring_assets = [segment_membership_history, segment_migration]
monitoring_checks = [segment_stability, outcome_validation, run_to_run_agreement, feature_drift]
monitoring_job = define_asset_job(
    "monitoring_job",
    selection=AssetSelection.assets(SEGMENTS_KEY, HISTORY_KEY, MIGRATION_KEY),
    description="Re-score customers, re-run the trust checks, record history and migration.",
)
monitoring_schedule = ScheduleDefinition(
    name="monitoring_schedule",
    job=monitoring_job,
    cron_schedule="0 5 * * *",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily re-score and re-check of the segments.",
)


def benchmark(n_customers: int = 100_000, n_features: int = 20, k: int = 5, seed: int = 0) -> dict:
    """Seconds each check's computation takes on a synthetic matrix (no Dagster, no warehouse)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, size=(k, n_features))
    labels = rng.integers(0, k, n_customers)
    X = centers[labels] + rng.normal(size=(n_customers, n_features))
    keys = pd.Series(np.arange(n_customers).astype(str))
    timings: dict[str, float] = {}

    def timed(name, func):
        started = time.perf_counter()
        value = func()
        timings[name] = round(time.perf_counter() - started, 2)
        return value

    timed(
        "stability_5k_sample_20_boot",
        lambda: stability.bootstrap_stability(
            X, labels, kmeans_refit(k, seed), n_boot=20, max_points=5_000, seed=seed
        ),
    )
    timed(
        "stability_full_10_boot",
        lambda: stability.bootstrap_stability(
            X, labels, kmeans_refit(k, seed), n_boot=10, seed=seed
        ),
    )
    moved = np.where(rng.random(n_customers) < 0.05, rng.integers(0, k, n_customers), labels)
    previous = pd.DataFrame({"customer_key": keys, "segment_id": labels})
    current = pd.DataFrame({"customer_key": keys, "segment_id": moved})
    timed("run_agreement", lambda: stability.run_agreement(previous, current))
    shifted = pd.DataFrame(X + rng.normal(0, 0.1, X.shape)).add_prefix("f")
    timed(
        "feature_drift",
        lambda: drift.drift_summary(
            pd.DataFrame(X).add_prefix("f"), shifted, reference_labels=labels, current_labels=moved
        ),
    )
    customer_outcomes = pd.DataFrame(
        {
            "customer_key": keys,
            "revenue_after": rng.lognormal(5 + labels * 0.2, 1.0),
            "churned": rng.random(n_customers) < 0.1 + 0.02 * labels,
        }
    )
    timed("outcome_validation", lambda: outcomes.validate_outcomes(previous, customer_outcomes))
    timed(
        "migration",
        lambda: (
            migration.migration_matrix(previous, current),
            migration.migration_flows(previous, current),
        ),
    )
    state = pd.DataFrame(
        {
            "customer_key": keys,
            "published_segment_id": labels,
            "candidate_segment_id": pd.array([pd.NA] * n_customers, dtype="Int64"),
            "candidate_runs": 0,
        }
    )
    new = pd.DataFrame(
        {"customer_key": keys, "raw_segment_id": moved, "margin": rng.random(n_customers)}
    )
    timed("anti_flapping", lambda: apply_anti_flapping(state, new, 0.1, 2))
    return timings
