"""Automatic model selection: which algorithm and how many segments, or none at all.

Every candidate (k-means, Gaussian mixture, Ward hierarchical; k = k_min..k_max; and HDBSCAN,
which finds its own k) is fitted on a fixed-seed sample and scored by silhouette (on a
sub-sample), Calinski-Harabasz, Davies-Bouldin, bootstrap stability and the smallest segment's
share. A candidate is eligible when it is stable, separated and has no tiny segment, and none
of its segments is below the `segment_stability` gate's fail level (`stability.JACCARD_FAIL`):
a model the gate would block after training is not a candidate.

Among the eligible candidates of the configured algorithm the simplest stable answer wins
(`choose_candidate`): every candidate whose silhouette is within `silhouette_tolerance` (0.005)
of the best is tied on quality: that is twice the bootstrap standard error of the silhouette
(0.0025 over the 3,752 customers of the 5,000-account demo), so a smaller gain is noise. Among
those, the ones within `stability_tolerance` (0.01 of mean Jaccard) of the most stable are tied
on stability, and of them the fewest segments wins (then the higher silhouette). The table's
`decision` column says why each row won or lost.
The chosen model is then fitted on (or extended to) all customers.

A scheduled retrain (or one asked for) is given the current model's segments (`incumbent`: each
customer's segment under the stored model). It keeps their number when a candidate with that k is
eligible and within `incumbent_tolerance` (0.02) of the best silhouette, and k-means then refits
from the current segments' centroids: the retrain moves the boundaries the new data asks for and
no more, instead of redrawing the segments for a gain within noise (a fresh fit at 240 customers
regrouped a third of them into k=3 over k=6 for 0.005 of silhouette). A redefinition (drift or
outcome validation recommending it, or changed features) is not given an incumbent.

HDBSCAN (scikit-learn's `HDBSCAN`, density-based) runs on a sample; the customers it leaves as
noise are reported as the `unsegmented_share`. Its silhouette and the other scores are computed
over the customers it does segment (noise has no cluster to be compared with), which flatters it
when much is noise; so it is chosen only when configured (`algorithm="hdbscan"`, or `"auto"`)
and only when its unsegmented share is at most `max_unsegmented_share`. When chosen, a customer
whose nearest sampled neighbour is noise is assigned "unsegmented".

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
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from ml_assets.monitoring.stability import JACCARD_FAIL, FitPredict, bootstrap_jaccard

ALGORITHMS = ("kmeans", "gmm", "ward", "hdbscan")
NOISE = -1  # HDBSCAN's label of the customers it does not segment
STABILITY_REFERENCE = "Hennig 2007 (clusterboot): Jaccard >= 0.75 stable, <= 0.5 dissolved"
SILHOUETTE_REFERENCE = "Kaufman & Rousseeuw 1990: silhouette < 0.25 no substantial structure"


def _knob(default, description: str):
    """A field the launchpad edits: its default and description live here, once."""
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class SelectionConfig:
    """What is compared and the cut-offs a candidate must clear."""

    algorithm: str = _knob(
        "kmeans",
        "Algorithm of the chosen model: kmeans, gmm, ward, hdbscan, or auto (best of all).",
    )
    candidates: tuple[str, ...] = _knob(
        ALGORITHMS, "Algorithms scored side by side in the selection table."
    )
    k_min: int = _knob(3, "Smallest number of segments considered.")
    k_max: int = _knob(7, "Largest number of segments considered (teams act on 3-7).")
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
    silhouette_tolerance: float = _knob(
        0.005,
        "Silhouettes within this of the best are a tie (about 2 bootstrap standard errors): "
        "the more stable, then fewer segments win.",
    )
    stability_tolerance: float = _knob(
        0.01, "Among silhouette ties, stabilities within this of the most stable are a tie too."
    )
    max_unsegmented_share: float = _knob(
        0.05, "HDBSCAN is chosen only if it leaves at most this share of customers unsegmented."
    )
    hdbscan_min_samples: int = _knob(
        10, "HDBSCAN's min_samples (density); min_cluster_size is min_segment_share of the rows."
    )
    hdbscan_sample_size: int = _knob(5_000, "Customers HDBSCAN is fitted on.")
    parent_segments: int = _knob(
        0, "Macro segments over the published ones (2 or 3); 0 picks by the Ward tree's gap."
    )
    silhouette_sample_size: int = _knob(5_000, "Customers the silhouette is computed on.")
    bootstrap_sample_size: int = _knob(2_000, "Customers re-clustered in each bootstrap round.")
    ward_sample_size: int = _knob(
        5_000, "Customers Ward clustering sees (its memory grows with n squared)."
    )
    incumbent_tolerance: float = _knob(
        0.02,
        "A scheduled retrain keeps the current number of segments unless another k beats its "
        "silhouette by more than this (0: always the simplest stable answer).",
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
    labels: np.ndarray  # one per row of the full matrix, 0..k-1 (NOISE: unsegmented)
    selection: pd.DataFrame
    config: SelectionConfig
    # HDBSCAN only: the sampled rows and their labels, which assign everyone else (1-NN).
    reference: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def segmented(self) -> np.ndarray:
        return self.labels != NOISE


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
    if algorithm == "hdbscan":
        return _hdbscan_labels(X, config)
    raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")


def _ward_labels(tree: np.ndarray, k: int) -> np.ndarray:
    return fcluster(tree, t=k, criterion="maxclust") - 1


def _hdbscan_labels(X: np.ndarray, config: SelectionConfig) -> np.ndarray:
    """HDBSCAN's clusters (0..k-1) and NOISE; a cluster must hold min_segment_share of the rows.

    Deterministic: HDBSCAN has no random start, so the seed plays no part.
    """
    min_cluster_size = max(5, int(np.ceil(config.min_segment_share * len(X))))
    return HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=max(1, min(config.hdbscan_min_samples, len(X) - 1)),
        copy=True,
    ).fit_predict(X)


def _labels_for_all_k(
    algorithm: str, X: np.ndarray, ks: list[int], seed: int, config: SelectionConfig
):
    """Labels per k; Ward builds its tree once and cuts it at every k."""
    if algorithm == "ward":
        tree = linkage(X, method="ward")
        return {k: _ward_labels(tree, k) for k in ks}
    if algorithm == "hdbscan":  # one fit: the density finds its own k
        return {k: _hdbscan_labels(X, config) for k in ks}
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


def _scores(X: np.ndarray, labels: np.ndarray, sil_mask: np.ndarray) -> dict:
    """Silhouette (on the sil_mask rows), Calinski-Harabasz and Davies-Bouldin of the segmented
    rows (NOISE has no cluster to be compared with)."""
    segmented = labels != NOISE
    X, labels, sil_mask = X[segmented], labels[segmented], sil_mask[segmented]
    nan = float("nan")
    if len(np.unique(labels)) < 2:
        return {
            "silhouette": nan,
            "silhouette_se": nan,
            "calinski_harabasz": nan,
            "davies_bouldin": nan,
        }
    # The mean of the per-customer silhouettes is silhouette_score; their spread gives its
    # standard error, the noise a comparison between candidates has to clear.
    per_customer = (
        silhouette_samples(X[sil_mask], labels[sil_mask])
        if len(np.unique(labels[sil_mask])) > 1
        else np.array([nan])
    )
    return {
        "silhouette": float(per_customer.mean()),
        "silhouette_se": float(per_customer.std() / np.sqrt(len(per_customer))),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
    }


def _hdbscan_stability(
    Xb: np.ndarray, reference: np.ndarray, config: SelectionConfig
) -> np.ndarray:
    """Mean bootstrap Jaccard of each HDBSCAN cluster (the same rounds as the other candidates)."""
    clusters = np.unique(reference[reference != NOISE])
    if len(clusters) == 0:
        return np.array([0.0])
    scores = bootstrap_jaccard(
        Xb,
        {0: reference},
        lambda rows, seed: {0: _hdbscan_labels(rows, config)},
        config.bootstrap_rounds,
        config.seed,
    )[0]
    return np.nan_to_num(scores.reindex(clusters).mean(axis=1).to_numpy(), nan=0.0)


def score_candidates(
    X: np.ndarray, config: SelectionConfig, incumbent: np.ndarray | None = None
) -> tuple[pd.DataFrame, dict]:
    """The selection table (one row per algorithm and k) and the sample labels of each candidate.

    HDBSCAN contributes one row, at the k it finds; its `unsegmented_share` is the share of the
    sampled customers it leaves as noise (0 for the other algorithms, which segment everyone).
    With an `incumbent` (labels 0..k-1), the k-means row at its k is the refit from the current
    segments (`start` "current segments"), so keeping them is judged on what keeping them gives:
    its scores and its bootstrap stability are those of that refit partition.
    """
    rng = np.random.default_rng(config.seed)
    ks = list(range(config.k_min, config.k_max + 1))
    k_now = None if incumbent is None else int(incumbent.max() + 1)
    sample = _sample_index(len(X), config.sample_size, rng)
    sil_rows = _sample_index(len(sample), config.silhouette_sample_size, rng)
    boot_rows = _sample_index(len(sample), config.bootstrap_sample_size, rng)
    ward_rows = _sample_index(len(sample), config.ward_sample_size, rng)
    hdbscan_rows = _sample_index(len(sample), config.hdbscan_sample_size, rng)
    subsample = {"ward": ward_rows, "hdbscan": hdbscan_rows}

    records = []
    fitted: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for algorithm in config.candidates:
        started = time.perf_counter()
        rows = sample[subsample[algorithm]] if algorithm in subsample else sample
        Xs = X[rows]
        # Stability is measured on a smaller subsample: re-clustering B times is the costly part.
        boot_subset = np.isin(rows, sample[boot_rows])
        Xb = Xs[boot_subset]
        sil_subset = np.isin(rows, sample[sil_rows])
        if algorithm == "hdbscan":
            lab = _hdbscan_labels(Xs, config)
            k_found = int(len(np.unique(lab[lab != NOISE])))
            labels = {k_found: lab}
            stability = {k_found: _hdbscan_stability(Xb, _hdbscan_labels(Xb, config), config)}
        else:
            labels = _labels_for_all_k(algorithm, Xs, ks, config.seed, config)
            boot_ref = _labels_for_all_k(algorithm, Xb, ks, config.seed, config)
            if algorithm == "kmeans" and k_now in labels:
                labels[k_now] = _refit_from(Xs, incumbent[rows], k_now, config.seed)
                # Its stability is that of the partition kept, as the segment_stability gate
                # measures it after publishing; a fresh fit's would judge segments not kept.
                boot_ref[k_now] = labels[k_now][boot_subset]
            stability = bootstrap_stability(algorithm, Xb, boot_ref, config)
        seconds = (time.perf_counter() - started) / len(labels)
        for k, lab in labels.items():
            segmented = lab[lab != NOISE]
            shares = np.bincount(segmented, minlength=k) / len(lab) if k else np.zeros(1)
            records.append(
                {
                    "algorithm": algorithm,
                    "k": k,
                    **_scores(Xs, lab, sil_subset),
                    "stability_mean": float(stability[k].mean()),
                    "stability_min": float(stability[k].min()),
                    "min_segment_share": float(shares.min()),
                    "unsegmented_share": float(np.mean(lab == NOISE)),
                    "start": "current segments"
                    if algorithm == "kmeans" and k == k_now
                    else "fresh",
                    "rows_scored": len(rows),
                    "seconds_per_k": round(seconds, 3),
                }
            )
            fitted[(algorithm, k)] = (rows, lab)
    table = pd.DataFrame.from_records(records)
    table["eligible"] = (
        (table["stability_mean"] >= config.stability_cutoff)
        # A segment below the gate's fail level would block the run after training.
        & (table["stability_min"] >= JACCARD_FAIL)
        & (table["silhouette"] >= config.silhouette_cutoff)
        & (table["min_segment_share"] >= config.min_segment_share)
        & table["k"].between(config.k_min, config.k_max)
        & (table["unsegmented_share"] <= config.max_unsegmented_share)
    )
    table["chosen"] = False
    table["decision"] = ""
    return table, fitted


def _ineligible_because(row: pd.Series, config: SelectionConfig) -> str:
    reasons = []
    if not row["stability_mean"] >= config.stability_cutoff:
        reasons.append(f"stability {row['stability_mean']:.3f} < {config.stability_cutoff}")
    if not row["stability_min"] >= JACCARD_FAIL:
        reasons.append(
            f"a segment's stability {row['stability_min']:.3f} < {JACCARD_FAIL} "
            "(the segment_stability gate would fail it)"
        )
    if not row["silhouette"] >= config.silhouette_cutoff:
        reasons.append(f"silhouette {row['silhouette']:.3f} < {config.silhouette_cutoff}")
    if not row["min_segment_share"] >= config.min_segment_share:
        reasons.append(
            f"smallest segment {row['min_segment_share']:.1%} < {config.min_segment_share:.0%}"
        )
    if not config.k_min <= row["k"] <= config.k_max:
        reasons.append(f"k={row['k']} outside {config.k_min}-{config.k_max}")
    if row["unsegmented_share"] > config.max_unsegmented_share:
        reasons.append(
            f"unsegmented {row['unsegmented_share']:.1%} > {config.max_unsegmented_share:.0%}"
        )
    return "not eligible: " + "; ".join(reasons)


def choose_candidate(
    table: pd.DataFrame, config: SelectionConfig, incumbent_k: int | None = None
) -> tuple[object, pd.Series]:
    """The simplest stable answer among the eligible candidates, and why each row won or lost.

    Quality ties: silhouette within `silhouette_tolerance` of the best. Among them, stability
    ties: within `stability_tolerance` of the most stable. Of those the fewest segments wins,
    then the higher silhouette. With `incumbent_k` (the current model's number of segments, in a
    scheduled retrain) an eligible candidate with that k within `incumbent_tolerance` of the best
    silhouette is kept instead. Returns the chosen row's index (None when nothing is eligible)
    and a `decision` text per row.
    """
    decision = pd.Series("", index=table.index, dtype=object)
    in_pool = (
        pd.Series(True, index=table.index)
        if config.algorithm == "auto"
        else table["algorithm"] == config.algorithm
    )
    decision[~in_pool] = f"scored for comparison; configured algorithm is {config.algorithm}"
    for index in table.index[in_pool & ~table["eligible"]]:
        decision[index] = _ineligible_because(table.loc[index], config)
    eligible = table[in_pool & table["eligible"]]
    if eligible.empty:
        return None, decision
    best_sil = float(eligible["silhouette"].max())
    best_row = eligible.loc[eligible["silhouette"].idxmax()]
    tied = eligible[eligible["silhouette"] >= best_sil - config.silhouette_tolerance]
    top_stab = float(tied["stability_mean"].max())
    stable = tied[tied["stability_mean"] >= top_stab - config.stability_tolerance]
    chosen = stable.sort_values(["k", "silhouette"], ascending=[True, False]).index[0]
    simplest, kept = chosen, None
    if incumbent_k is not None and int(table.loc[chosen, "k"]) != incumbent_k:
        same_k = eligible[eligible["k"] == incumbent_k]
        same_k = same_k[
            same_k["silhouette"] >= best_sil - _incumbent_margin(same_k, best_row, config)
        ]
        if len(same_k):
            chosen = kept = same_k["silhouette"].idxmax()
    row = table.loc[chosen]
    for index, other in eligible.iterrows():
        if index == chosen:
            continue
        if index == simplest:
            decision[index] = (
                f"the simplest stable answer, but the current model's k={incumbent_k} is as good "
                "within noise and is kept"
            )
        elif index not in tied.index:
            gap = best_sil - other["silhouette"]
            decision[index] = (
                f"silhouette {other['silhouette']:.3f} is {gap:.3f} below the best "
                f"{best_sil:.3f} (tolerance {config.silhouette_tolerance})"
            )
        elif index not in stable.index:
            decision[index] = (
                f"silhouette within {config.silhouette_tolerance} of the best but less stable "
                f"({other['stability_mean']:.3f} vs {top_stab:.3f})"
            )
        elif other["k"] > row["k"]:
            decision[index] = f"as good and as stable, but more segments than k={row['k']}"
        else:
            decision[index] = f"as good and as stable as {row['algorithm']} k={row['k']}"
    if kept is not None:
        margin = float(_incumbent_margin(table.loc[[chosen]], best_row, config).iloc[0])
        why = (
            f"chosen: the current model's k={incumbent_k} is kept, silhouette "
            f"{row['silhouette']:.3f} within {margin:.3f} of the best "
            f"{best_sil:.3f} ({best_row['algorithm']} k={best_row['k']}); stability "
            f"{row['stability_mean']:.3f}"
        )
    elif chosen == best_row.name:
        why = f"chosen: best silhouette {best_sil:.3f}, stability {row['stability_mean']:.3f}"
    else:
        why = (
            f"chosen: silhouette {row['silhouette']:.3f} within {config.silhouette_tolerance} "
            f"of the best {best_sil:.3f} ({best_row['algorithm']} k={best_row['k']}, stability "
            f"{best_row['stability_mean']:.3f}); stability {row['stability_mean']:.3f}"
        )
    if len(stable) > 1 and kept is None:
        why += "; fewest segments among the equally good and stable"
    decision[chosen] = why
    return chosen, decision


def _incumbent_margin(rows: pd.DataFrame, best: pd.Series, config: SelectionConfig) -> pd.Series:
    """How far below the best silhouette the current k may be and still be kept: the configured
    `incumbent_tolerance`, or two standard errors of the silhouette difference when the data is
    too small for that to be noise (at 240 customers one standard error is about 0.01)."""
    se = rows.get("silhouette_se", pd.Series(0.0, index=rows.index)).fillna(0.0)
    se_best = float(best.get("silhouette_se", 0.0) or 0.0)
    return np.maximum(config.incumbent_tolerance, 2 * np.sqrt(se**2 + se_best**2))


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


def select_model(
    X: np.ndarray, config: SelectionConfig, incumbent: np.ndarray | None = None
) -> ClusterModel:
    """Score all candidates, choose one and extend it to every row; raise NoClusterStructure.

    `incumbent` (a scheduled retrain): each row's segment under the current model as 0..k-1
    (NOISE where it has none); its k is preferred within `incumbent_tolerance`, and k-means
    starts from its centroids.
    """
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
    incumbent = _relabelled(incumbent)
    incumbent_k = None if incumbent is None else int(incumbent.max() + 1)
    with threadpool_limits(limits=1):
        table, fitted = score_candidates(X, config, incumbent)
    best, table["decision"] = choose_candidate(table, config, incumbent_k)
    if best is None:
        pool = (
            table if config.algorithm == "auto" else table[table["algorithm"] == config.algorithm]
        )
        raise NoClusterStructure(_refusal_message(pool, config), table)
    table.loc[best, "chosen"] = True
    algorithm, k = table.loc[best, "algorithm"], int(table.loc[best, "k"])
    rows, sample_labels = fitted[(algorithm, k)]
    reference = None
    if algorithm == "hdbscan":
        # Everyone takes the label of their nearest sampled customer, noise included: one rule
        # for training and for scoring later (the assigner keeps the sample).
        labels = nearest_sampled(X, X[rows], sample_labels)
        reference = (X[rows], sample_labels)
        return _numbered(algorithm, k, X, labels, table, config, reference)
    centroids = centroids_of(X[rows], sample_labels, k)
    if algorithm == "kmeans" and k == incumbent_k:
        # Refit from the current segments: the nearest k-means solution to them on this data.
        labels = _refit_from(X, incumbent, k, config.seed)
        table.loc[best, "decision"] += "; refitted from the current model's segments"
    elif algorithm == "kmeans":
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
    return _numbered(algorithm, k, X, labels, table, config, reference)


def _refit_from(X: np.ndarray, incumbent: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means started at the current segments' centroids (one deterministic run): the nearest
    k-means solution to them on this data."""
    known = incumbent != NOISE
    start = centroids_of(X[known], incumbent[known], k)
    fit = KMeans(n_clusters=k, init=start, n_init=1, random_state=seed).fit(X)
    return nearest(X, fit.cluster_centers_)


def _relabelled(incumbent: np.ndarray | None) -> np.ndarray | None:
    """Labels 0..m-1 over the segments that still have customers (NOISE kept); None when the
    current model segments nobody here."""
    if incumbent is None:
        return None
    labels = np.asarray(incumbent, dtype=int)
    present = np.unique(labels[labels != NOISE])
    if len(present) == 0:
        return None
    out = np.full(len(labels), NOISE, dtype=int)
    known = labels != NOISE
    out[known] = np.searchsorted(present, labels[known])
    return out


def nearest_sampled(X: np.ndarray, sample: np.ndarray, sample_labels: np.ndarray) -> np.ndarray:
    """The label of each row's nearest sampled customer (NOISE stays NOISE)."""
    index = NearestNeighbors(n_neighbors=1).fit(sample)
    _, nearest_row = index.kneighbors(X)
    return np.asarray(sample_labels)[nearest_row[:, 0]]


def _numbered(
    algorithm: str,
    k: int,
    X: np.ndarray,
    labels: np.ndarray,
    table: pd.DataFrame,
    config: SelectionConfig,
    reference: tuple[np.ndarray, np.ndarray] | None,
) -> ClusterModel:
    """The model, segments numbered largest-first: one partition always gets one labelling."""
    segmented = labels != NOISE
    centroids = centroids_of(X[segmented], labels[segmented], k)
    counts = np.bincount(labels[segmented], minlength=k)
    order = np.lexsort((np.arange(k), -counts))
    rank = np.full(k + 1, NOISE, dtype=int)  # rank[NOISE] (the last slot) stays NOISE
    rank[order] = np.arange(k)
    if reference is not None:
        reference = (reference[0], rank[reference[1]])
    return ClusterModel(
        algorithm=algorithm,
        k=k,
        centroids=centroids[order],
        labels=rank[labels],
        selection=table,
        config=config,
        reference=reference,
    )
