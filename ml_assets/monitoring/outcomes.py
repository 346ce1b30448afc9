"""Outcome validation: do segments differ on what the business cares about?

Revenue after segmentation is compared across segments with Kruskal-Wallis (no normality
assumption; revenue is heavy-tailed) and its effect size eta squared = (H - k + 1) / (n - k).
Binary outcomes (churned, retained, ...) use a chi-square test with Cramér's V. With many
customers any difference is "significant", so the verdict rests on effect size: segments whose
effects are all negligible (eta² < 0.01 and V < 0.1) fail whatever the p-value says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kruskal

from ml_assets.stats import chi_square, eta_squared

MIN_ETA_SQUARED = 0.01
MIN_CRAMERS_V = 0.1
ALPHA = 0.05
TEST_COLUMNS = ["outcome", "test", "statistic", "p_value", "effect_name", "effect", "negligible"]


@dataclass
class OutcomeValidation:
    passed: bool
    reasons: list[str]
    tests: pd.DataFrame  # one row per outcome tested (TEST_COLUMNS)
    per_segment: pd.DataFrame  # one row per segment: customers and outcome means/rates

    @property
    def eta_squared(self) -> float:
        row = self.tests[self.tests["effect_name"] == "eta_squared"]
        return float(row["effect"].iloc[0]) if len(row) else float("nan")

    @property
    def max_cramers_v(self) -> float:
        rows = self.tests[self.tests["effect_name"] == "cramers_v"]
        return float(rows["effect"].max()) if len(rows) else float("nan")


def _is_binary(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and set(present.astype(int).unique()) <= {0, 1}


def validate_outcomes(
    segments: pd.DataFrame,
    outcomes: pd.DataFrame,
    key: str = "customer_key",
    segment: str = "segment_id",
    revenue_column: str = "revenue_after",
    binary_columns: tuple[str, ...] = ("churned", "retained"),
    min_eta_squared: float = MIN_ETA_SQUARED,
    min_cramers_v: float = MIN_CRAMERS_V,
    alpha: float = ALPHA,
) -> OutcomeValidation:
    """Test whether outcomes differ across segments; passing needs a real, significant effect.

    Outcome columns absent from `outcomes` (or entirely missing) are skipped and said so in the
    reasons. Customers without outcomes are left out of the tests.
    """
    data = segments[[key, segment]].merge(outcomes, on=key, how="inner")
    reasons: list[str] = []
    rows = []
    if revenue_column in data and data[revenue_column].notna().any():
        revenue = data[[segment, revenue_column]].dropna()
        groups = [g[revenue_column].to_numpy(dtype=float) for _, g in revenue.groupby(segment)]
        k, n = len(groups), len(revenue)
        if k >= 2 and len(np.unique(revenue[revenue_column])) > 1:
            h, p_value = (float(v) for v in kruskal(*groups))
        else:
            h, p_value = 0.0, 1.0
        effect = eta_squared(h, k, n)
        rows.append(
            (
                revenue_column,
                "kruskal_wallis",
                h,
                p_value,
                "eta_squared",
                effect,
                not effect >= min_eta_squared,
            )
        )
    else:
        reasons.append(f"no {revenue_column} outcome to test")
    for column in binary_columns:
        if column not in data or not _is_binary(data[column]):
            reasons.append(f"no {column} outcome to test")
            continue
        present = data[[segment, column]].dropna()
        table = pd.crosstab(present[segment], present[column].astype(int)).to_numpy()
        chi2, p_value, v = chi_square(table)
        rows.append((column, "chi_square", chi2, p_value, "cramers_v", v, not v >= min_cramers_v))
    tests = pd.DataFrame(rows, columns=TEST_COLUMNS)

    meaningful = tests[~tests["negligible"] & (tests["p_value"] < alpha)]
    passed = len(meaningful) > 0
    if tests.empty:
        reasons.append("no outcome could be tested")
    elif passed:
        reasons += [
            f"{r.outcome}: {r.effect_name} {r.effect:.3f} (p={r.p_value:.2g})"
            for r in meaningful.itertuples()
        ]
    elif tests["negligible"].all():
        reasons.append(
            f"negligible effect: eta² < {min_eta_squared} and Cramér's V < {min_cramers_v} "
            f"(eta² {_fmt(tests, 'eta_squared')}, max V {_fmt(tests, 'cramers_v')}), "
            "whatever the p-values say"
        )
    else:
        reasons.append(f"effects not significant at alpha={alpha}")
    return OutcomeValidation(passed, reasons, tests, outcome_table(data, segment, key))


def _fmt(tests: pd.DataFrame, effect_name: str) -> str:
    values = tests.loc[tests["effect_name"] == effect_name, "effect"]
    return f"{values.max():.3f}" if len(values) else "n/a"


def outcome_table(
    data: pd.DataFrame, segment: str = "segment_id", key: str = "customer_key"
) -> pd.DataFrame:
    """Per segment: customers, and the mean of every numeric or boolean outcome column."""
    numeric = [
        c
        for c in data.columns
        if c not in (segment, key)
        and (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))
    ]
    table = data[numeric].astype(float).groupby(data[segment]).mean()
    table.columns = [f"mean_{c}" for c in table.columns]
    table.insert(0, "customers", data.groupby(segment).size())
    return table.reset_index()
