"""Segment stability: bootstrap Jaccard per segment and run-to-run agreement.

Bootstrap stability follows Hennig's clusterboot (Hennig 2007, "Cluster-wise assessment of
cluster stability"): refit the clustering on bootstrap resamples, and for every original segment
take the best Jaccard overlap with any refitted cluster on the resampled customers. A segment whose
mean Jaccard stays below 0.6 is not a pattern in the data but an artefact of one fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

FitPredict = Callable[[np.ndarray], np.ndarray]

JACCARD_FAIL = 0.6  # Hennig: below ~0.6 a cluster does not reproduce
JACCARD_WARN = 0.75  # 0.6-0.75: some pattern, but membership is not to be trusted in detail
AGREEMENT_WARN = 0.8


def stability_status(
    jaccard: float, fail_below: float = JACCARD_FAIL, warn_below: float = JACCARD_WARN
) -> str:
    """'fail' / 'warn' / 'pass' for a mean Jaccard (NaN counts as fail: nothing to reproduce)."""
    if not np.isfinite(jaccard) or jaccard < fail_below:
        return "fail"
    return "warn" if jaccard < warn_below else "pass"


def worst_status(statuses: list[str] | pd.Series) -> str:
    order = {"pass": 0, "warn": 1, "fail": 2}
    return max(statuses, key=order.__getitem__, default="pass")


@dataclass
class StabilityResult:
    """Bootstrap stability: one row per original segment plus the overall verdict."""

    per_segment: (
        pd.DataFrame
    )  # segment_id, size, mean_jaccard, min_jaccard, dissolved_share, status
    n_boot: int
    n_points: int
    status: str = field(init=False)
    min_jaccard: float = field(init=False)
    mean_jaccard: float = field(init=False)

    def __post_init__(self) -> None:
        self.status = worst_status(list(self.per_segment["status"]))
        self.min_jaccard = float(self.per_segment["mean_jaccard"].min())
        self.mean_jaccard = float(self.per_segment["mean_jaccard"].mean())


def _contingency(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of (a, b) label pairs as a dense matrix, with the distinct labels of each side."""
    a_values, a_idx = np.unique(a, return_inverse=True)
    b_values, b_idx = np.unique(b, return_inverse=True)
    counts = np.zeros((len(a_values), len(b_values)), dtype=np.int64)
    np.add.at(counts, (a_idx, b_idx), 1)
    return counts, a_values, b_values


def best_jaccard(original: np.ndarray, refitted: np.ndarray) -> pd.Series:
    """For each original label, the max Jaccard with any refitted cluster on the same points."""
    counts, a_values, _ = _contingency(original, refitted)
    sizes_a = counts.sum(axis=1, keepdims=True)
    sizes_b = counts.sum(axis=0, keepdims=True)
    jaccard = counts / (sizes_a + sizes_b - counts)
    return pd.Series(jaccard.max(axis=1), index=a_values)


def bootstrap_stability(
    X: np.ndarray,
    labels: np.ndarray,
    fit_predict: FitPredict,
    n_boot: int = 20,
    max_points: int | None = None,
    seed: int = 0,
    dissolved_below: float = 0.5,
) -> StabilityResult:
    """Clusterboot: refit `fit_predict` on bootstrap resamples and score each segment by Jaccard.

    `labels` are the segments being judged (one per row of X). With `max_points`, a random subset
    of that many rows is used for every resample, which bounds runtime on large customer bases.
    `dissolved_share` is the share of resamples where the segment's best Jaccard is below
    `dissolved_below` (Hennig's "dissolved").
    """
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    if len(X) != len(labels):
        raise ValueError(f"X has {len(X)} rows but labels has {len(labels)}")
    rng = np.random.default_rng(seed)
    if max_points is not None and len(X) > max_points:
        keep = rng.choice(len(X), size=max_points, replace=False)
        X, labels = X[keep], labels[keep]
    segments = np.unique(labels)
    scores = pd.DataFrame(index=segments, columns=range(n_boot), dtype=float)
    for b in range(n_boot):
        draw = rng.integers(0, len(X), size=len(X))
        refitted = np.asarray(fit_predict(X[draw]))
        # Duplicated draws are the same customer: compare on the distinct customers drawn.
        unique_rows, first = np.unique(draw, return_index=True)
        scores[b] = best_jaccard(labels[unique_rows], refitted[first])
    per_segment = pd.DataFrame(
        {
            "segment_id": segments,
            "size": pd.Series(labels).value_counts().reindex(segments).to_numpy(),
            "mean_jaccard": scores.mean(axis=1).to_numpy(),
            "min_jaccard": scores.min(axis=1).to_numpy(),
            "dissolved_share": (scores < dissolved_below).mean(axis=1).to_numpy(),
        }
    )
    per_segment["status"] = per_segment["mean_jaccard"].map(stability_status)
    return StabilityResult(per_segment=per_segment, n_boot=n_boot, n_points=len(X))


def match_labels(previous: np.ndarray, current: np.ndarray) -> dict:
    """Map current labels to previous ones by maximum overlap (Hungarian assignment).

    Current labels left without a partner (more segments than before) keep their own value.
    """
    counts, prev_values, curr_values = _contingency(np.asarray(previous), np.asarray(current))
    rows, cols = linear_sum_assignment(-counts)
    mapping = {curr_values[c]: prev_values[r] for r, c in zip(rows, cols, strict=True)}
    return {c: mapping.get(c, c) for c in curr_values}


@dataclass
class RunAgreement:
    """How far two runs agree on the customers they share."""

    ari: float
    ami: float
    common_customers: int
    changed_share: float  # customers in a different segment after label matching
    label_mapping: dict
    warn_below: float = AGREEMENT_WARN

    @property
    def status(self) -> str:
        return "warn" if min(self.ari, self.ami) < self.warn_below else "pass"


def run_agreement(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    key: str = "customer_key",
    segment: str = "segment_id",
    warn_below: float = AGREEMENT_WARN,
) -> RunAgreement:
    """ARI/AMI between two runs' assignments and the share of customers who changed segment."""
    joined = previous[[key, segment]].merge(
        current[[key, segment]], on=key, suffixes=("_prev", "_curr")
    )
    if joined.empty:
        return RunAgreement(float("nan"), float("nan"), 0, float("nan"), {}, warn_below)
    prev = joined[f"{segment}_prev"].to_numpy()
    curr = joined[f"{segment}_curr"].to_numpy()
    mapping = match_labels(prev, curr)
    matched = np.array([mapping[c] for c in curr], dtype=prev.dtype)
    return RunAgreement(
        ari=float(adjusted_rand_score(prev, curr)),
        ami=float(adjusted_mutual_info_score(prev, curr)),
        common_customers=len(joined),
        changed_share=float(np.mean(matched != prev)),
        label_mapping=mapping,
        warn_below=warn_below,
    )
