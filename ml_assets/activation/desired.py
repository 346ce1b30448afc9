"""The rows each sync wants in its destination, from the warehouse frames (frames in, frames out).

The segment synced per customer is the *published* one of the latest scoring run in the
membership history (anti-flapping holds boundary customers, so the CRM does not see them flip);
before any run is recorded, the raw model assignment is used. Segment ids are stable text ids
("seg_01"); names and playbooks come from the segment profiles by id.

Customers a density model leaves "unsegmented" are not a segment to act on: the CRM field says
`unsegmented` explicitly, with no playbook (an account that leaves a segment must not keep the
stale one in the CRM), and they are in no audience and get no CSM task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ml_assets.flags import as_flags
from ml_assets.governance.consent import (
    marketing_consented,
    marketing_consented_addresses,
    normalise_email,
)
from ml_assets.hierarchy import UNSEGMENTED


@dataclass(frozen=True)
class Inputs:
    segments: pd.DataFrame  # segmentation.customer_segments (raw model assignment)
    customers: pd.DataFrame  # marts.dim_customers
    profiles: pd.DataFrame  # segmentation.segment_profiles
    # The latest run of monitoring.segment_membership_history; None before any run is recorded.
    published: pd.DataFrame | None = None
    # staging.stg_consent__events (email, purpose, granted, recorded_at): marketing consent is
    # per address. The warehouse reader always supplies it; None (hand-built inputs, the bench)
    # falls back to the customer's has_marketing_consent flag.
    consent_events: pd.DataFrame | None = None
    # monitoring.segment_membership_episodes (customer_key, segment_id, entered_at, left_at,
    # episode_key): actions fire once per entry; None before any run is recorded.
    episodes: pd.DataFrame | None = None


def assignments(inputs: Inputs) -> pd.DataFrame:
    """The segment to sync per customer: customer_key, segment_id (text), model_version,
    assigned_at, confidence, segment_name (the assignment's own name, if any).

    The published segment of the latest history run when there is one, else the raw segments.
    """
    raw = inputs.segments
    if inputs.published is None or inputs.published.empty:
        frame = raw[raw["segment_id"].notna()].copy()
    else:
        run = inputs.published
        run = run[run["published_segment_id"].notna()]
        frame = pd.DataFrame(
            {
                "customer_key": run["customer_key"].astype(str),
                "segment_id": run["published_segment_id"],
                "model_version": run["model_version"],
                "assigned_at": run["scored_at"],
            }
        )
        if "confidence" in raw.columns:  # tie-break between customers of one CRM account
            confidence = raw.drop_duplicates("customer_key").set_index("customer_key")
            frame["confidence"] = frame["customer_key"].map(confidence["confidence"])
    frame["segment_id"] = frame["segment_id"].astype(str)
    return _with_episodes(frame, inputs.episodes)


def _with_episodes(frame: pd.DataFrame, spells: pd.DataFrame | None) -> pd.DataFrame:
    """Each assignment's open episode: episode_key and segment_since (when it entered).

    Without recorded episodes (no run yet) the key is customer:segment and since is unknown.
    """
    fallback = frame["customer_key"].astype(str) + ":" + frame["segment_id"].astype(str)
    if spells is None or spells.empty:
        return frame.assign(episode_key=fallback, segment_since=pd.NaT)
    open_spells = spells[spells["left_at"].isna()][
        ["customer_key", "segment_id", "episode_key", "entered_at"]
    ].astype({"customer_key": str, "segment_id": str})
    merged = frame.merge(open_spells, on=["customer_key", "segment_id"], how="left")
    merged["episode_key"] = merged["episode_key"].fillna(fallback)
    return merged.rename(columns={"entered_at": "segment_since"})


def _with_profiles(inputs: Inputs) -> pd.DataFrame:
    """Assigned customers with their customer fields and their segment's name and playbook."""
    frame = assignments(inputs)
    customer_cols = ["customer_key", "crm_account_id", "primary_email", "has_marketing_consent"]
    frame = frame.merge(inputs.customers[customer_cols], on="customer_key", how="inner")
    profiles = inputs.profiles.assign(segment_id=inputs.profiles["segment_id"].astype(str))
    if "model_version" in profiles.columns:  # profiles of several models: prefer ours
        ours = profiles["model_version"].astype(str).isin(set(frame["model_version"].astype(str)))
        profiles = profiles.assign(_ours=ours).sort_values("_ours", ascending=False, kind="stable")
    profile_cols = ["segment_id", "segment_name", "playbook_action", "create_csm_task"]
    profiles = profiles.reindex(columns=profile_cols).drop_duplicates("segment_id")
    frame = frame.merge(profiles, on="segment_id", how="left", suffixes=("_assigned", ""))
    if "segment_name_assigned" in frame.columns:  # a segment without a profile keeps its name
        frame["segment_name"] = frame["segment_name"].fillna(frame["segment_name_assigned"])
    return frame


def _label(frame: pd.DataFrame) -> pd.Series:
    """The segment's name for people (audiences, task titles); its id when it has no name."""
    return frame["segment_name"].fillna(frame["segment_id"]).astype(str)


def desired_crm_fields(inputs: Inputs) -> pd.DataFrame:
    """One row per CRM account: its customer's segment (the most confident one on a tie)."""
    frame = _with_profiles(inputs)
    frame = frame[frame["crm_account_id"].notna()]
    # unsegmented accounts say so; no playbook applies to them
    frame["playbook_action"] = frame["playbook_action"].where(
        frame["segment_id"] != UNSEGMENTED, None
    )
    sort_by = (
        ["crm_account_id", "confidence"] if "confidence" in frame.columns else ["crm_account_id"]
    )
    frame = frame.sort_values(sort_by, ascending=[True] + [False] * (len(sort_by) - 1))
    frame = frame.drop_duplicates("crm_account_id")
    return pd.DataFrame(
        {
            "account_id": frame["crm_account_id"].astype(str),
            "segment_id": frame["segment_id"].astype(str),
            "segment_name": frame["segment_name"],
            "playbook_action": frame["playbook_action"],
            "model_version": frame["model_version"].astype(str),
            # Since when the customer is in this segment (its entry), else when it was assigned.
            "segment_updated_at": pd.to_datetime(frame["segment_since"], utc=True).fillna(
                pd.to_datetime(frame["assigned_at"], utc=True)
            ),
        }
    )


def desired_audiences(inputs: Inputs) -> pd.DataFrame:
    """Audience members, one audience per segment: the customer's primary email, when that
    address's own latest marketing decision is a grant.

    A grant on another address of the same customer (a colleague's) does not make the primary
    email reachable, and no other address is sent instead: the customer is left out.
    """
    frame = _with_profiles(inputs)
    frame = frame[frame["segment_id"] != UNSEGMENTED]  # no audience of the unsegmented
    frame = frame.assign(email=normalise_email(frame["primary_email"]))
    frame = frame[frame["email"].notna()]
    if inputs.consent_events is None:
        frame = marketing_consented(frame)  # null consent is no consent
    else:
        frame = frame[frame["email"].isin(marketing_consented_addresses(inputs.consent_events))]
    members = pd.DataFrame(
        {
            "audience": _label(frame),
            "email": frame["email"].astype(str),
            "customer_key": frame["customer_key"].astype(str),
        }
    )
    return members.sort_values(["audience", "email", "customer_key"]).drop_duplicates(
        ["audience", "email"]
    )


def desired_csm_tasks(inputs: Inputs) -> pd.DataFrame:
    """One task per *entry* into a segment whose playbook asks for one (its episode key):
    staying, re-running or retraining (segment ids are kept) never creates another."""
    frame = _with_profiles(inputs)
    frame = frame[as_flags(frame["create_csm_task"])]
    frame = frame[frame["segment_id"] != UNSEGMENTED]  # no playbook, no task
    action = frame["playbook_action"].fillna("Review the account").astype(str)
    return pd.DataFrame(
        {
            "idempotency_key": frame["episode_key"].astype(str),
            "account_id": frame["crm_account_id"].astype(object),
            "customer_key": frame["customer_key"].astype(str),
            "segment_id": frame["segment_id"].astype(str),
            "segment_name": frame["segment_name"],
            "title": action + " (entered segment " + _label(frame) + ")",
        }
    )


DESIRED_BUILDERS: dict[str, Callable[[Inputs], pd.DataFrame]] = {
    "crm_account_fields": desired_crm_fields,
    "marketing_audiences": desired_audiences,
    "csm_tasks": desired_csm_tasks,
}
