"""Drift between scoring runs: per-feature PSI and segment-size drift.

PSI (population stability index) = sum over bins of (cur - ref) * ln(cur / ref), with bins cut at
the reference run's quantiles. Conventional bands: < 0.1 stable, 0.1-0.25 moderate, >= 0.25 major.

Redefinition (a retrain) is recommended when the drift reaches the segmentation: segment sizes
shift majorly (customers moved between segments), or most of the model's features drift majorly at
once (the population the segments were defined on no longer exists). One feature drifting alone is
reported to watch, not acted on: features that age with the calendar (days since the last invoice
moves with the billing cycle, growth over 90 days with a seasonal month) shift their distribution
between any two scoring dates while nobody changes segment, and retraining on each of them would
redraw the segments every few runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_assets.monitoring.stability import match_labels
from ml_assets.stats import chi_square, psi, psi_band, psi_from_shares


def feature_psi(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str] | None = None, bins: int = 10
) -> pd.DataFrame:
    """PSI and band per feature (columns present in both frames), largest drift first."""
    if columns is None:
        columns = [
            c
            for c in reference.columns
            if c in current.columns and pd.api.types.is_numeric_dtype(reference[c])
        ]
    rows = [(c, psi(reference[c], current[c], bins=bins)) for c in columns]
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    table["band"] = table["psi"].map(psi_band)
    return table.sort_values("psi", ascending=False, ignore_index=True)


@dataclass
class SegmentSizeDrift:
    """Segment shares in two runs, their PSI and a chi-square test of the size change."""

    shares: (
        pd.DataFrame
    )  # segment_id, reference_count, current_count, reference_share, current_share
    psi: float
    chi2: float
    p_value: float

    @property
    def band(self) -> str:
        return psi_band(self.psi)


def segment_size_drift(
    reference_labels: pd.Series | np.ndarray, current_labels: pd.Series | np.ndarray
) -> SegmentSizeDrift:
    """Compare how customers spread over segments in two runs."""
    ref = pd.Series(reference_labels).value_counts()
    cur = pd.Series(current_labels).value_counts()
    segments = sorted(set(ref.index) | set(cur.index))
    table = pd.DataFrame(
        {
            "segment_id": segments,
            "reference_count": ref.reindex(segments, fill_value=0).to_numpy(),
            "current_count": cur.reindex(segments, fill_value=0).to_numpy(),
        }
    )
    table["reference_share"] = table["reference_count"] / max(table["reference_count"].sum(), 1)
    table["current_share"] = table["current_count"] / max(table["current_count"].sum(), 1)
    observed = table[["reference_count", "current_count"]].to_numpy().T
    chi2, p_value, _ = chi_square(observed)
    return SegmentSizeDrift(
        shares=table,
        psi=psi_from_shares(table["reference_share"], table["current_share"]),
        chi2=chi2,
        p_value=p_value,
    )


# Share of the model's features that must drift majorly together to recommend redefinition.
MAJOR_FEATURE_SHARE = 0.5


@dataclass
class DriftSummary:
    """Verdict over feature and segment-size drift."""

    features: pd.DataFrame
    size_drift: SegmentSizeDrift | None
    major_feature_share: float = MAJOR_FEATURE_SHARE
    drifted_features: list[str] = field(init=False)
    moderate_features: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.drifted_features = list(self.features.loc[self.features["band"] == "major", "feature"])
        self.moderate_features = list(
            self.features.loc[self.features["band"] == "moderate", "feature"]
        )

    @property
    def size_drift_major(self) -> bool:
        return self.size_drift is not None and self.size_drift.band == "major"

    @property
    def drifted_share(self) -> float:
        """Share of the compared features whose drift is major."""
        return len(self.drifted_features) / len(self.features) if len(self.features) else 0.0

    @property
    def features_drift_together(self) -> bool:
        return bool(self.drifted_features) and self.drifted_share >= self.major_feature_share

    @property
    def redefinition_recommended(self) -> bool:
        return self.features_drift_together or self.size_drift_major

    @property
    def status(self) -> str:
        if self.redefinition_recommended:
            return "major"
        moderate = (
            self.drifted_features
            or self.moderate_features
            or (self.size_drift is not None and self.size_drift.band == "moderate")
        )
        return "moderate" if moderate else "stable"

    @property
    def message(self) -> str:
        majors = [f"{f} (PSI {self._psi(f):.2f})" for f in self.drifted_features]
        if self.redefinition_recommended:
            what = list(majors) if self.features_drift_together else []
            if self.size_drift_major:
                what.append(f"segment sizes (PSI {self.size_drift.psi:.2f})")
            return "segment redefinition recommended: major drift in " + ", ".join(what)
        if majors:
            sizes = (
                f"; segment sizes held (PSI {self.size_drift.psi:.2f})"
                if self.size_drift is not None
                else ""
            )
            return (
                f"watch: major drift in {len(majors)} of {len(self.features)} features, "
                + ", ".join(majors)
                + f"{sizes}; a retrain is recommended when segment sizes shift or at least "
                f"{self.major_feature_share:.0%} of the features drift together"
            )
        if self.status == "moderate":
            return "moderate drift, watch: " + ", ".join(
                self.moderate_features or ["segment sizes"]
            )
        return "no material drift"

    def _psi(self, feature: str) -> float:
        return float(self.features.loc[self.features["feature"] == feature, "psi"].iloc[0])


def drift_summary(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[str] | None = None,
    reference_labels: pd.Series | np.ndarray | None = None,
    current_labels: pd.Series | np.ndarray | None = None,
    bins: int = 10,
) -> DriftSummary:
    """Feature PSI plus (when both label sets are given) segment-size drift, with a verdict."""
    size = (
        segment_size_drift(reference_labels, current_labels)
        if reference_labels is not None and current_labels is not None
        else None
    )
    return DriftSummary(features=feature_psi(reference, current, columns, bins), size_drift=size)


def drift_against_previous_run(
    reference: pd.DataFrame, current: pd.DataFrame, previous: pd.DataFrame, segments: pd.DataFrame
) -> DriftSummary:
    """Feature PSI plus segment-size drift with the current labels matched to the previous run's.

    `previous` is the previous run's history rows (customer_key, raw_segment_id), `segments` the
    current assignment (customer_key, segment_id), `reference` the previous run's feature sample.
    """
    paired = previous[["customer_key", "raw_segment_id"]].merge(
        segments[["customer_key", "segment_id"]], on="customer_key"
    )
    mapping = (
        match_labels(paired["raw_segment_id"].to_numpy(), paired["segment_id"].to_numpy())
        if len(paired)
        else {}
    )
    columns = [c for c in current.columns if c in reference.columns]
    return drift_summary(
        reference,
        current,
        columns,
        reference_labels=previous["raw_segment_id"].to_numpy(),
        current_labels=segments["segment_id"].map(lambda s: mapping.get(s, s)).to_numpy(),
    )
