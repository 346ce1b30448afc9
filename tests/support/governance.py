"""Governance test builders: a synthetic warehouse with planted associations and a synthetic
dbt manifest that mirrors config/governance_policy.yaml (shared by the governance, rules and
segmentation tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from orchestration.io.settings import CONFIG_DIR
from orchestration.io.warehouse import connect, replace_table

POLICY_PATH = CONFIG_DIR / "governance_policy.yaml"
N_CUSTOMERS = 400
CATEGORICAL = {"customer_type", "industry", "sector", "country"}
IDENTIFIERS = {"customer_key", "reference_date"}
BOOLEAN = {"unsubscribed_flag"}
BEHAVIOURAL_PREFIXES = ("active_", "events", "feature_", "days_since", "usage_", "email", "tickets")


def catalog_meta(policy_file: Path = POLICY_PATH) -> dict[str, dict]:
    """Column meta for the synthetic manifest, mirroring the policy file's attributes."""
    attributes = yaml.safe_load(policy_file.read_text())["attributes"]
    meta = {}
    for name, policy in attributes.items():
        if name in IDENTIFIERS:
            data_type = "identifier"
        elif name in CATEGORICAL:
            data_type = "categorical"
        elif name in BOOLEAN:
            data_type = "boolean"
        else:
            data_type = "numeric"
        meta[name] = {
            "unit": "count",
            "source": "derived",
            "update_frequency": "daily",
            "segmentation_policy": policy,
            "attribute_group": "value",
            "data_type": data_type,
            "behavioural": name.startswith(BEHAVIOURAL_PREFIXES),
        }
    return meta


def write_manifest(path: Path, meta: dict[str, dict]) -> Path:
    """A minimal dbt manifest with the customer_attributes model and its column meta."""
    columns = {
        name: {"name": name, "description": f"{name} (synthetic)", "config": {"meta": m}}
        for name, m in meta.items()
    }
    manifest = {
        "nodes": {
            "model.segmentation.customer_attributes": {
                "resource_type": "model",
                "name": "customer_attributes",
                "columns": columns,
            }
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return path


def synthetic_frames(n: int = N_CUSTOMERS, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Attributes, custom attributes, consent and ML segments with planted associations.

    - preferred_channel follows primary_contact_gender 85% of the time (categorical proxy);
    - support_csat_avg_365d is driven by primary_contact_age_band (numeric proxy);
    - account_tier, region_code and current_mrr are independent of the protected attributes;
    - ML segment 0 is mostly women, so the composition audit has something to show.
    """
    rng = np.random.default_rng(seed)
    keys = [f"c{i:04d}" for i in range(n)]
    gender = rng.choice(["female", "male"], size=n)
    age_band = rng.choice(["18-34", "35-54", "55+"], size=n)
    channel_by_gender = {"female": "email", "male": "phone"}
    channel = np.where(
        rng.random(n) < 0.85,
        [channel_by_gender[g] for g in gender],
        rng.choice(["email", "phone", "chat"], size=n),
    )
    csat_by_age = {"18-34": 2.0, "35-54": 3.5, "55+": 4.8}
    meta = catalog_meta()
    attributes = pd.DataFrame({"customer_key": keys})
    for name, m in meta.items():
        if name == "customer_key":
            continue
        if m["data_type"] == "identifier":
            attributes[name] = pd.Timestamp("2026-01-01")
        elif m["data_type"] == "categorical":
            attributes[name] = rng.choice(["alpha", "beta", "gamma", "delta"], size=n)
        elif m["data_type"] == "boolean":
            attributes[name] = rng.random(n) < 0.2
        else:
            attributes[name] = rng.gamma(2.0, 50.0, size=n).round(2)
    attributes["industry"] = rng.choice(["software", "retail", "finance"], size=n)
    attributes["current_mrr"] = np.round(rng.lognormal(6, 1, size=n), 2)
    attributes["support_csat_avg_365d"] = [csat_by_age[a] + rng.normal(0, 0.3) for a in age_band]
    attributes["tenure_days"] = rng.integers(0, 1500, size=n)
    attributes.loc[:9, "current_mrr"] = np.nan  # missing values exist in real data

    updated = pd.Timestamp("2026-01-01")
    long_rows = []
    for i, key in enumerate(keys):
        values = {
            "primary_contact_gender": gender[i],
            "primary_contact_age_band": age_band[i],
            "preferred_channel": channel[i],
            "account_tier": rng.choice(["gold", "silver", "bronze"]),
            "region_code": rng.choice(["N", "S", "E", "W"]),
            "favourite_colour": rng.choice(["red", "blue"]),  # not classified in the policy
        }
        long_rows += [(key, a, v, updated) for a, v in values.items()]
    # an older value that must lose to the latest one
    long_rows.append((keys[0], "account_tier", "platinum", updated - pd.Timedelta(days=30)))
    custom = pd.DataFrame(long_rows, columns=["customer_key", "attribute", "value", "updated_at"])

    analytics = rng.random(n) < 0.8
    marketing = rng.random(n) < 0.6
    dim_customers = pd.DataFrame(
        {
            "customer_key": keys,
            "has_analytics_consent": analytics,
            "has_marketing_consent": marketing,
        }
    )
    # Own stream: the planted segment mix must not shift when the catalog gains a column.
    segment_id = np.random.default_rng([seed, 1]).integers(0, 3, size=n)
    women = np.flatnonzero(gender == "female")
    segment_id[women[: len(women) // 2]] = 0
    names = {0: "Growing champions", 1: "Quiet majority", 2: "At risk"}
    segments = pd.DataFrame(
        {
            "customer_key": keys,
            "segment_id": segment_id,
            "segment_name": [names[s] for s in segment_id],
        }
    )
    return {
        "customer_attributes": attributes,
        "customer_custom_attributes": custom,
        "dim_customers": dim_customers,
        "customer_segments": segments,
    }


def build_warehouse(path: Path, frames: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the synthetic frames where dbt and the segmentation assets would put them."""
    frames = frames or synthetic_frames()
    with connect(path) as con:
        for table in ("customer_attributes", "customer_custom_attributes", "dim_customers"):
            replace_table(con, "marts", table, frames[table])
        replace_table(con, "segmentation", "customer_segments", frames["customer_segments"])
    return path
