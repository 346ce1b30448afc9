"""What the monitoring checks and assets read: the scored segments, their run id, the previous
recorded run and the feature space the segments were found in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from dagster import MetadataValue

from ml_assets.assignment import SegmentModel
from ml_assets.features import FeatureConfig, build_feature_matrix
from orchestration.defs.resources import ModelStoreResource
from orchestration.defs.segmentation.assets import MODEL_NAME as SEGMENT_MODEL_NAME
from orchestration.io import history, settings, tables
from orchestration.io.attributes import read_attributes
from orchestration.io.catalog import load_attribute_catalog
from orchestration.io.warehouse import read_table


def read_segments(con) -> pd.DataFrame:
    frame = read_table(con, *tables.CUSTOMER_SEGMENTS)
    if frame.empty:
        raise ValueError(f"{tables.CUSTOMER_SEGMENTS.sql} is empty or missing")
    # Keys and segment ids compare as text with the history table.
    return frame.astype({"customer_key": str, "segment_id": str})


def run_id_of(segments: pd.DataFrame) -> tuple[str, str, pd.Timestamp]:
    """(run id, model version, scoring time) of the scoring run that wrote `segments`."""
    model_version = str(segments["model_version"].iloc[0])
    scored_at = pd.Timestamp(segments["assigned_at"].max())
    return history.scoring_run_id(model_version, scored_at), model_version, scored_at


def previous_run(con, run_id: str) -> tuple[str | None, pd.DataFrame]:
    previous_id = history.previous_run_id(con, run_id)
    frame = history.load_run(con, previous_id) if previous_id else pd.DataFrame()
    return previous_id, frame


def scoring_model(
    segments: pd.DataFrame, model_store: ModelStoreResource | None
) -> SegmentModel | None:
    """The stored segment model when it is the one that scored `segments`, else None."""
    model = model_store.load(SEGMENT_MODEL_NAME) if model_store is not None else None
    if model is not None and model.version == str(segments["model_version"].iloc[0]):
        return model
    return None


def _catalog(attributes: pd.DataFrame) -> pd.DataFrame:
    """The dbt attribute catalog; without a manifest, every numeric column counts as allowed."""
    manifest = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    if manifest.exists():
        try:
            return load_attribute_catalog(manifest)
        except ValueError:
            pass
    return _numeric_catalog(attributes)


def _numeric_catalog(attributes: pd.DataFrame) -> pd.DataFrame:
    numeric = [
        c
        for c in attributes.columns
        if c != "customer_key" and pd.api.types.is_numeric_dtype(attributes[c])
    ]
    return pd.DataFrame(
        {
            "attribute_name": numeric,
            "segmentation_policy": "allowed",
            "data_type": "numeric",
            "unit": None,
        }
    )


def feature_matrix(
    con, segments: pd.DataFrame, model: SegmentModel | None = None
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """(X, feature names, raw numeric feature values) of the segmented customers, in their order.

    X comes from the segment model's own transform when it is the model that scored the segments
    (see `scoring_model`), so the bootstrap re-clusters the very space the segments were found
    in. Otherwise (no model stored yet) the transform is refitted the same way (ml_assets.features
    on the catalog-allowed attributes: log1p for skewed amounts, median impute, robust scale,
    clip); without a dbt manifest every numeric column counts as allowed. Governance exclusions
    are not re-applied in that fallback.
    """
    # The model's custom attributes are joined the way scoring joins them (one io helper).
    attributes = (
        read_attributes(
            con, tables.CUSTOMER_ATTRIBUTES, model.catalog, model.transformer.attributes
        )
        if model is not None
        else read_table(con, *tables.CUSTOMER_ATTRIBUTES)
    )
    if attributes.empty:
        raise ValueError(f"{tables.CUSTOMER_ATTRIBUTES.sql} is empty or missing")
    attributes["customer_key"] = attributes["customer_key"].astype(str)
    keys = segments["customer_key"].to_numpy()
    rows = attributes.set_index("customer_key").reindex(keys).reset_index()
    if model is not None:
        transformer = model.transformer
    else:
        quality = read_table(con, *tables.ATTRIBUTE_QUALITY)
        config = FeatureConfig()
        transformer = build_feature_matrix(rows, _catalog(attributes), quality, config).transformer
        if not transformer.feature_names:  # a manifest of another project: numeric columns
            catalog = _numeric_catalog(attributes)
            transformer = build_feature_matrix(rows, catalog, quality, config).transformer
    numeric = [s.attribute for s in transformer.specs if s.kind != "categorical"]
    return transformer.transform(rows), transformer.feature_names, rows[numeric]


def md_table(frame: pd.DataFrame, digits: int = 3) -> MetadataValue:
    return MetadataValue.md(frame.round(digits).to_markdown(index=False))
