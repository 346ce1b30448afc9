"""Segment names and playbook actions, built from the traits that define each segment.

Attributes are rolled up into a few business concepts (value, growth, engagement, support,
satisfaction, tenure) using the catalog's attribute groups, so the rules read like a
customer-success lead would say them. A names file (segment_id -> name) overrides any generated
or inherited name; a playbook file maps names and traits to the action the team takes.
"""

from __future__ import annotations

import re

import pandas as pd

GROUP_CONCEPTS = {
    "value": "value",
    "product": "engagement",
    "engagement": "engagement",
    "support": "support",
    "satisfaction": "satisfaction",
}
HIGH, LOW = 0.5, -0.5
DEFAULT_PLAYBOOK = {"action": "Keep in the standard lifecycle programme", "create_csm_task": False}


def concept_of(attribute: str, group: str | None) -> tuple[str, float] | None:
    """The concept an attribute speaks to and its sign (days since last activity: less engaged)."""
    name = attribute.lower()
    if "tenure" in name:
        return "tenure", 1.0
    if "growth" in name or "trend" in name:
        return "growth", 1.0
    if name.startswith("days_since") or "unsubscribe" in name:
        return "engagement", -1.0
    if "late_payment" in name:
        return None  # a payment risk, neither value nor engagement
    if "csat" in name or "nps" in name:
        return "satisfaction", 1.0
    concept = GROUP_CONCEPTS.get((group or "").lower())
    return (concept, 1.0) if concept else None


def concept_scores(stats: pd.DataFrame, catalog: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per segment, the mean signed standardised difference of each concept's attributes."""
    groups = dict(zip(catalog["attribute_name"], catalog["attribute_group"], strict=False))
    scores: dict[str, dict[str, float]] = {}
    for segment, rows in stats.groupby("segment_id", sort=True):
        sums: dict[str, list[float]] = {}
        for row in rows.itertuples():
            mapped = concept_of(row.attribute_name, groups.get(row.attribute_name))
            if mapped:
                sums.setdefault(mapped[0], []).append(mapped[1] * float(row.std_diff))
        scores[segment] = {concept: sum(v) / len(v) for concept, v in sums.items()}
    return scores


def trait_keys(concepts: dict[str, float]) -> set[str]:
    """Keys like `support:high` or `engagement:low` that playbook rules can refer to."""
    keys = set()
    for concept, score in concepts.items():
        if score >= HIGH:
            keys.add(f"{concept}:high")
        elif score <= LOW:
            keys.add(f"{concept}:low")
    return keys


def base_name(c: dict[str, float]) -> str:
    """The rule-based name of a segment from its concept scores (first rule that fits wins)."""
    value, growth, engagement = c.get("value", 0.0), c.get("growth", 0.0), c.get("engagement", 0.0)
    support, satisfaction, tenure = (
        c.get("support", 0.0),
        c.get("satisfaction", 0.0),
        c.get("tenure", 0.0),
    )
    if engagement <= -0.7 and value <= 0:
        return "Dormant"
    if value >= HIGH and (growth <= -0.4 or engagement <= -0.4):
        return "High value, disengaging"
    if tenure <= -0.6:
        return "New and ramping"
    if support >= 0.7:
        return "Support-heavy"
    if growth >= HIGH and engagement >= 0.3:
        return "Growing champions"
    if value >= HIGH and engagement >= 0.3:
        return "High value, engaged"
    if satisfaction <= LOW:
        return "Unhappy"
    if value >= HIGH:
        return "High value"
    if engagement >= HIGH:
        return "Highly engaged"
    if engagement <= LOW:
        return "Low engagement"
    if growth >= HIGH:
        return "Growing"
    return "Steady low-touch"


def _trait_label(trait: dict) -> str:
    return f"{trait['direction']} {trait['attribute'].replace('_', ' ')}"


def generate_names(
    concepts: dict[str, dict[str, float]],
    traits: dict[str, list[dict]],
    fixed: dict[str, str] | None = None,
) -> dict[str, str]:
    """A unique name per segment; `fixed` names (inherited or overridden) are kept as they are.

    A generated name that is already taken gets the segment's strongest trait appended, then a
    number, so two segments never share a name within a run.
    """
    fixed = fixed or {}
    names = {segment: fixed[segment] for segment in concepts if segment in fixed}
    taken = set(names.values())
    for segment in sorted(concepts):
        if segment in names:
            continue
        name = base_name(concepts[segment])
        for trait in traits.get(segment, []):
            if name not in taken:
                break
            name = f"{base_name(concepts[segment])} ({_trait_label(trait)})"
        candidate, number = name, 2
        while candidate in taken:
            candidate = f"{name} {number}"
            number += 1
        names[segment] = candidate
        taken.add(candidate)
    return names


def playbook_for(name: str, keys: set[str], playbooks: dict, parent: str | None = None) -> dict:
    """The first rule whose name pattern, trait key or parent pattern matches, else the default.

    `when_parent` is a regular expression on the parent segment's name or id ("High value",
    "grp_01"): one rule for every sub-segment of a macro segment.
    """
    for rule in playbooks.get("rules", []):
        by_name = rule.get("when_name") and re.search(rule["when_name"], name, re.IGNORECASE)
        by_trait = rule.get("when_trait") and rule["when_trait"] in keys
        by_parent = (
            rule.get("when_parent")
            and parent
            and re.search(rule["when_parent"], parent, re.IGNORECASE)
        )
        if by_name or by_trait or by_parent:
            return {
                "action": rule["action"],
                "create_csm_task": bool(rule.get("create_csm_task", False)),
            }
    default = playbooks.get("default", DEFAULT_PLAYBOOK)
    return {
        "action": default.get("action", DEFAULT_PLAYBOOK["action"]),
        "create_csm_task": bool(default.get("create_csm_task", False)),
    }


def playbook_actions(
    names: dict[str, str],
    concepts: dict[str, dict[str, float]],
    playbooks: dict,
    parents: dict[str, tuple[str | None, str | None]] | None = None,
) -> dict[str, dict]:
    """segment_id -> {action, create_csm_task} for every named segment.

    `parents` is segment_id -> (parent id, parent name), for `when_parent` rules.
    """
    parents = parents or {}

    def parent_text(segment: str) -> str | None:
        parent_id, parent_name = parents.get(segment, (None, None))
        return " ".join(p for p in (parent_id, parent_name) if p) or None

    return {
        segment: playbook_for(
            name, trait_keys(concepts.get(segment, {})), playbooks, parent_text(segment)
        )
        for segment, name in names.items()
    }
