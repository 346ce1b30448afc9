"""The monthly review: keep, retrain or redefine the segmentation, with the evidence for it.

Redefine when the segments no longer mean what they did: outcome validation fails (segments do
not differ on revenue or churn) or drift reaches the segmentation (the drift verdict of
ml_assets.monitoring.drift: segment sizes shift, or most features drift majorly together; one
feature's major PSI alone is shown as evidence to watch). Retrain when they still
mean it but have aged: the model is older than the retrain cadence, stability of the chosen
model is below the warn level, or run-to-run agreement is low. Otherwise keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml_assets.monitoring.stability import AGREEMENT_WARN, JACCARD_WARN
from ml_assets.stats import PSI_MAJOR

KEEP, RETRAIN, REDEFINE = "keep", "retrain", "redefine"
EVIDENCE_COLUMNS = ["evidence", "figure", "threshold", "verdict"]


@dataclass(frozen=True)
class ReviewInputs:
    outcomes_passed: bool | None  # None: no outcomes to test yet
    eta_squared: float | None
    max_cramers_v: float | None
    stability: float | None  # mean bootstrap Jaccard of the chosen model (selection table)
    agreement: float | None  # ARI of the last two runs' published segments
    max_psi: float | None
    drifted: tuple[str, ...]
    drift_recommends_redefinition: bool | None  # the stored drift verdict; None: not measured
    model_age_days: float | None
    retrain_days: int


@dataclass(frozen=True)
class Review:
    recommendation: str
    evidence: pd.DataFrame  # EVIDENCE_COLUMNS

    @property
    def summary(self) -> str:
        reasons = self.evidence.loc[self.evidence["verdict"] != KEEP, "evidence"].tolist()
        return f"{self.recommendation}" + (f": {'; '.join(reasons)}" if reasons else "")


def review(inputs: ReviewInputs) -> Review:
    rows = []

    def add(evidence: str, figure, threshold: str, verdict: str) -> None:
        rows.append((evidence, figure, threshold, verdict))

    if inputs.outcomes_passed is not None:
        add(
            f"outcome differences (revenue η² {inputs.eta_squared:.3f}, "
            f"churn V {inputs.max_cramers_v:.3f})",
            inputs.eta_squared,
            "η² >= 0.01 or V >= 0.1",
            KEEP if inputs.outcomes_passed else REDEFINE,
        )
    if inputs.max_psi is not None:
        drifted = f" on {', '.join(inputs.drifted)}" if inputs.drifted else ""
        add(
            f"feature drift (max PSI {inputs.max_psi:.2f}{drifted})",
            inputs.max_psi,
            f"segment sizes or most features at PSI >= {PSI_MAJOR}",
            REDEFINE if inputs.drift_recommends_redefinition else KEEP,
        )
    if inputs.stability is not None:
        add(
            f"bootstrap stability (mean Jaccard {inputs.stability:.2f})",
            inputs.stability,
            f">= {JACCARD_WARN}",
            KEEP if inputs.stability >= JACCARD_WARN else RETRAIN,
        )
    if inputs.agreement is not None:
        add(
            f"run-to-run agreement (ARI {inputs.agreement:.2f})",
            inputs.agreement,
            f">= {AGREEMENT_WARN}",
            KEEP if inputs.agreement >= AGREEMENT_WARN else RETRAIN,
        )
    if inputs.model_age_days is not None:
        add(
            f"model age ({inputs.model_age_days:.0f} days of data)",
            inputs.model_age_days,
            f"< {inputs.retrain_days} days",
            RETRAIN if inputs.model_age_days >= inputs.retrain_days else KEEP,
        )
    evidence = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    verdicts = set(evidence["verdict"])
    recommendation = REDEFINE if REDEFINE in verdicts else RETRAIN if RETRAIN in verdicts else KEEP
    return Review(recommendation, evidence)
