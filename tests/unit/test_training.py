"""Training as a plain function: frames in, the versioned model and its tables and charts out."""

from __future__ import annotations

import pandas as pd

from ml_assets.features import FeatureConfig
from ml_assets.selection import SelectionConfig
from ml_assets.training import consent_applies, train
from tests.support.synthetic import synthetic_customers

FAST = SelectionConfig(candidates=("kmeans",), bootstrap_rounds=3, k_max=6)


def _train(data, **kwargs):
    return train(
        data["attributes"],
        data["catalog"],
        data["quality"],
        FeatureConfig(),
        FAST,
        **{"excluded": {}, "consent_mask": None, **kwargs},
    )


def test_train_returns_the_versioned_model_its_tables_and_charts():
    data = synthetic_customers(600, seed=3)
    result = _train(data, excluded={"tenure_days": "excluded in the segmentation config"})
    model = result.model
    assert len(model.version) == 12
    assert (result.selection["model_version"] == model.version).all()
    assert result.selection["chosen"].sum() == 1
    assert list(result.features.columns) == [
        "attribute",
        "used",
        "group",
        "transform",
        "represents",
        "reason",
        "model_version",
    ]
    dropped = result.features.set_index("attribute")
    assert not dropped.loc["tenure_days", "used"]
    assert dropped.loc["tenure_days", "reason"].endswith("excluded in the segmentation config")
    assert list(result.segments["segment_id"]) == model.segment_ids
    assert result.segments["customers"].sum() == 600
    assert set(result.images) == {"segment_sizes", "projection", "lift_heatmap"}
    assert all(png.startswith(b"\x89PNG") for png in result.images.values())


def test_version_follows_data_and_config():
    data = synthetic_customers(400, seed=4)
    first = _train(data, config_fingerprint={"seed": 1}).model.version
    assert _train(data, config_fingerprint={"seed": 1}).model.version == first
    assert _train(data, config_fingerprint={"seed": 2}).model.version != first


def test_data_fingerprint_ignores_row_order_and_float_summation_noise():
    """A warehouse average over rows in another order differs in its last bits: same data."""
    from ml_assets.features import frame_fingerprint

    frame = pd.DataFrame(
        {"customer_key": ["a", "b", "c"], "x": [18.344871794871796, 16.081666666666667, 2.5]}
    )
    noisy = frame.assign(x=[18.344871794871793, 16.08166666666667, 2.5]).iloc[::-1]
    assert frame_fingerprint(noisy) == frame_fingerprint(frame)
    assert frame_fingerprint(frame.assign(x=[18.35, 16.081666666666667, 2.5])) != (
        frame_fingerprint(frame)
    )


def test_consent_mask_applies_only_when_there_is_behaviour():
    data = synthetic_customers(400, seed=5)
    mask = pd.Series(True, index=data["attributes"].index)
    mask.iloc[:50] = False
    assert consent_applies(data["attributes"], data["catalog"], {})
    assert len(_train(data, consent_mask=mask).model.membership) == 350

    behavioural = data["catalog"].loc[data["catalog"]["behavioural"], "attribute_name"]
    flat = data["attributes"].assign(**{name: 0 for name in behavioural})
    assert not consent_applies(flat, data["catalog"], {})
    assert len(_train({**data, "attributes": flat}, consent_mask=mask).model.membership) == 400
