"""When to retrain the segment model: the decision and its reason, pure.

Segments must be stable from run to run, so a daily refresh re-*scores* with the current model
and only some events re-*train* it: no model yet, a user asking in the launchpad, a change of
what the model is made of (the candidate features, governance exclusions or the training config:
its signature), monitoring recommending redefinition (major drift, outcome validation), or the
retrain cadence. A monthly review (the review cadence) looks at the evidence without retraining.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

REASON_NO_MODEL = "no model yet"
REASON_ASKED = "retrain asked in the launchpad"
REASON_SIGNATURE = "features, governance policy or training config changed"
REASON_RECOMMENDED = "monitoring recommends redefinition"
REASON_CADENCE = "retrain cadence reached"


@dataclass(frozen=True)
class LifecyclePolicy:
    """Default: review monthly, retrain quarterly (days of data time, not wall-clock time)."""

    review_days: int = field(
        default=30, metadata={"description": "Days between monthly reviews of the segments."}
    )
    retrain_days: int = field(
        default=90,
        metadata={"description": "Retrain when the model is this many days (of data) old."},
    )
    retrain: bool = field(
        default=False,
        metadata={"description": "Retrain in this run, whatever the cadence says."},
    )


@dataclass(frozen=True)
class TrainingDecision:
    train: bool
    reason: str

    @property
    def keeps_structure(self) -> bool:
        """A scheduled or asked-for retrain refreshes the current segments; a redefinition
        (monitoring recommends it, features or config changed) or a first model draws anew."""
        return self.train and self.reason.startswith((REASON_CADENCE, REASON_ASKED))

    @property
    def summary(self) -> str:
        return f"{'retrain' if self.train else 'keep the model'}: {self.reason}"


def training_signature(
    candidates: list[str], excluded: dict[str, str], config: dict[str, Any]
) -> str:
    """What the model is made of, independent of the data: same signature, same kind of model."""
    payload = json.dumps(
        {"candidates": sorted(candidates), "excluded": sorted(excluded), "config": config},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def decide_training(
    *,
    trained_at: datetime | None,
    previous_signature: str | None,
    signature: str,
    now: datetime,
    policy: LifecyclePolicy,
    recommendation: str | None = None,
    force: bool = False,
) -> TrainingDecision:
    """Retrain or keep the stored model; `trained_at` None means there is no usable model."""
    if trained_at is None:
        return TrainingDecision(True, REASON_NO_MODEL)
    if force:
        return TrainingDecision(True, REASON_ASKED)
    if previous_signature != signature:
        return TrainingDecision(True, REASON_SIGNATURE)
    if recommendation:
        return TrainingDecision(True, f"{REASON_RECOMMENDED}: {recommendation}")
    age_days = (now - trained_at).total_seconds() / 86_400
    if age_days >= policy.retrain_days:
        return TrainingDecision(
            True, f"{REASON_CADENCE} (trained {age_days:.0f} days ago, every {policy.retrain_days})"
        )
    return TrainingDecision(
        False,
        f"trained {age_days:.0f} days ago; next scheduled retrain after {policy.retrain_days}",
    )
