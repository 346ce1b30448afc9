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

A density model (HDBSCAN) keeps its fitted sample: each customer takes the label of the nearest
sampled customer, and whose nearest is noise is "unsegmented" (confidence and margin 0). Every
model also carries the parent level (ml_assets.hierarchy): each segment's macro segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ml_assets.features import FeatureConfig, FeatureTransformer, build_feature_matrix
from ml_assets.hierarchy import UNSEGMENTED, parent_level
from ml_assets.matching import PreviousSegments, match_segments
from ml_assets.naming import concept_scores, generate_names
from ml_assets.profiling import attribute_stats, top_traits
from ml_assets.selection import (
    NOISE,
    SelectionConfig,
    centroids_of,
    nearest_sampled,
    select_model,
)

UNSEGMENTED_NAME = "Unsegmented"


@dataclass
class SegmentAssigner:
    centroids: np.ndarray  # (k, features), row i is segment label i
    temperature: float  # spread (std) of the training rows' distances to their centroid
    # Density models: sampled rows and their labels (NOISE included); labels come from the
    # nearest of them instead of the nearest centroid.
    reference: tuple[np.ndarray, np.ndarray] | None = None

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
        if getattr(self, "reference", None) is not None:
            labels = nearest_sampled(X, *self.reference)
            noise = labels == NOISE
            confidence[noise], margin[noise] = 0.0, 0.0
        return labels, confidence, margin


def fit_assigner(
    X: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray | None = None,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
) -> SegmentAssigner:
    """Centroids (given, or the label means) and the within-segment spread of the training rows
    (unsegmented rows left out); `reference` is a density model's labelled sample."""
    X, labels = X[labels != NOISE], labels[labels != NOISE]
    k = int(labels.max()) + 1 if centroids is None else len(centroids)
    centroids = centroids_of(X, labels, k) if centroids is None else centroids
    within = np.sqrt(((X - centroids[labels]) ** 2).sum(axis=1)).std() if len(X) > 1 else 1.0
    return SegmentAssigner(
        centroids=centroids, temperature=max(float(within), 1e-9), reference=reference
    )


def holdout_accuracy(
    X: np.ndarray, labels: np.ndarray, seed: int, test_share: float = 0.2
) -> float:
    """Share of held-out customers the assigner, fitted on the others, puts in their own segment."""
    X, labels = X[labels != NOISE], labels[labels != NOISE]
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
    # The parent level: segment_id -> parent id, and parent id -> name (ml_assets.hierarchy).
    parents: dict[str, str] = field(default_factory=dict)
    parent_names: dict[str, str] = field(default_factory=dict)

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
            membership=self.membership[self.membership != UNSEGMENTED],
            centroids=self.centroid_frame(),
            names=dict(self.names),
            known_ids=list(self.known_ids),
        )

    def parent_of(self, segment_id: str) -> tuple[str | None, str | None]:
        """(parent id, parent name) of a segment; unsegmented customers have no parent segment."""
        parents = getattr(self, "parents", {})  # artifacts stored before the parent level
        if segment_id == UNSEGMENTED:
            return UNSEGMENTED, UNSEGMENTED_NAME
        parent = parents.get(segment_id)
        return parent, getattr(self, "parent_names", {}).get(parent)

    def assign(self, attributes: pd.DataFrame) -> pd.DataFrame:
        """customer_key, segment_id, segment_name, parent_segment_id, parent_segment_name,
        confidence, margin, model_version per row ("unsegmented" where a density model finds
        no segment)."""
        labels, confidence, margin = self.assigner.assign(self.transformer.transform(attributes))
        ids = np.asarray([*self.segment_ids, UNSEGMENTED], dtype=object)[labels]  # NOISE: last
        parents = [self.parent_of(i) for i in ids]
        return pd.DataFrame(
            {
                "customer_key": attributes["customer_key"].to_numpy(),
                "segment_id": ids,
                "segment_name": [self.names.get(i, UNSEGMENTED_NAME) for i in ids],
                "parent_segment_id": [p[0] for p in parents],
                "parent_segment_name": [p[1] for p in parents],
                "confidence": confidence.round(4),
                "margin": margin.round(4),
                "model_version": self.version,
            }
        )


def name_parents(
    rows: pd.DataFrame, ids: np.ndarray, parents: dict[str, str], catalog: pd.DataFrame
) -> dict[str, str]:
    """Parent id -> name, generated from the traits of the parent's customers like a segment's."""
    parent_ids = pd.Series([parents.get(i, UNSEGMENTED) for i in ids], index=rows.index)
    keep = parent_ids != UNSEGMENTED
    stats = attribute_stats(rows[keep], parent_ids[keep], catalog)
    if stats.empty:
        return {p: p for p in sorted(set(parents.values()))}
    return generate_names(concept_scores(stats, catalog), top_traits(stats))


def incumbent_labels(previous: SegmentModel | None, rows: pd.DataFrame) -> np.ndarray | None:
    """Each row's segment under the stored model (its assigner's labels, NOISE where none), or
    None when there is no model or it needs attributes these rows lack (its features changed)."""
    if previous is None or not set(previous.transformer.attributes) <= set(rows.columns):
        return None
    labels, _, _ = previous.assigner.assign(
        previous.transformer.transform(rows.reset_index(drop=True))
    )
    return labels


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
    keep_structure: bool = False,
) -> SegmentModel:
    """Features -> model selection -> stable ids -> traits and names -> assigner.

    `keep_structure` (a scheduled retrain): selection is given `previous`'s segment per customer
    as its incumbent, so the retrain keeps the segments unless the data clearly asks otherwise.
    Raises `NoClusterStructure` when the data has no segments worth naming.
    """
    fm = build_feature_matrix(attributes, catalog, quality, feature_config, excluded, row_mask)
    rows = attributes.set_index("customer_key", drop=False).loc[fm.customer_keys]
    incumbent = incumbent_labels(previous, rows) if keep_structure else None
    clusters = select_model(fm.X, selection_config, incumbent)
    segmented = clusters.segmented  # all but a density model's noise
    match = match_segments(
        fm.customer_keys[segmented],
        clusters.labels[segmented],
        clusters.centroids,
        fm.feature_names,
        previous.as_previous() if previous is not None else None,
    )
    ids = np.asarray([*match.segment_ids, UNSEGMENTED], dtype=object)[clusters.labels]
    stats = attribute_stats(rows[segmented], pd.Series(ids, index=rows.index)[segmented], catalog)
    concepts = (
        concept_scores(stats, catalog) if not stats.empty else {i: {} for i in match.segment_ids}
    )
    traits = top_traits(stats) if not stats.empty else {}
    fixed = {
        **match.names,
        **{k: v for k, v in (name_overrides or {}).items() if k in match.status},
    }
    names = generate_names(concepts, traits, fixed)
    sizes = np.bincount(clusters.labels[segmented], minlength=clusters.k)
    parents = parent_level(
        match.segment_ids, clusters.centroids, sizes, selection_config.parent_segments
    )
    return SegmentModel(
        transformer=fm.transformer,
        assigner=fit_assigner(fm.X, clusters.labels, clusters.centroids, clusters.reference),
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
        parents=parents,
        parent_names=name_parents(rows, ids, parents, catalog),
    )
