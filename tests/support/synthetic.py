"""Synthetic customers for tests: planted archetypes in attribute-table form, with the catalog,
quality and outcomes tables the segmentation reads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.bench_segmentation import synthetic_matrix  # noqa: F401  (the matrix generator, re-exported)

# Synthetic customers for tests and demos: planted archetypes in attribute-table form.
ARCHETYPES = {
    # archetype: (mrr, growth, events_90d, active_days_30d, days_since, tickets_90d, nps, tenure)
    "champion": (900, 0.25, 4000, 26, 1, 1, 9, 900),
    "disengaging": (1100, -0.30, 300, 4, 25, 2, 5, 1200),
    "new": (120, 0.10, 900, 15, 3, 1, 7, 40),
    "support_heavy": (300, 0.0, 1200, 14, 4, 14, 4, 500),
    "dormant": (40, -0.05, 10, 0.5, 80, 0, 5, 700),
}


def synthetic_customers(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """customer_attributes, catalog, attribute_quality, customer_outcomes and the planted truth.

    The catalog also holds a `prohibited` and a `sensitive` attribute that carry the strongest
    structure of all, an attribute with no values and one with a poor quality score, so tests
    can check that governance, not the data, decides what is clustered on.
    """
    rng = np.random.default_rng(seed)
    names = list(ARCHETYPES)
    truth = np.array(names, dtype=object)[rng.integers(0, len(names), size=n)]
    p = pd.DataFrame(
        [ARCHETYPES[a] for a in truth],
        columns=["mrr", "growth", "events", "active", "since", "tickets", "nps", "tenure"],
    )

    def noisy(col: str, sd: float) -> np.ndarray:  # multiplicative noise keeps counts >= 0
        return p[col].to_numpy() * rng.lognormal(0, sd, size=n)

    attributes = pd.DataFrame(
        {
            "customer_key": [f"c{i:06d}" for i in range(n)],
            "industry": rng.choice(["software", "retail", "finance", "health"], size=n),
            "country": rng.choice(["US", "DE", "FR"], size=n),
            "current_mrr": noisy("mrr", 0.25),
            "mrr_growth_90d": p["growth"].to_numpy() + rng.normal(0, 0.05, size=n),
            "events_90d": np.round(noisy("events", 0.25)),
            "active_days_30d": np.clip(p["active"].to_numpy() + rng.normal(0, 1.5, size=n), 0, 30),
            "days_since_last_activity": np.round(noisy("since", 0.3)),
            "tickets_90d": rng.poisson(p["tickets"].to_numpy()),
            "nps_latest": np.clip(p["nps"].to_numpy() + rng.normal(0, 1.0, size=n), 0, 10),
            "tenure_days": np.round(noisy("tenure", 0.2)),
            "unsubscribed_flag": rng.random(n) < 0.1,
            "emails_delivered_90d": np.full(n, np.nan),  # an absent source
            "support_csat_avg_365d": rng.uniform(1, 5, size=n),  # poor measured quality
            "birth_year": np.where(rng.random(n) < 0.5, 1960, 1995),  # prohibited
            "owner_gender": rng.choice(["f", "m"], size=n),  # sensitive
        }
    )
    meta = {
        # name: (data_type, policy, group, unit)
        "customer_key": ("identifier", "allowed", "identifier", "id"),
        "industry": ("categorical", "allowed", "firmographic", "category"),
        "country": ("categorical", "allowed", "firmographic", "category"),
        "current_mrr": ("numeric", "allowed", "value", "USD"),
        "mrr_growth_90d": ("numeric", "allowed", "value", "ratio"),
        "events_90d": ("numeric", "allowed", "product", "count"),
        "active_days_30d": ("numeric", "allowed", "product", "days"),
        "days_since_last_activity": ("numeric", "allowed", "product", "days"),
        "tickets_90d": ("numeric", "allowed", "support", "count"),
        "nps_latest": ("numeric", "allowed", "satisfaction", "score"),
        "tenure_days": ("numeric", "allowed", "firmographic", "days"),
        "unsubscribed_flag": ("boolean", "allowed", "engagement", "flag"),
        "emails_delivered_90d": ("numeric", "allowed", "engagement", "count"),
        "support_csat_avg_365d": ("numeric", "allowed", "satisfaction", "score"),
        "birth_year": ("numeric", "prohibited", "firmographic", "year"),
        "owner_gender": ("categorical", "sensitive", "firmographic", "category"),
    }
    catalog = pd.DataFrame(
        [
            {
                "attribute_name": name,
                "description": f"synthetic {name}",
                "unit": unit,
                "source": "derived",
                "update_frequency": "daily",
                "segmentation_policy": policy,
                "attribute_group": group,
                "data_type": data_type,
                "behavioural": group in ("product", "engagement"),
            }
            for name, (data_type, policy, group, unit) in meta.items()
        ]
    )
    quality = pd.DataFrame(
        {
            "attribute_name": catalog["attribute_name"],
            "completeness": 1.0,
            "validity": 1.0,
            "freshness": 1.0,
            "quality_score": [
                0.2 if a == "support_csat_avg_365d" else 0.95 for a in catalog["attribute_name"]
            ],
        }
    )
    churn_p = np.select([truth == "disengaging", truth == "dormant"], [0.4, 0.6], 0.05)
    churned = rng.random(n) < churn_p
    outcomes = pd.DataFrame(
        {
            "customer_key": attributes["customer_key"],
            "revenue_after": attributes["current_mrr"] * 3 * ~churned,
            "churned": churned,
            "retained": ~churned,
            "expanded": (truth == "champion") & (rng.random(n) < 0.5),
            "mrr_change": attributes["current_mrr"] * attributes["mrr_growth_90d"],
            "converted": True,
        }
    )
    return {
        "attributes": attributes,
        "catalog": catalog,
        "quality": quality,
        "outcomes": outcomes,
        "truth": pd.Series(truth, index=attributes.index, name="archetype"),
    }
