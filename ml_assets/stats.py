"""One implementation of each statistic the platform reports: Cramér's V, the correlation ratio,
the Kruskal-Wallis η², the rank correlation, and the population stability index (PSI).

Governance (proxy detection), outcome validation and drift monitoring all call these; nothing
else computes them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
PSI_EPSILON = 1e-4  # share given to empty bins so the log stays finite


# --- association between categories ------------------------------------------------------------


def chi_square(table: np.ndarray) -> tuple[float, float, float]:
    """(chi2, p_value, Cramér's V) of a contingency table; empty rows and columns are ignored.

    V is bias-corrected (Bergsma 2013), so small samples with many categories do not look
    associated by chance; on large samples it equals the textbook V.
    """
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = table.sum()
    if min(table.shape, default=0) < 2 or n < 2:
        return 0.0, 1.0, 0.0
    chi2, p_value = (float(v) for v in chi2_contingency(table, correction=False)[:2])
    r, k = table.shape
    phi2_corr = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    k_corr = k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corr - 1, r_corr - 1)
    v = float(math.sqrt(phi2_corr / denominator)) if denominator > 0 else 0.0
    return chi2, p_value, v


def cramers_v(x: pd.Series, y: pd.Series) -> float:
    """Bias-corrected Cramér's V between two categorical series without nulls."""
    return chi_square(pd.crosstab(x, y).to_numpy())[2]


def correlation_ratio(categories: pd.Series, values: pd.Series) -> float:
    """Correlation ratio η: the share of a numeric variable's spread explained by the categories."""
    values = values.astype(float)
    total = ((values - values.mean()) ** 2).sum()
    if total == 0:
        return 0.0
    groups = values.groupby(categories.to_numpy())
    between = (groups.count() * (groups.mean() - values.mean()) ** 2).sum()
    return float(math.sqrt(between / total))


def rank_correlation(frame: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank correlation between every pair of columns (pairwise present values).

    Each column is ranked once over its present values (ties get the mean rank), then Pearson on
    the ranks: the same as Spearman when nothing is missing, and fast on wide tables.
    """
    return frame.rank(method="average").corr(method="pearson")


def eta_squared(h: float, k: int, n: int) -> float:
    """Kruskal-Wallis effect size η² from the H statistic (Tomczak & Tomczak 2014), floored at 0."""
    return max((h - k + 1) / (n - k), 0.0) if n > k else float("nan")


# --- population stability index -----------------------------------------------------------------


def psi_band(value: float) -> str:
    """stable (< 0.1), moderate (0.1-0.25) or major (>= 0.25) shift; unknown when not finite."""
    if not np.isfinite(value):
        return "unknown"
    if value >= PSI_MAJOR:
        return "major"
    return "moderate" if value >= PSI_MODERATE else "stable"


def psi_from_shares(reference: np.ndarray, current: np.ndarray, eps: float = PSI_EPSILON) -> float:
    """PSI between two share vectors over the same bins (empty bins floored at eps)."""
    ref = np.clip(np.asarray(reference, dtype=float), eps, None)
    cur = np.clip(np.asarray(current, dtype=float), eps, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi(
    reference: pd.Series | np.ndarray,
    current: pd.Series | np.ndarray,
    bins: int = 10,
    eps: float = PSI_EPSILON,
) -> float:
    """PSI of one numeric feature over the reference's quantile bins; missing values form a bin."""
    ref = pd.to_numeric(pd.Series(reference), errors="coerce").to_numpy(dtype=float)
    cur = pd.to_numeric(pd.Series(current), errors="coerce").to_numpy(dtype=float)
    if len(ref) == 0 or len(cur) == 0:
        return float("nan")
    ref_present = ref[~np.isnan(ref)]
    # Interior quantile edges of the reference; ties collapse (a constant feature has one bin).
    edges = (
        np.unique(np.quantile(ref_present, np.linspace(0, 1, bins + 1))[1:-1])
        if len(ref_present)
        else np.array([])
    )

    def shares(values: np.ndarray) -> np.ndarray:
        present = values[~np.isnan(values)]
        counts = np.bincount(
            np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1
        )
        return np.append(counts, np.isnan(values).sum()) / len(values)

    return psi_from_shares(shares(ref), shares(cur), eps)
