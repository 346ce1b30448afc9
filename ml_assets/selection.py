"""Automatic model selection: which algorithm and how many segments, or none at all.

Every candidate (k-means, Gaussian mixture, Ward hierarchical; k = k_min..k_max) is fitted on a
fixed-seed sample and scored by silhouette (on a sub-sample), Calinski-Harabasz, Davies-Bouldin,
bootstrap stability and the smallest segment's share. The chosen model is the candidate of the
configured algorithm with the best silhouette among those that are stable and have no tiny
segment; it is then fitted on (or extended to) all customers.

Ward is computed with scipy's `linkage(method="ward")` (what sklearn's AgglomerativeClustering
runs underneath) so one tree per sample is cut at every k instead of re-clustering per k.

When no candidate clears the published cut-offs the data has no cluster structure and
`NoClusterStructure` is raised instead of inventing segments:

- stability: Hennig (2007), "Cluster-wise assessment of cluster stability", Computational
  Statistics & Data Analysis 52: a cluster with mean bootstrap Jaccard >= 0.75 is stable,
  <= 0.5 is "dissolved" (clusterboot in R's fpc package).
- silhouette: Kaufman & Rousseeuw (1990), "Finding Groups in Data": an average silhouette
  below 0.25 means no substantial structure; 0.25-0.5 is weak, 0.5-0.7 reasonable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from ml_assets.monitoring.stability import FitPredict, bootstrap_jaccard

ALGORITHMS = ("kmeans", "gmm", "ward")
STABILITY_REFERENCE = "Hennig 2007 (clusterboot): Jaccard >= 0.75 stable, <= 0.5 dissolved"
SILHOUETTE_REFERENCE = "Kaufman & Rousseeuw 1990: silhouette < 0.25 no substantial structure"


def _knob(default, description: str):
    """A field the launchpad edits: its default and description live here, once."""
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class SelectionConfig:
    """What is compared and the cut-offs a candidate must clear."""

    algorithm: str = _knob(
        "kmeans", "Algorithm of the chosen model: kmeans, gmm, ward, or auto (best of all)."
    )
    candidates: tuple[str, ...] = _knob(
        ALGORITHMS, "Algorithms scored side by side in the selection table."
    )
    k_min: int = _knob(3, "Smallest number of segments considered.")
    k_max: int = _knob(8, "Largest number of segments considered.")
    seed: int = _knob(42, "Random seed: same data and config give the same segments.")
    min_segment_share: float = _knob(
        0.02, "Candidates with a segment smaller than this share are rejected."
    )
    bootstrap_rounds: int = _knob(
        20, "Bootstrap resamples for the stability (mean Jaccard) of each candidate."
    )
    stability_cutoff: float = _knob(
        0.75, "Min. mean bootstrap Jaccard (Hennig 2007: >= 0.75 stable, <= 0.5 dissolves)."
    )
    silhouette_cutoff: float = _knob(
        0.25, "Minimum silhouette (Kaufman & Rousseeuw: < 0.25 is no substantial structure)."
    )
    sample_size: int = _knob(
        20_000, "Customers sampled to fit and score candidates; all are assigned."
    )
    silhouette_sample_size: int = _knob(5_000, "Customers the silhouette is computed on.")
    bootstrap_sample_size: int = _knob(2_000, "Customers re-clustered in each bootstrap round.")
    ward_sample_size: int = _knob(
        5_000, "Customers Ward clustering sees (its memory grows with n squared)."
    )
    kmeans_n_init: int = 4  # k-means restarts per fit (selection and the stability check)


class NoClusterStructure(Exception):
    """The data has no segments worth acting on; carries the selection table as evidence."""

    def __init__(self, message: str, table: pd.DataFrame):
        super().__init__(message)
        self.table = table


@dataclass
class ClusterModel:
    """The chosen clustering: its centroids in feature space and every customer's label."""

    algorithm: str
    k: int
    centroids: np.ndarray
    labels: np.ndarray  # one per row of the full matrix, 0..k-1
    selection: pd.DataFrame
    config: SelectionConfig


def _sample_index(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _gmm(k: int, seed: int) -> GaussianMixture:
    # Diagonal covariances: robust-scaled features are near-independent and it is k*d, not k*d^2.
    return GaussianMixture(
        n_components=k, covariance_type="diag", random_state=seed, reg_covar=1e-4
    )


def _fit_labels(
    algorithm: str, X: np.ndarray, k: int, seed: int, config: SelectionConfig
) -> np.ndarray:
    if algorithm == "kmeans":
        return KMeans(n_clusters=k, n_init=config.kmeans_n_init, random_state=seed).fit_predict(X)
    if algorithm == "gmm":
        return _gmm(k, seed).fit(X).predict(X)
    if algorithm == "ward":
        return _ward_labels(linkage(X, method="ward"), k)
    raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")


def _ward_labels(tree: np.ndarray, k: int) -> np.ndarray:
    return fcluster(tree, t=k, criterion="maxclust") - 1


def _labels_for_all_k(
    algorithm: str, X: np.ndarray, ks: list[int], seed: int, config: SelectionConfig
):
    """Labels per k; Ward builds its tree once and cuts it at every k."""
    if algorithm == "ward":
        tree = linkage(X, method="ward")
        return {k: _ward_labels(tree, k) for k in ks}
    return {k: _fit_labels(algorithm, X, k, seed, config) for k in ks}


def refit(algorithm: str, k: int, config: SelectionConfig) -> FitPredict:
    """The algorithm's own fit with k segments, as selection runs it (same n_init, seeded)."""
    return lambda X, seed: _fit_labels(algorithm, X, k, seed, config)


def bootstrap_stability(
    algorithm: str, X: np.ndarray, reference: dict[int, np.ndarray], config: SelectionConfig
) -> dict[int, np.ndarray]:
    """Hennig's clusterboot: mean Jaccard per cluster over B resamples, for every k at once.

    The rounds are `stability.bootstrap_jaccard`, the same the segment_stability check runs; X is
    in customer-key order (the feature matrix is sorted by key).
    """
    ks = sorted(reference)
    scores = bootstrap_jaccard(
        X,
        reference,
        lambda rows, seed: _labels_for_all_k(algorithm, rows, ks, seed, config),
        config.bootstrap_rounds,
        config.seed,
    )
    # A cluster never drawn scores 0: nothing of it reproduced.
    return {
        k: np.nan_to_num(scores[k].reindex(range(k)).mean(axis=1).to_numpy(), nan=0.0) for k in ks
    }


def score_candidates(X: np.ndarray, config: SelectionConfig) -> tuple[pd.DataFrame, dict]:
    """The selection table (one row per algorithm and k) and the sample labels of each candidate."""
    rng = np.random.default_rng(config.seed)
    ks = list(range(config.k_min, config.k_max + 1))
    sample = _sample_index(len(X), config.sample_size, rng)
    sil_rows = _sample_index(len(sample), config.silhouette_sample_size, rng)
    boot_rows = _sample_index(len(sample), config.bootstrap_sample_size, rng)
    ward_rows = _sample_index(len(sample), config.ward_sample_size, rng)

    records = []
    fitted: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for algorithm in config.candidates:
        started = time.perf_counter()
        rows = sample[ward_rows] if algorithm == "ward" else sample
        Xs = X[rows]
        labels = _labels_for_all_k(algorithm, Xs, ks, config.seed, config)
        # Stability is measured on a smaller subsample: re-clustering B times is the costly part.
        boot_subset = np.isin(rows, sample[boot_rows])
        Xb = Xs[boot_subset]
        boot_ref = _labels_for_all_k(algorithm, Xb, ks, config.seed, config)
        stability = bootstrap_stability(algorithm, Xb, boot_ref, config)
        seconds = (time.perf_counter() - started) / len(ks)
        sil_subset = np.isin(rows, sample[sil_rows])
        for k in ks:
            lab = labels[k]
            n_found = len(np.unique(lab))
            shares = np.bincount(lab, minlength=k) / len(lab)
            scorable = n_found > 1
            records.append(
                {
                    "algorithm": algorithm,
                    "k": k,
                    "silhouette": float(silhouette_score(Xs[sil_subset], lab[sil_subset]))
                    if scorable and len(np.unique(lab[sil_subset])) > 1
                    else float("nan"),
                    "calinski_harabasz": float(calinski_harabasz_score(Xs, lab))
                    if scorable
                    else float("nan"),
                    "davies_bouldin": float(davies_bouldin_score(Xs, lab))
                    if scorable
                    else float("nan"),
                    "stability_mean": float(stability[k].mean()),
                    "stability_min": float(stability[k].min()),
                    "min_segment_share": float(shares.min()),
                    "rows_scored": len(rows),
                    "seconds_per_k": round(seconds, 3),
                }
            )
            fitted[(algorithm, k)] = (rows, lab)
    table = pd.DataFrame.from_records(records)
    table["eligible"] = (
        (table["stability_mean"] >= config.stability_cutoff)
        & (table["silhouette"] >= config.silhouette_cutoff)
        & (table["min_segment_share"] >= config.min_segment_share)
    )
    table["chosen"] = False
    return table, fitted


def _refusal_message(table: pd.DataFrame, config: SelectionConfig) -> str:
    best_sil = table.loc[table["silhouette"].fillna(-1).idxmax()]
    best_stab = table.loc[table["stability_mean"].idxmax()]
    return (
        "no cluster structure: no candidate is both stable and separated. "
        f"Best silhouette {best_sil['silhouette']:.3f} "
        f"({best_sil['algorithm']}, k={best_sil['k']}) "
        f"vs cut-off {config.silhouette_cutoff} [{SILHOUETTE_REFERENCE}]; "
        f"best bootstrap stability (mean Jaccard) {best_stab['stability_mean']:.3f} "
        f"({best_stab['algorithm']}, k={best_stab['k']}) vs cut-off {config.stability_cutoff} "
        f"[{STABILITY_REFERENCE}]; minimum segment share {config.min_segment_share}."
    )


def centroids_of(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels, X)
    counts = np.bincount(labels, minlength=k).reshape(-1, 1)
    return sums / np.maximum(counts, 1)


def nearest(X: np.ndarray, centroids: np.ndarray, batch: int = 100_000) -> np.ndarray:
    """Index of the nearest centroid per row, in batches so 1M rows stay light on memory."""
    out = np.empty(len(X), dtype=int)
    c_sq = (centroids**2).sum(axis=1)
    for start in range(0, len(X), batch):
        chunk = X[start : start + batch]
        d = c_sq[None, :] - 2.0 * chunk @ centroids.T
        out[start : start + batch] = d.argmin(axis=1)
    return out


def select_model(X: np.ndarray, config: SelectionConfig) -> ClusterModel:
    """Score all candidates, choose one and extend it to every row; raise NoClusterStructure."""
    if config.algorithm not in (*ALGORITHMS, "auto"):
        raise ValueError(f"unknown algorithm {config.algorithm!r}; expected {ALGORITHMS} or auto")
    candidates = config.candidates
    if config.algorithm != "auto" and config.algorithm not in candidates:
        candidates = (*candidates, config.algorithm)
    config = replace(config, candidates=tuple(candidates))
    if len(X) < config.k_max * 5 or X.shape[1] == 0:
        raise NoClusterStructure(
            f"no cluster structure: {len(X)} customers and {X.shape[1]} features are too few "
            f"to look for {config.k_min}-{config.k_max} segments",
            pd.DataFrame(),
        )
    # Many small fits: thread start-up and spinning cost more than they save (and on a shared
    # 2-core machine they fight each other), so scoring runs single-threaded.
    with threadpool_limits(limits=1):
        table, fitted = score_candidates(X, config)
    pool = table if config.algorithm == "auto" else table[table["algorithm"] == config.algorithm]
    eligible = pool[pool["eligible"]]
    if eligible.empty:
        raise NoClusterStructure(_refusal_message(pool, config), table)
    # Best silhouette; ties go to the more stable, then the simpler (smaller k) model.
    best = eligible.sort_values(
        ["silhouette", "stability_mean", "k"], ascending=[False, False, True]
    ).index[0]
    table.loc[best, "chosen"] = True
    algorithm, k = table.loc[best, "algorithm"], int(table.loc[best, "k"])
    rows, sample_labels = fitted[(algorithm, k)]
    centroids = centroids_of(X[rows], sample_labels, k)
    if algorithm == "kmeans":
        if len(rows) < len(X):
            # Refine on everyone, starting from the sample solution (one deterministic run).
            fit = KMeans(n_clusters=k, init=centroids, n_init=1, random_state=config.seed).fit(X)
            centroids = fit.cluster_centers_
        labels = nearest(X, centroids)
    elif algorithm == "gmm":
        labels = _gmm(k, config.seed).fit(X[rows]).predict(X)
    else:  # Ward cannot be extended, so the rest join their nearest Ward centroid
        labels = nearest(X, centroids)
        labels[rows] = sample_labels
    centroids = centroids_of(X, labels, k)
    # Number segments largest-first so the same partition always gets the same labels.
    counts = np.bincount(labels, minlength=k)
    order = np.lexsort((np.arange(k), -counts))
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return ClusterModel(
        algorithm=algorithm,
        k=k,
        centroids=centroids[order],
        labels=rank[labels],
        selection=table,
        config=config,
    )
