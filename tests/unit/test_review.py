"""The monthly review's recommendation follows its evidence."""

from __future__ import annotations

from ml_assets.monitoring.review import ReviewInputs, review

HEALTHY = ReviewInputs(
    outcomes_passed=True,
    eta_squared=0.4,
    max_cramers_v=0.5,
    stability=0.9,
    agreement=0.95,
    max_psi=0.05,
    drifted=(),
    drift_recommends_redefinition=False,
    model_age_days=20,
    retrain_days=90,
)


def _with(**changes) -> ReviewInputs:
    return ReviewInputs(**{**HEALTHY.__dict__, **changes})


def test_healthy_segments_are_kept_with_every_figure_as_evidence():
    result = review(HEALTHY)
    assert result.recommendation == "keep" and result.summary == "keep"
    assert len(result.evidence) == 5 and set(result.evidence["verdict"]) == {"keep"}


def test_aged_or_unstable_segments_are_retrained():
    assert review(_with(model_age_days=95)).recommendation == "retrain"
    unstable = review(_with(stability=0.7))
    assert unstable.recommendation == "retrain" and "mean Jaccard 0.70" in unstable.summary


def test_lost_meaning_is_a_redefinition_and_outranks_a_retrain():
    drift = review(
        _with(
            max_psi=0.4,
            drifted=("events_30d",),
            drift_recommends_redefinition=True,
            model_age_days=95,
        )
    )
    assert drift.recommendation == "redefine" and "PSI 0.40 on events_30d" in drift.summary
    assert review(_with(outcomes_passed=False)).recommendation == "redefine"


def test_a_first_run_without_history_has_no_figures_to_judge():
    first = review(_with(agreement=None, max_psi=None, outcomes_passed=None))
    assert first.recommendation == "keep" and len(first.evidence) == 2


def test_one_drifting_feature_is_evidence_to_watch_not_a_redefinition():
    watched = review(_with(max_psi=0.6, drifted=("days_since_last_invoice",)))
    assert watched.recommendation == "keep"
    row = watched.evidence[watched.evidence["evidence"].str.startswith("feature drift")].iloc[0]
    assert "days_since_last_invoice" in row["evidence"] and row["verdict"] == "keep"
