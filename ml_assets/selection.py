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
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

ALGORITHMS = ("kmeans", "gmm", "ward")
STABILITY_REFERENCE = "Hennig 2007 (clusterboot): Jaccard >= 0.75 stable, <= 0.5 dissolved"
SILHOUETTE_REFERENCE = "Kaufman & Rousseeuw 1990: silhouette < 0.25 no substantial structure"


@dataclass(frozen=True)
class SelectionConfig:
    """What is compared and the cut-offs a candidate must clear."""

    algorithm: str = "kmeans"  # kmeans | gmm | ward | auto (best over all algorithms)
    candidates: tuple[str, ...] = ALGORITHMS  # algorithms scored in the selection table
    k_min: int = 3
    k_max: int = 8
    seed: int = 42
    min_segment_share: float = 0.02
    bootstrap_rounds: int = 20
    stability_cutoff: float = 0.75
    silhouette_cutoff: float = 0.25
    sample_size: int = 20_000  # rows candidates are fitted and scored on
    silhouette_sample_size: int = 5_000
    bootstrap_sample_size: int = 2_000  # rows each bootstrap round re-clusters
    ward_sample_size: int = 5_000  # Ward is O(n^2) in memory, so it only ever sees a sample
    kmeans_n_init: int = 4


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


def _jaccard_per_cluster(reference: np.ndarray, boot: np.ndarray, k: int) -> np.ndarray:
    """For each reference cluster, the best Jaccard with any cluster of the bootstrap solution."""
    result = np.zeros(k)
    boot_ids = np.unique(boot)
    for cluster in range(k):
        members = reference == cluster
        if not members.any():
            continue  # the cluster did not make it into this resample
        best = 0.0
        for other in boot_ids:
            candidate = boot == other
            union = np.count_nonzero(members | candidate)
            best = max(best, np.count_nonzero(members & candidate) / union)
        result[cluster] = best
    return result


def bootstrap_stability(
    algorithm: str, X: np.ndarray, reference: dict[int, np.ndarray], config: SelectionConfig
) -> dict[int, np.ndarray]:
    """Hennig's clusterboot: mean Jaccard per cluster over B resamples, for every k at once.

    Each round draws n points with replacement, re-clusters the distinct points and compares each
    original cluster (restricted to those points) with its best-matching new cluster.
    """
    rng = np.random.default_rng(config.seed + 1)
    ks = sorted(reference)
    totals = {k: np.zeros(k) for k in ks}
    counts = {k: np.zeros(k) for k in ks}
    n = len(X)
    for round_ in range(config.bootstrap_rounds):
        rows = np.unique(rng.choice(n, size=n, replace=True))
        boot = _labels_for_all_k(algorithm, X[rows], ks, config.seed + 100 + round_, config)
        for k in ks:
            ref = reference[k][rows]
            present = np.isin(np.arange(k), ref)
            totals[k] += _jaccard_per_cluster(ref, boot[k], k)
            counts[k] += present
    return {k: totals[k] / np.maximum(counts[k], 1) for k in ks}


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
    config = SelectionConfig(**{**asdict(config), "candidates": tuple(candidates)})
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


def synthetic_matrix(
    n_customers: int, n_features: int, seed: int, k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian segments shaped like a robust-scaled feature matrix."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3.0, size=(k, n_features))
    truth = rng.integers(0, k, size=n_customers)
    X = centers[truth] + rng.normal(0, 1.0, size=(n_customers, n_features))
    return X, truth


def benchmark(n_customers: int, n_features: int = 30, seed: int = 0) -> dict:
    """Time selection + fit + assignment on a synthetic matrix; peak RSS from getrusage.

    Selection runs on a fixed-size sample, so the cost grows with n only through the final k-means
    refinement and the assignment of every customer.
    """
    import resource

    from ml_assets.assignment import fit_assigner

    X, _ = synthetic_matrix(n_customers, n_features, seed)
    cpu_started = time.process_time()
    started = time.perf_counter()
    model = select_model(X, SelectionConfig(seed=seed))
    selected = time.perf_counter()
    assigner = fit_assigner(X, model.labels, model.centroids)
    assigner.assign(X)
    done = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {
        "n_customers": n_customers,
        "n_features": n_features,
        "algorithm": model.algorithm,
        "k": model.k,
        "select_and_fit_seconds": round(selected - started, 2),
        "assign_seconds": round(done - selected, 2),
        "total_seconds": round(done - started, 2),
        # CPU seconds of this process: the wall-clock figures above inflate on a busy machine
        "cpu_seconds": round(time.process_time() - cpu_started, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


if __name__ == "__main__":  # `python -m ml_assets.selection 100000 1000000`
    import sys

    for size in [int(arg) for arg in sys.argv[1:]] or [100_000]:
        print(benchmark(size))


# Synthetic customers for tests and demos: planted archetypes in attribute-table form.
ARCHETYPES = {
    # archetype: (mrr, growth, events_90d, active_days_30d, days_since, tickets_90d, nps, tenure)
    "champion": (900, 0.25, 4000, 26, 1, 1, 9, 900),
    "disengaging": (1100, -0.30, 300, 4, 25, 2, 5, 1200),
    "new": (120, 0.10, 900, 15, 3, 1, 7, 40),
    "support_heavy": (300, 0.0, 1200, 14, 4, 14, 4, 500),
    "dormant": (40, -0.05, 10, 0.5, 80, 0, 5, 700),
}


def synthetic_customers(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """customer_attributes, catalog, attribute_quality, customer_outcomes and the planted truth.

    The catalog also holds a `prohibited` and a `sensitive` attribute that carry the strongest
    structure of all, an attribute with no values and one with a poor quality score, so tests
    can check that governance, not the data, decides what is clustered on.
    """
    rng = np.random.default_rng(seed)
    names = list(ARCHETYPES)
    truth = np.array(names, dtype=object)[rng.integers(0, len(names), size=n)]
    p = pd.DataFrame(
        [ARCHETYPES[a] for a in truth],
        columns=["mrr", "growth", "events", "active", "since", "tickets", "nps", "tenure"],
    )

    def noisy(col: str, sd: float) -> np.ndarray:  # multiplicative noise keeps counts >= 0
        return p[col].to_numpy() * rng.lognormal(0, sd, size=n)

    attributes = pd.DataFrame(
        {
            "customer_key": [f"c{i:06d}" for i in range(n)],
            "industry": rng.choice(["software", "retail", "finance", "health"], size=n),
            "country": rng.choice(["US", "DE", "FR"], size=n),
            "current_mrr": noisy("mrr", 0.25),
            "mrr_growth_90d": p["growth"].to_numpy() + rng.normal(0, 0.05, size=n),
            "events_90d": np.round(noisy("events", 0.25)),
            "active_days_30d": np.clip(p["active"].to_numpy() + rng.normal(0, 1.5, size=n), 0, 30),
            "days_since_last_activity": np.round(noisy("since", 0.3)),
            "tickets_90d": rng.poisson(p["tickets"].to_numpy()),
            "nps_latest": np.clip(p["nps"].to_numpy() + rng.normal(0, 1.0, size=n), 0, 10),
            "tenure_days": np.round(noisy("tenure", 0.2)),
            "unsubscribed_flag": rng.random(n) < 0.1,
            "emails_delivered_90d": np.full(n, np.nan),  # an absent source
            "support_csat_avg_365d": rng.uniform(1, 5, size=n),  # poor measured quality
            "birth_year": np.where(rng.random(n) < 0.5, 1960, 1995),  # prohibited
            "owner_gender": rng.choice(["f", "m"], size=n),  # sensitive
        }
    )
    meta = {
        # name: (data_type, policy, group, unit)
        "customer_key": ("identifier", "allowed", "identifier", "id"),
        "industry": ("categorical", "allowed", "firmographic", "category"),
        "country": ("categorical", "allowed", "firmographic", "category"),
        "current_mrr": ("numeric", "allowed", "value", "USD"),
        "mrr_growth_90d": ("numeric", "allowed", "value", "ratio"),
        "events_90d": ("numeric", "allowed", "product", "count"),
        "active_days_30d": ("numeric", "allowed", "product", "days"),
        "days_since_last_activity": ("numeric", "allowed", "product", "days"),
        "tickets_90d": ("numeric", "allowed", "support", "count"),
        "nps_latest": ("numeric", "allowed", "satisfaction", "score"),
        "tenure_days": ("numeric", "allowed", "firmographic", "days"),
        "unsubscribed_flag": ("boolean", "allowed", "engagement", "flag"),
        "emails_delivered_90d": ("numeric", "allowed", "engagement", "count"),
        "support_csat_avg_365d": ("numeric", "allowed", "satisfaction", "score"),
        "birth_year": ("numeric", "prohibited", "firmographic", "year"),
        "owner_gender": ("categorical", "sensitive", "firmographic", "category"),
    }
    catalog = pd.DataFrame(
        [
            {
                "attribute_name": name,
                "description": f"synthetic {name}",
                "unit": unit,
                "source": "derived",
                "update_frequency": "daily",
                "segmentation_policy": policy,
                "attribute_group": group,
                "data_type": data_type,
                "behavioural": group in ("product", "engagement"),
            }
            for name, (data_type, policy, group, unit) in meta.items()
        ]
    )
    quality = pd.DataFrame(
        {
            "attribute_name": catalog["attribute_name"],
            "completeness": 1.0,
            "validity": 1.0,
            "freshness": 1.0,
            "quality_score": [
                0.2 if a == "support_csat_avg_365d" else 0.95 for a in catalog["attribute_name"]
            ],
        }
    )
    churn_p = np.select([truth == "disengaging", truth == "dormant"], [0.4, 0.6], 0.05)
    churned = rng.random(n) < churn_p
    outcomes = pd.DataFrame(
        {
            "customer_key": attributes["customer_key"],
            "revenue_after": attributes["current_mrr"] * 3 * ~churned,
            "churned": churned,
            "retained": ~churned,
            "expanded": (truth == "champion") & (rng.random(n) < 0.5),
            "mrr_change": attributes["current_mrr"] * attributes["mrr_growth_90d"],
            "converted": True,
        }
    )
    return {
        "attributes": attributes,
        "catalog": catalog,
        "quality": quality,
        "outcomes": outcomes,
        "truth": pd.Series(truth, index=attributes.index, name="archetype"),
    }
