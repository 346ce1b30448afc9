"""The governed feature matrix: which attributes may be clustered on, and how they are transformed.

Attributes are chosen from the dbt catalog meta only (never from a list kept here): an attribute
is a feature when its segmentation policy is `allowed`, its data type is numeric, boolean or
categorical, its measured quality passes the threshold, it varies, and governance has not blocked
it. Every attribute that is not used is recorded with the reason, so the choice can be audited.

Business data is skewed (a few customers hold most of the revenue and events), so heavy-tailed
non-negative amounts and counts get log1p, and so do values spanning orders of magnitude (tenure:
three weeks vs five years differ far more than five vs six years). Every numeric column is
robust-scaled (median / IQR) and clipped, missing values are imputed with the median plus a
missing indicator when enough values are missing, and categoricals are one-hot encoded over
their frequent levels with a reduced weight so a single firmographic cannot dominate the
distances.

One concept counts once: numeric attributes whose rank correlation (Spearman) reaches
`FeatureConfig.duplicate_threshold` form a group, and only its representative (best quality, then
catalog order) is used; the others are recorded as its near-duplicates. Attribute groups (catalog
`attribute_group`: value, product usage, engagement, support, satisfaction, firmographic, custom)
can be balanced: with `balance_groups` each group weighs the same in the distances however many
attributes it has, times its weight (`group_weights`). Off by default: on the generated data,
whose archetypes differ mostly in usage and value, equal group weights merge archetypes (adjusted
Rand index 0.54 instead of 0.99). Firmographics and custom CRM attributes weigh half by default,
because they describe who a customer is and do not change when its behaviour does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_assets.flags import as_flags
from ml_assets.stats import rank_correlation

FEATURE_DATA_TYPES = ("numeric", "boolean", "categorical")
# The attribute catalog's columns besides attribute_name and description (dbt column meta).
CATALOG_FIELDS = [
    "unit",
    "source",
    "update_frequency",
    "segmentation_policy",
    "attribute_group",
    "data_type",
    "behavioural",
]
# Units that are already bounded scales: never log-transformed even when skewed.
BOUNDED_UNITS = ("ratio", "score", "flag", "share", "percent")
OTHER_LEVEL = "__other__"
MISSING_LEVEL = "__missing__"


@dataclass(frozen=True)
class FeatureConfig:
    """Knobs of the feature matrix; defaults suit customer attribute tables. A field with a
    `description` in its metadata is editable in the Dagster launchpad."""

    quality_threshold: float = field(
        default=0.5,
        metadata={
            "description": "Attributes with a measured quality_score below this are not used."
        },
    )
    skew_threshold: float = 1.0  # sample skewness above which non-negative values get log1p
    missing_indicator_share: float = 0.05  # add a missing indicator when this share is missing
    max_missing_share: float = 0.95  # attributes missing for more customers carry no signal
    # A numeric attribute with one value for this share of the customers is near-constant: its
    # interquartile range is 0, so robust scaling (std fallback) would throw the few others to
    # the clip and make them a segment of their own, outweighing every real signal.
    max_mode_share: float = field(
        default=0.95,
        metadata={
            "description": "Numeric attributes where one value covers at least this share of "
            "the customers are near-constant and not used (their few other values would "
            "form a segment of their own)."
        },
    )
    max_categories: int = 8  # one-hot levels kept per categorical (the rest grouped as other)
    min_category_share: float = 0.02  # levels rarer than this are grouped as other
    # Weight of one-hot, boolean and missing-indicator columns vs robust-scaled numeric ones. Two
    # customers in different levels are 2 x 0.5² = 0.5 apart (squared), a quarter of the expected
    # 2 on a numeric: k-prototypes' default mismatch cost (Huang 1997; kmodes: 0.5 x mean numeric
    # std). Parity (1.0) was measured on the Telco-like test and does not make the segments follow
    # Contract (churn V 0.37 -> 0.40 while silhouette falls 0.338 -> 0.264, near the 0.25 cut-off);
    # README "Categorical weight" says why, issue 13's note has the figures.
    categorical_weight: float = 0.5
    clip: float = 5.0  # robust-scaled values are clipped to [-clip, clip]
    # Non-negative values whose 90th percentile is this many times a positive 10th percentile
    # span orders of magnitude (tenure: 3 weeks vs 5 years) and are compared on ratios: log1p.
    range_ratio: float = 10.0
    # Firmographics and CRM custom attributes (tier, region, contract) describe who a customer is
    # and are rarely updated, so at full weight they would pin a customer to its old segment after
    # its behaviour has moved on.
    group_weights: tuple[str, ...] = field(
        default=("firmographic=0.5", "custom=0.5"),
        metadata={
            "description": "Weight of attribute groups in the distances as `group=weight` "
            "(catalog attribute_group: value, product, engagement, support, satisfaction, "
            "firmographic, custom); groups not listed weigh 1."
        },
    )
    balance_groups: bool = field(
        default=False,
        metadata={
            "description": "Each attribute group weighs the same in the distances (times its "
            "group weight), however many attributes it has."
        },
    )
    duplicate_threshold: float = field(
        default=0.99,
        metadata={
            "description": "Numeric attributes whose rank correlation (Spearman) reaches this "
            "are one concept: only the best-quality one is used. Above 1: no grouping."
        },
    )
    duplicate_sample: int = 20_000  # rows the rank correlations are measured on (deterministic)

    def group_weight_map(self) -> dict[str, float]:
        """`group_weights` as a mapping; raises ValueError naming a malformed entry."""
        weights = {}
        for entry in self.group_weights:
            group, sep, value = str(entry).partition("=")
            try:
                weight = float(value)
            except ValueError:
                weight = -1.0
            if not sep or not group.strip() or weight < 0:
                raise ValueError(
                    f"group_weights entry {entry!r}: expected group=weight with weight >= 0"
                )
            weights[group.strip()] = weight
        return weights


@dataclass
class ColumnSpec:
    """How one chosen attribute becomes one or more columns of the matrix."""

    attribute: str
    kind: str  # numeric | boolean | categorical
    log: bool = False
    median: float = 0.0  # imputation value, on the (log-)transformed scale
    center: float = 0.0
    scale: float = 1.0
    missing_indicator: bool = False
    levels: list[str] = field(default_factory=list)  # categorical levels kept (plus other)
    weight: float = 1.0  # the attribute group's weight, applied to all its columns
    group: str = ""  # catalog attribute_group
    represents: list[str] = field(default_factory=list)  # near-duplicates this one stands for

    @property
    def transform(self) -> str:
        """A short human-readable description of the transform, for metadata."""
        group_weight = f", group weight {self.weight:.3g}" if self.weight != 1.0 else ""
        if self.kind == "categorical":
            return f"one-hot ({len(self.levels)} levels + other)" + group_weight
        if self.kind == "boolean":
            indicator = ", missing indicator" if self.missing_indicator else ""
            return "0/1, weighted" + indicator + group_weight
        steps = ["log1p"] if self.log else []
        steps += ["median impute", "robust scale"]
        if self.missing_indicator:
            steps.append("missing indicator")
        return ", ".join(steps) + group_weight

    def column_names(self) -> list[str]:
        if self.kind == "categorical":
            return [f"{self.attribute}={level}" for level in [*self.levels, OTHER_LEVEL]]
        names = [self.attribute]
        if self.missing_indicator:
            names.append(f"{self.attribute}__missing")
        return names


@dataclass
class FeatureTransformer:
    """The fitted transform; applies the same columns and statistics to new customers."""

    specs: list[ColumnSpec]
    config: FeatureConfig

    @property
    def feature_names(self) -> list[str]:
        return [name for spec in self.specs for name in spec.column_names()]

    @property
    def attributes(self) -> list[str]:
        return [spec.attribute for spec in self.specs]

    def transform(self, attributes: pd.DataFrame) -> np.ndarray:
        """Matrix of shape (rows, features); attributes missing from the frame count as missing."""
        blocks = [
            self._column(spec, _column_or_missing(attributes, spec.attribute)) * spec.weight
            for spec in self.specs
        ]
        if not blocks:
            return np.zeros((len(attributes), 0))
        return np.hstack(blocks)

    def _column(self, spec: ColumnSpec, values: pd.Series) -> np.ndarray:
        weight = self.config.categorical_weight
        if spec.kind == "categorical":
            text = _as_levels(values)
            known = text.where(text.isin(spec.levels), OTHER_LEVEL)
            return np.column_stack(
                [
                    (known == level).to_numpy(dtype=float) * weight
                    for level in [*spec.levels, OTHER_LEVEL]
                ]
            )
        numeric = _as_numeric(values, spec.log)
        missing = numeric.isna().to_numpy()
        filled = numeric.fillna(spec.median).to_numpy(dtype=float)
        scaled = np.clip((filled - spec.center) / spec.scale, -self.config.clip, self.config.clip)
        if spec.missing_indicator:
            return np.column_stack([scaled, missing.astype(float) * weight])
        return scaled.reshape(-1, 1)


@dataclass
class FeatureMatrix:
    """The matrix handed to model selection, with the audit trail of the attribute choice."""

    X: np.ndarray
    customer_keys: np.ndarray
    feature_names: list[str]
    chosen: list[dict]  # {attribute, transform, group, represents}
    dropped: list[dict]  # {attribute, reason}
    transformer: FeatureTransformer


def _column_or_missing(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype=float)


def _as_numeric(values: pd.Series, log: bool) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce").astype(float)
    if log:
        numeric = np.log1p(numeric.clip(lower=0))
    return numeric


def _as_levels(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), MISSING_LEVEL).astype(str)


def _robust_center_scale(values: np.ndarray) -> tuple[float, float]:
    """Median and IQR-based scale (IQR / 1.349 matches the std of a normal), std as fallback."""
    center = float(np.median(values))
    q75, q25 = np.percentile(values, [75, 25])
    scale = float(q75 - q25) / 1.349
    if scale <= 1e-12:
        scale = float(np.std(values))
    return center, (scale if scale > 1e-12 else 1.0)


def _fit_numeric(
    name: str, kind: str, unit: str | None, values: pd.Series, config: FeatureConfig
) -> ColumnSpec | str:
    """The column spec for a numeric/boolean attribute, or the reason it cannot be used."""
    raw = _as_numeric(values, log=False)
    present = raw.dropna()
    missing_share = 1.0 - len(present) / max(len(raw), 1)
    if present.empty or present.nunique() < 2:
        return "no variance (constant or absent source)"
    if missing_share > config.max_missing_share:
        return f"missing for {missing_share:.0%} of customers (> {config.max_missing_share:.0%})"
    mode_share = float(present.value_counts(normalize=True).iloc[0])
    if kind == "numeric" and mode_share >= config.max_mode_share:
        return (
            f"near-constant: one value for {mode_share:.0%} of customers "
            f"(>= {config.max_mode_share:.0%})"
        )
    p10, p90 = np.percentile(present, [10, 90])
    log = bool(
        kind == "numeric"
        and (unit or "").lower() not in BOUNDED_UNITS
        and present.min() >= 0
        and (
            present.skew() > config.skew_threshold or (p10 > 0 and p90 >= config.range_ratio * p10)
        )
    )
    transformed = np.log1p(present.to_numpy(dtype=float)) if log else present.to_numpy(dtype=float)
    median = float(np.median(transformed))
    if kind == "boolean":
        # 0/1 weighted like a one-hot column: scaling a rare flag by its small spread would
        # blow it up into a dimension of its own.
        center, scale = 0.0, 1.0 / config.categorical_weight
    else:
        center, scale = _robust_center_scale(transformed)
    return ColumnSpec(
        attribute=name,
        kind=kind,
        log=log,
        median=median,
        center=center,
        scale=scale,
        missing_indicator=missing_share >= config.missing_indicator_share,
    )


def _fit_categorical(name: str, values: pd.Series, config: FeatureConfig) -> ColumnSpec | str:
    shares = _as_levels(values).value_counts(normalize=True)
    if len(shares) < 2:
        return "no variance (constant or absent source)"
    frequent = shares[shares >= config.min_category_share].head(config.max_categories)
    levels = sorted(str(level) for level in frequent.index)
    return ColumnSpec(attribute=name, kind="categorical", levels=levels)


def _catalog_reason(row: pd.Series) -> str | None:
    """Why the catalog meta rules the attribute out, or None when it may be used."""
    policy = (row.get("segmentation_policy") or "").lower()
    data_type = (row.get("data_type") or "").lower()
    if data_type == "identifier":
        return "identifier"
    if policy != "allowed":
        return f"segmentation policy {policy or 'missing'}"
    if data_type not in FEATURE_DATA_TYPES:
        return f"data type {data_type or 'missing'} is not a feature type"
    return None


def _group_near_duplicates(
    specs: list[ColumnSpec], rows: pd.DataFrame, scores: dict, config: FeatureConfig
) -> tuple[list[ColumnSpec], list[dict]]:
    """Keep one representative per group of numeric attributes that rank-correlate at or above
    the threshold: the best quality score first, then catalog order. Returns the kept specs (in
    catalog order) and a dropped entry for each near-duplicate naming its representative."""
    numeric = [s for s in specs if s.kind != "categorical"]
    if len(numeric) < 2 or config.duplicate_threshold > 1:
        return specs, []
    step = max(1, len(rows) // max(config.duplicate_sample, 1))
    sample = rows.iloc[::step]
    values = pd.DataFrame(
        {s.attribute: _as_numeric(sample[s.attribute], log=False) for s in numeric}
    )
    rho = rank_correlation(values).abs()
    order = {s.attribute: i for i, s in enumerate(specs)}

    def preference(spec: ColumnSpec) -> tuple[float, int]:
        score = scores.get(spec.attribute)
        return (
            -(float(score) if score is not None and pd.notna(score) else 1.0),
            order[spec.attribute],
        )

    kept: list[ColumnSpec] = []
    dropped: list[dict] = []
    for spec in sorted(numeric, key=preference):
        links = [(rho.at[spec.attribute, k.attribute], k) for k in kept]
        links = [(r, k) for r, k in links if pd.notna(r) and r >= config.duplicate_threshold]
        if not links:
            kept.append(spec)
            continue
        r, representative = max(links, key=lambda link: link[0])
        representative.represents.append(spec.attribute)
        dropped.append(
            {
                "attribute": spec.attribute,
                "reason": f"near-duplicate of {representative.attribute} (rank correlation "
                f"{r:.2f} >= {config.duplicate_threshold:.2f}): one concept counts once",
            }
        )
    gone = {d["attribute"] for d in dropped}
    return [s for s in specs if s.attribute not in gone], dropped


def _weigh_groups(specs: list[ColumnSpec], config: FeatureConfig) -> None:
    """Set each spec's column multiplier: its group's weight, divided among the group's
    attributes when groups are balanced (each group's share of the squared distances is then its
    weight squared, whatever its size; the overall scale stays that of one weight per attribute)."""
    weights = config.group_weight_map()
    sizes = pd.Series([s.group for s in specs]).value_counts() if specs else pd.Series(dtype=int)
    mean_size = float(sizes.mean()) if len(sizes) else 1.0
    for spec in specs:
        weight = weights.get(spec.group, 1.0)
        if config.balance_groups:
            weight *= float(np.sqrt(mean_size / sizes[spec.group]))
        spec.weight = weight


def build_feature_matrix(
    attributes: pd.DataFrame,
    catalog: pd.DataFrame,
    quality: pd.DataFrame | None,
    config: FeatureConfig,
    excluded: dict[str, str] | None = None,
    row_mask: pd.Series | None = None,
) -> FeatureMatrix:
    """Choose features from the catalog, fit their transforms and build the matrix.

    `excluded` maps attribute names blocked by governance to the reason; `row_mask` (aligned with
    `attributes`) keeps only the customers that may be clustered, e.g. those with analytics consent.
    """
    excluded = excluded or {}
    rows = attributes
    if row_mask is not None:
        rows = attributes.loc[as_flags(row_mask.reindex(attributes.index))]
    # Row order must not matter: the warehouse returns rows in any order and model selection
    # samples by position. The same customers give the same matrix, hence the same segments.
    if "customer_key" in rows.columns:
        rows = rows.sort_values("customer_key", kind="stable")
    scores = {}
    if quality is not None and not quality.empty:
        scores = dict(zip(quality["attribute_name"], quality["quality_score"], strict=False))

    specs: list[ColumnSpec] = []
    dropped: list[dict] = []
    documented = set(catalog["attribute_name"])
    for column in attributes.columns:
        if column not in documented:
            dropped.append(
                {"attribute": column, "reason": "not documented in the attribute catalog"}
            )

    for _, meta in catalog.iterrows():
        name = meta["attribute_name"]
        reason = _catalog_reason(meta)
        if reason is None and name in excluded:
            reason = f"excluded by governance: {excluded[name]}"
        if reason is None and name not in attributes.columns:
            reason = "not present in customer_attributes"
        score = scores.get(name)
        if (
            reason is None
            and score is not None
            and pd.notna(score)
            and score < config.quality_threshold
        ):
            reason = f"quality score {score:.2f} below threshold {config.quality_threshold:.2f}"
        if reason is None:
            kind = meta["data_type"].lower()
            spec = (
                _fit_categorical(name, rows[name], config)
                if kind == "categorical"
                else _fit_numeric(name, kind, meta.get("unit"), rows[name], config)
            )
            if isinstance(spec, str):
                reason = spec
            else:
                spec.group = str(meta.get("attribute_group") or "")
                specs.append(spec)
                continue
        dropped.append({"attribute": name, "reason": reason})

    specs, duplicates = _group_near_duplicates(specs, rows, scores, config)
    dropped += duplicates
    _weigh_groups(specs, config)
    transformer = FeatureTransformer(specs=specs, config=config)
    X = transformer.transform(rows)
    keys = (
        rows["customer_key"].to_numpy() if "customer_key" in rows.columns else rows.index.to_numpy()
    )
    return FeatureMatrix(
        X=X,
        customer_keys=keys,
        feature_names=transformer.feature_names,
        chosen=[
            {
                "attribute": spec.attribute,
                "transform": spec.transform,
                "group": spec.group,
                "represents": ", ".join(spec.represents),
            }
            for spec in specs
        ],
        dropped=dropped,
        transformer=transformer,
    )


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a table (values and column names), for model version hashes.

    Independent of storage order: rows are sorted by customer_key (or every column) and columns
    by name first, so the same data read back in another order hashes the same. Floats are hashed
    at single precision (about 7 significant digits): a warehouse average over rows loaded in
    another order differs in its last bits (floating-point sums depend on their order), and that
    is the same data.
    """
    ordered = frame[sorted(frame.columns, key=str)]
    keys = ["customer_key"] if "customer_key" in ordered else list(ordered.columns)
    ordered = ordered.sort_values(keys, kind="mergesort", ignore_index=True)
    floats = ordered.select_dtypes("floating").columns
    ordered = ordered.astype(dict.fromkeys(floats, "float32"))
    digest = hashlib.sha256(",".join(map(str, ordered.columns)).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
