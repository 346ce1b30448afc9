"""Named automation conditions: when each layer materializes without anyone clicking."""

from __future__ import annotations

from dagster import AutomationCondition


def refresh_on_new_upstream_data() -> AutomationCondition:
    """Warehouse and ML layers: rebuild whenever an upstream asset has new data."""
    return AutomationCondition.eager().with_label("refresh_on_new_upstream_data")


def publish_after_checks_pass() -> AutomationCondition:
    """Anything that writes to the outside world: only when every upstream blocking check passed.

    `eager()` alone ignores upstream checks (DESIGN.md section 6), so the gate is added explicitly.
    """
    return (
        AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("publish_after_checks_pass")
