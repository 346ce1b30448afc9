"""Segment stability: bootstrap Jaccard per segment and run-to-run agreement.

Bootstrap stability follows Hennig's clusterboot (Hennig 2007, "Cluster-wise assessment of
cluster stability"): refit the clustering on bootstrap resamples, and for every original segment
take the best Jaccard overlap with any refitted cluster on the resampled customers. A segment whose
mean Jaccard stays below 0.6 is not a pattern in the data but an artefact of one fit.

This is the one bootstrap: model selection scores its candidates with `bootstrap_jaccard` and
the blocking `segment_stability` check judges the published segments with `bootstrap_stability`
on top of it, both refitting with the selected algorithm's own fit (`selection.refit`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

FitPredict = Callable[[np.ndarray, int], np.ndarray]  # (rows, seed) -> labels
Refit = Callable[[np.ndarray, int], dict]  # (rows, seed) -> labels per reference labelling

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


def _key_order(n: int, keys: np.ndarray | None) -> np.ndarray:
    """Row positions in customer-key order, so storage order never changes a resample."""
    return np.arange(n) if keys is None else np.argsort(np.asarray(keys), kind="stable")


def bootstrap_jaccard(
    X: np.ndarray,
    reference: dict[Hashable, np.ndarray],
    refit: Refit,
    n_boot: int,
    seed: int,
) -> dict[Hashable, pd.DataFrame]:
    """Clusterboot rounds: per reference labelling, the best Jaccard of each cluster per round.

    Each round draws n rows with replacement (from `default_rng(seed + 1)`), refits on the
    distinct rows drawn (duplicates are the same customer) with round seed `seed + 100 + round`,
    and compares each reference cluster, restricted to those rows, with its best-matching refitted
    cluster. `refit(X, seed)` returns one labelling per key of `reference` (selection scores every
    k from one refit: Ward cuts one tree). Rows must already be in customer-key order. Returns per
    key a frame (clusters x rounds), NaN where a cluster was not drawn in that round.
    """
    rng = np.random.default_rng(seed + 1)
    n = len(X)
    scores = {
        key: pd.DataFrame(index=np.unique(labels), columns=range(n_boot), dtype=float)
        for key, labels in reference.items()
    }
    for round_ in range(n_boot):
        rows = np.unique(rng.choice(n, size=n, replace=True))
        refitted = refit(X[rows], seed + 100 + round_)
        for key, labels in reference.items():
            scores[key][round_] = best_jaccard(labels[rows], np.asarray(refitted[key]))
    return scores


def bootstrap_stability(
    X: np.ndarray,
    labels: np.ndarray,
    fit_predict: FitPredict,
    n_boot: int = 20,
    max_points: int | None = None,
    seed: int = 0,
    dissolved_below: float = 0.5,
    keys: np.ndarray | None = None,
) -> StabilityResult:
    """Clusterboot of one segmentation: refit `fit_predict(X, seed)` on bootstrap resamples.

    `labels` are the segments being judged (one per row of X), `keys` the customer key of each
    row (resamples are drawn over rows in key order). With `max_points`, a random subset of that
    many rows is used for every resample, which bounds runtime on large customer bases.
    `dissolved_share` is the share of resamples where the segment's best Jaccard is below
    `dissolved_below` (Hennig's "dissolved"). Model selection scores its candidates with the same
    rounds (`bootstrap_jaccard`), so for the same rows, labels, refit and seed both report the
    same figure.
    """
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    if len(X) != len(labels):
        raise ValueError(f"X has {len(X)} rows but labels has {len(labels)}")
    order = _key_order(len(X), keys)
    X, labels = X[order], labels[order]
    if max_points is not None and len(X) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), size=max_points, replace=False))
        X, labels = X[keep], labels[keep]
    scores = bootstrap_jaccard(X, {0: labels}, lambda Xr, s: {0: fit_predict(Xr, s)}, n_boot, seed)[
        0
    ]
    segments = scores.index.to_numpy()
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


def seeded_refit(centroids: np.ndarray) -> FitPredict:
    """k-means started from a kept model's centroids (one start), for the stability of a model
    that scores data newer than what it was trained on.

    A fresh fit on drifted data may settle in another local optimum than the one the model
    holds, which says "retraining would define the segments differently" (drift and the review
    say that), not that the published segments are no pattern. Started from the model's own
    centroids, each resample answers the gate's question: does this segment still hold together
    in today's data? A segment the data no longer supports still dissolves (its centroid wanders
    off or is absorbed), so the check keeps failing segments that are not there.
    """
    from sklearn.cluster import KMeans

    start = np.asarray(centroids, dtype=float)

    def fit_predict(X: np.ndarray, seed: int) -> np.ndarray:
        return KMeans(len(start), init=start, n_init=1, random_state=seed).fit_predict(X)

    return fit_predict


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


def stability_verdict(result: StabilityResult, names: dict[str, str] | None = None) -> str:
    """One sentence for the console: which segments reproduce poorly, by how much, what to do."""
    names = names or {}
    weak = result.per_segment[result.per_segment["status"] != "pass"].sort_values("mean_jaccard")
    if weak.empty:
        return f"every segment reproduces (min mean Jaccard {result.min_jaccard:.2f})"
    parts = [
        f"{row.segment_id}{' ' + repr(names[row.segment_id]) if row.segment_id in names else ''}"
        f" mean Jaccard {row.mean_jaccard:.2f} ({row.status})"
        for row in weak.itertuples()
    ]
    advice = (
        "Publishing is held. Retrain with fewer segments (selection.k_max), more customers or "
        "other features; the selection table in segment_model's metadata shows each k's stability."
        if result.status == "fail"
        else "Membership of these segments is not to be trusted in detail."
    )
    return (
        f"{', '.join(parts)}: below {JACCARD_FAIL} fails, below {JACCARD_WARN} warns "
        f"(Hennig 2007). {advice}"
    )
