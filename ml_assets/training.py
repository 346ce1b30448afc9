"""Training the segment model, pure: the attribute tables, governance exclusions and consent mask
in; the fitted model with its version, the tables the segmentation publishes about it and its
charts out. The `segment_model` asset reads the inputs, calls `train` and writes the outputs.

Governance is enforced here, not only reported: prohibited, protected, proxy and unclassified
attributes (`excluded`) never reach the model, nor do customers without analytics consent when
the data has behaviour to cluster on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml_assets import plots
from ml_assets.assignment import UNSEGMENTED_NAME, SegmentModel, train_segment_model
from ml_assets.features import FeatureConfig, frame_fingerprint
from ml_assets.hierarchy import UNSEGMENTED
from ml_assets.selection import SelectionConfig


def version_hash(*parts: Any) -> str:
    """A short, stable hash of the inputs that determine a model (data, features, config)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
    return digest.hexdigest()[:12]


def behavioural(names: list[str], catalog: pd.DataFrame) -> list[str]:
    """The attributes among `names` that describe behaviour (the ones consent protects)."""
    behaviour = set(catalog.loc[catalog["behavioural"], "attribute_name"])
    return [name for name in names if name in behaviour]


def informative(attributes: pd.DataFrame, names: list[str]) -> list[str]:
    """Attributes that vary in this data: an absent source's columns carry no behaviour at all."""
    return [n for n in names if n in attributes and attributes[n].nunique(dropna=True) > 1]


def candidate_attributes(catalog: pd.DataFrame, excluded: dict[str, str]) -> list[str]:
    """Catalog attributes the policy allows for segmentation, minus the excluded ones."""
    allowed = catalog.loc[catalog["segmentation_policy"] == "allowed", "attribute_name"]
    return [name for name in allowed if name not in excluded]


def consent_applies(
    attributes: pd.DataFrame, catalog: pd.DataFrame, excluded: dict[str, str]
) -> bool:
    """Whether customers without analytics consent must be left out of training.

    Consent protects behavioural attributes: when the data has any to cluster on, the gate
    applies; data without behaviour (e.g. invoices only) is not gated, so a business with no
    product tracking or consent ledger can still segment on value.
    """
    candidates = candidate_attributes(catalog, excluded)
    return bool(informative(attributes, behavioural(candidates, catalog)))


def feature_table(model: SegmentModel) -> pd.DataFrame:
    """segmentation.feature_matrix_columns: every attribute, used or not and why; a used one
    names the near-duplicates it represents (`represents`), each of those says whose it is."""
    used = pd.DataFrame(model.chosen, columns=["attribute", "transform", "group", "represents"])
    used = used.assign(used=True, reason="")
    dropped = pd.DataFrame(model.dropped, columns=["attribute", "reason"]).assign(
        used=False, transform="", represents=""
    )
    if model.catalog is not None:
        groups = dict(
            zip(model.catalog["attribute_name"], model.catalog["attribute_group"], strict=False)
        )
        dropped["group"] = dropped["attribute"].map(groups).fillna("")
    table = pd.concat([used, dropped], ignore_index=True).fillna({"group": "", "represents": ""})
    columns = ["attribute", "used", "group", "transform", "represents", "reason"]
    return table[columns].assign(model_version=model.version)


def segment_summary(model: SegmentModel) -> pd.DataFrame:
    """One row per segment: id, name, parent, training customers and match status (and a row
    for the unsegmented customers of a density model)."""
    counts = model.membership.value_counts()
    ids = [*model.segment_ids, *([UNSEGMENTED] if UNSEGMENTED in counts.index else [])]
    parents = [model.parent_of(s) for s in ids]
    return pd.DataFrame(
        {
            "segment_id": ids,
            "name": [model.names.get(s, UNSEGMENTED_NAME) for s in ids],
            "parent_segment_id": [p[0] for p in parents],
            "parent_segment_name": [p[1] for p in parents],
            "customers": counts.reindex(ids).fillna(0).astype(int).to_numpy(),
            "status": [model.status.get(s, "unsegmented") for s in ids],
        }
    )


def charts(model: SegmentModel, attributes: pd.DataFrame) -> dict[str, bytes]:
    """PNG charts of the trained model: segment sizes, a PCA projection, the lift heat map."""
    sizes = model.membership.value_counts().reindex(model.segment_ids)
    labelled = sizes.rename(index=lambda s: f"{s} {model.names[s]}")
    membership = model.membership[model.membership.isin(model.segment_ids)]  # not unsegmented
    trained = attributes.set_index("customer_key", drop=False).loc[membership.index]
    X = model.transformer.transform(trained)
    labels = pd.Series(range(model.k), index=model.segment_ids)[membership.to_numpy()].to_numpy()
    images = {
        "segment_sizes": plots.segment_size_chart(labelled),
        "projection": plots.pca_projection(X, labels, [model.names[s] for s in model.segment_ids]),
    }
    if model.stats is not None and not model.stats.empty:
        images["lift_heatmap"] = plots.lift_heatmap(model.stats, model.names)
    return images


@dataclass
class TrainingResult:
    """A trained, versioned model and what the segmentation publishes about it."""

    model: SegmentModel
    selection: pd.DataFrame  # segmentation.model_selection
    features: pd.DataFrame  # segmentation.feature_matrix_columns
    segments: pd.DataFrame  # segment_summary
    images: dict[str, bytes] = field(default_factory=dict)  # PNG charts by metadata key

    @property
    def dissolved(self) -> list[str]:
        return sorted(s for s, st in self.model.status.items() if st == "dissolved")


def train(
    attributes: pd.DataFrame,
    catalog: pd.DataFrame,
    quality: pd.DataFrame | None,
    feature_config: FeatureConfig,
    selection_config: SelectionConfig,
    *,
    excluded: dict[str, str],
    consent_mask: pd.Series | None,
    previous: SegmentModel | None = None,
    name_overrides: dict[str, str] | None = None,
    config_fingerprint: Any = None,
    keep_structure: bool = False,
) -> TrainingResult:
    """Catalog -> exclusions -> consent -> features -> selection -> version -> tables and charts.

    `consent_mask` is a row mask over `attributes` (customers with analytics consent), applied
    when `consent_applies`; `config_fingerprint` (the run config as a dict) goes into the version
    hash with the data and the features. `keep_structure` (a scheduled retrain) starts from
    `previous`'s segments (ml_assets.selection: incumbent). The version also hashes the training
    customers' segments, so it names the trained model: same data and config give the same
    version, and a retrain that starts from another model and ends elsewhere gets another one.
    Raises `NoClusterStructure` (with the selection table) when the data has no segments worth
    naming.
    """
    gated = consent_mask if consent_applies(attributes, catalog, excluded) else None
    model = train_segment_model(
        attributes,
        catalog,
        quality,
        feature_config,
        selection_config,
        previous=previous,
        name_overrides=name_overrides,
        excluded=excluded,
        row_mask=gated,
        keep_structure=keep_structure,
    )
    model.version = version_hash(
        frame_fingerprint(attributes),
        model.feature_names,
        config_fingerprint,
        frame_fingerprint(model.membership.rename("segment_id").reset_index()),
    )
    return TrainingResult(
        model=model,
        selection=model.selection.assign(model_version=model.version),
        features=feature_table(model),
        segments=segment_summary(model),
        images=charts(model, attributes),
    )
