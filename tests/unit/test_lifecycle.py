"""The retrain-or-keep decision: each reason, in order of precedence, on the data's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from ml_assets.lifecycle import LifecyclePolicy, decide_training, training_signature

NOW = datetime(2026, 6, 1)
POLICY = LifecyclePolicy()
SIGNATURE = training_signature(["current_mrr", "events_30d"], {"gender": "protected"}, {"k": 5})


def _decide(trained_days_ago: float | None = 10, **kwargs):
    trained_at = None if trained_days_ago is None else NOW - timedelta(days=trained_days_ago)
    arguments = {
        "trained_at": trained_at,
        "previous_signature": SIGNATURE,
        "signature": SIGNATURE,
        "now": NOW,
        "policy": POLICY,
        **kwargs,
    }
    return decide_training(**arguments)


def test_recent_model_with_nothing_changed_is_kept():
    decision = _decide(10)
    assert not decision.train and decision.reason.startswith("trained 10 days ago")


def test_every_reason_to_retrain():
    assert _decide(None).reason == "no model yet"
    assert _decide(10, force=True).reason == "retrain asked in the launchpad"
    changed = training_signature(["current_mrr"], {"gender": "protected"}, {"k": 5})
    assert "changed" in _decide(10, signature=changed).reason
    drift = _decide(10, recommendation="major drift (PSI >= 0.25) on events_30d")
    assert drift.train and drift.reason.endswith("on events_30d")
    cadence = _decide(91)
    assert cadence.train and cadence.reason.startswith("retrain cadence reached (trained 91 days")


def test_signature_ignores_order_but_not_content():
    assert SIGNATURE == training_signature(["events_30d", "current_mrr"], {"gender": "x"}, {"k": 5})
    assert SIGNATURE != training_signature(["events_30d", "current_mrr"], {}, {"k": 5})
    assert SIGNATURE != training_signature(["events_30d", "current_mrr"], {"gender": "x"}, {"k": 6})
