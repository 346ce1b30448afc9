"""Benchmarks of the segmentation engine and the monitoring computations on synthetic data (no
Dagster, no warehouse): `tools/bench.py` runs them as its segment_synthetic and checks stages.

`python -m tools.bench_segmentation 100000 1000000` times selection at those sizes.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd

from ml_assets.assignment import fit_assigner
from ml_assets.monitoring import drift, migration, outcomes, stability
from ml_assets.monitoring.flapping import apply_anti_flapping
from ml_assets.selection import SelectionConfig, refit, select_model


def synthetic_matrix(
    n_customers: int, n_features: int, seed: int, k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian segments shaped like a robust-scaled feature matrix."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3.0, size=(k, n_features))
    truth = rng.integers(0, k, size=n_customers)
    X = centers[truth] + rng.normal(0, 1.0, size=(n_customers, n_features))
    return X, truth


def selection_benchmark(n_customers: int, n_features: int = 30, seed: int = 0) -> dict:
    """Time selection + fit + assignment on a synthetic matrix; peak RSS from getrusage.

    Selection runs on a fixed-size sample, so the cost grows with n only through the final k-means
    refinement and the assignment of every customer.
    """
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


def checks_benchmark(
    n_customers: int = 100_000, n_features: int = 20, k: int = 5, seed: int = 0
) -> dict:
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
            X,
            labels,
            refit("kmeans", k, SelectionConfig(seed=seed)),
            n_boot=20,
            max_points=5_000,
            seed=seed,
        ),
    )
    timed(
        "stability_full_10_boot",
        lambda: stability.bootstrap_stability(
            X, labels, refit("kmeans", k, SelectionConfig(seed=seed)), n_boot=10, seed=seed
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


if __name__ == "__main__":
    import sys

    for size in [int(arg) for arg in sys.argv[1:]] or [100_000]:
        print(selection_benchmark(size))
