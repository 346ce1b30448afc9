"""Assigning customers to segments without refitting: nearest centroid in the fitted space.

Also home of the fitted `SegmentModel` artifact and `train_segment_model`, the pure pipeline
(features -> selection -> stable ids -> names -> assigner) the Dagster asset wraps.

With d1 and d2 the distances to the nearest and the second-nearest centroid in the fitted space,
the margin is (d2 - d1) / (d2 + d1): 0 on the boundary between two segments, towards 1 at a
centroid. It is scale-free, so one cut-off (anti-flapping's min_margin) means the same for every
model. The confidence is the softmax posterior over -distance / temperature, with the temperature
the spread (standard deviation) of the training rows' distances to their own centroid: a customer
one typical spread closer to its segment than to the next is e times likelier in it. (A Gaussian
posterior on squared distances saturates at 1 for nearly everyone once there are a few dozen
features.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ml_assets.features import FeatureConfig, FeatureTransformer, build_feature_matrix
from ml_assets.matching import PreviousSegments, match_segments
from ml_assets.naming import concept_scores, generate_names
from ml_assets.profiling import attribute_stats, top_traits
from ml_assets.selection import SelectionConfig, centroids_of, select_model


@dataclass
class SegmentAssigner:
    centroids: np.ndarray  # (k, features), row i is segment label i
    temperature: float  # spread (std) of the training rows' distances to their centroid

    def squared_distances(self, X: np.ndarray) -> np.ndarray:
        c_sq = (self.centroids**2).sum(axis=1)
        x_sq = (X**2).sum(axis=1)
        return np.maximum(x_sq[:, None] - 2.0 * X @ self.centroids.T + c_sq[None, :], 0.0)

    def assign(
        self, X: np.ndarray, batch: int = 100_000
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Label, confidence and margin per row (batched to bound memory on large tables)."""
        labels = np.empty(len(X), dtype=int)
        confidence = np.empty(len(X))
        margin = np.empty(len(X))
        for start in range(0, len(X), batch):
            d = np.sqrt(self.squared_distances(X[start : start + batch]))
            part = slice(start, start + len(d))
            labels[part] = d.argmin(axis=1)
            posterior = np.exp(-(d - d.min(axis=1, keepdims=True)) / self.temperature)
            confidence[part] = 1.0 / posterior.sum(axis=1)  # the nearest has posterior weight 1
            if d.shape[1] > 1:
                nearest_two = np.sort(d, axis=1)[:, :2]
                total = nearest_two.sum(axis=1)
                gap = nearest_two[:, 1] - nearest_two[:, 0]
                margin[part] = np.divide(gap, total, out=np.ones_like(gap), where=total > 0)
            else:
                margin[part] = 1.0
        return labels, confidence, margin


def fit_assigner(
    X: np.ndarray, labels: np.ndarray, centroids: np.ndarray | None = None
) -> SegmentAssigner:
    """Centroids (given, or the label means) and the within-segment spread of the training rows."""
    k = int(labels.max()) + 1 if centroids is None else len(centroids)
    centroids = centroids_of(X, labels, k) if centroids is None else centroids
    within = np.sqrt(((X - centroids[labels]) ** 2).sum(axis=1)).std() if len(X) > 1 else 1.0
    return SegmentAssigner(centroids=centroids, temperature=max(float(within), 1e-9))


def holdout_accuracy(
    X: np.ndarray, labels: np.ndarray, seed: int, test_share: float = 0.2
) -> float:
    """Share of held-out customers the assigner, fitted on the others, puts in their own segment."""
    rng = np.random.default_rng(seed)
    test = rng.random(len(X)) < test_share
    if test.sum() == 0 or (~test).sum() == 0:
        return float("nan")
    k = int(labels.max()) + 1
    assigner = fit_assigner(X[~test], labels[~test], centroids_of(X[~test], labels[~test], k))
    predicted, _, _ = assigner.assign(X[test])
    return float((predicted == labels[test]).mean())


@dataclass
class SegmentModel:
    """The fitted artifact: feature transform, assigner, stable ids and names, and its lineage."""

    transformer: FeatureTransformer
    assigner: SegmentAssigner
    segment_ids: list[str]  # segment id of each cluster label
    names: dict[str, str]  # segment_id -> name
    status: dict[str, str]  # segment_id -> matched | new | dissolved
    known_ids: list[str]
    algorithm: str
    chosen: list[dict]
    dropped: list[dict]
    selection: pd.DataFrame
    membership: pd.Series  # customer_key -> segment_id of the training customers
    holdout_accuracy: float
    match_method: str
    concepts: dict[str, dict[str, float]] = field(default_factory=dict)
    traits: dict[str, list[dict]] = field(default_factory=dict)
    catalog: pd.DataFrame | None = None  # the attribute catalog the model was trained with
    stats: pd.DataFrame | None = None  # profiling.attribute_stats of the training customers
    version: str = ""
    # How the model was selected; the stability check refits the same way (None: older artifact).
    selection_config: SelectionConfig | None = None
    # When it was trained and from what (lifecycle.training_signature): when to retrain.
    trained_at: datetime | None = None
    training_signature: str | None = None

    @property
    def feature_names(self) -> list[str]:
        return self.transformer.feature_names

    @property
    def k(self) -> int:
        return len(self.segment_ids)

    def centroid_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.assigner.centroids, index=self.segment_ids, columns=self.feature_names
        )

    def as_previous(self) -> PreviousSegments:
        """What the next retrain needs to keep this model's ids and names."""
        return PreviousSegments(
            membership=self.membership,
            centroids=self.centroid_frame(),
            names=dict(self.names),
            known_ids=list(self.known_ids),
        )

    def assign(self, attributes: pd.DataFrame) -> pd.DataFrame:
        """customer_key, segment_id, segment_name, confidence, margin, model_version per row."""
        labels, confidence, margin = self.assigner.assign(self.transformer.transform(attributes))
        ids = np.asarray(self.segment_ids, dtype=object)[labels]
        return pd.DataFrame(
            {
                "customer_key": attributes["customer_key"].to_numpy(),
                "segment_id": ids,
                "segment_name": [self.names[i] for i in ids],
                "confidence": confidence.round(4),
                "margin": margin.round(4),
                "model_version": self.version,
            }
        )


def train_segment_model(
    attributes: pd.DataFrame,
    catalog: pd.DataFrame,
    quality: pd.DataFrame | None,
    feature_config: FeatureConfig,
    selection_config: SelectionConfig,
    previous: SegmentModel | None = None,
    name_overrides: dict[str, str] | None = None,
    excluded: dict[str, str] | None = None,
    row_mask: pd.Series | None = None,
) -> SegmentModel:
    """Features -> model selection -> stable ids -> traits and names -> assigner.

    Raises `NoClusterStructure` when the data has no segments worth naming.
    """
    fm = build_feature_matrix(attributes, catalog, quality, feature_config, excluded, row_mask)
    clusters = select_model(fm.X, selection_config)
    match = match_segments(
        fm.customer_keys,
        clusters.labels,
        clusters.centroids,
        fm.feature_names,
        previous.as_previous() if previous is not None else None,
    )
    ids = np.asarray(match.segment_ids, dtype=object)[clusters.labels]
    rows = attributes.set_index("customer_key", drop=False).loc[fm.customer_keys]
    stats = attribute_stats(rows, pd.Series(ids, index=rows.index), catalog)
    concepts = (
        concept_scores(stats, catalog) if not stats.empty else {i: {} for i in match.segment_ids}
    )
    traits = top_traits(stats) if not stats.empty else {}
    fixed = {
        **match.names,
        **{k: v for k, v in (name_overrides or {}).items() if k in match.status},
    }
    names = generate_names(concepts, traits, fixed)
    return SegmentModel(
        transformer=fm.transformer,
        assigner=fit_assigner(fm.X, clusters.labels, clusters.centroids),
        segment_ids=match.segment_ids,
        names=names,
        status=match.status,
        known_ids=match.known_ids,
        algorithm=clusters.algorithm,
        chosen=fm.chosen,
        dropped=fm.dropped,
        selection=clusters.selection,
        membership=pd.Series(ids, index=pd.Index(fm.customer_keys, name="customer_key")),
        holdout_accuracy=holdout_accuracy(fm.X, clusters.labels, selection_config.seed),
        match_method=match.method,
        concepts=concepts,
        traits=traits,
        catalog=catalog,
        stats=stats,
        selection_config=clusters.config,
    )
