"""The segmentation's launchpad config, one Config per concern, built from the pure configs.

Defaults and descriptions live once, on the pure dataclasses (`SelectionConfig`,
`FeatureConfig`): every field whose metadata carries a `description` becomes a field of the
Dagster Config of the same concern, so nothing is copied field by field and no default is
repeated. Nested Configs are edited in the launchpad as `selection: {k_max: 6}`.
"""

# No `from __future__ import annotations` here: Dagster reads Config fields from runtime types.
import dataclasses
import typing

from dagster import Config
from pydantic import Field, create_model

from ml_assets.features import FeatureConfig
from ml_assets.lifecycle import LifecyclePolicy
from ml_assets.selection import SelectionConfig


def _launchpad_type(annotation):
    """Dagster config has lists, not tuples: a tuple[str, ...] is edited as list[str]."""
    if typing.get_origin(annotation) is tuple:
        return list[typing.get_args(annotation)[0]]
    return annotation


def launchpad_config(pure: type, name: str, doc: str) -> type[Config]:
    """A Dagster Config with the described fields of the dataclass `pure` (same defaults)."""
    hints = typing.get_type_hints(pure)
    fields = {}
    for spec in dataclasses.fields(pure):
        if "description" not in spec.metadata:
            continue  # an internal knob: not editable in the launchpad
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        fields[spec.name] = (
            _launchpad_type(hints[spec.name]),
            Field(default=default, description=spec.metadata["description"]),
        )
    return create_model(name, __base__=Config, __doc__=doc, __module__=__name__, **fields)


def to_pure(settings: Config, pure: type):
    """The pure dataclass of a launchpad Config (lists back to tuples; internal knobs default)."""
    values = settings.model_dump()
    return pure(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


SelectionSettings = launchpad_config(
    SelectionConfig, "SelectionSettings", "Model selection: candidates, k range and cut-offs."
)
FeatureSettings = launchpad_config(
    FeatureConfig, "FeatureSettings", "The feature matrix built from the attribute catalog."
)
LifecycleSettings = launchpad_config(
    LifecyclePolicy, "LifecycleSettings", "When the model is retrained rather than re-used."
)


class SegmentationConfig(Config):
    """How segments are discovered; every field is editable in the launchpad."""

    selection: SelectionSettings = Field(  # type: ignore[valid-type]
        default_factory=SelectionSettings,
        description="Model selection: algorithms compared, k range, sample sizes and cut-offs.",
    )
    features: FeatureSettings = Field(  # type: ignore[valid-type]
        default_factory=FeatureSettings, description="Which attributes become features, and how."
    )
    lifecycle: LifecycleSettings = Field(  # type: ignore[valid-type]
        default_factory=LifecycleSettings,
        description="Review and retrain cadence; set retrain: true to retrain now.",
    )
    excluded_attributes: list[str] = Field(
        default=[],
        description="Attributes blocked from segmentation in addition to the catalog policy.",
    )
    manifest_path: str = Field(
        default="",
        description="dbt manifest with the attribute catalog; empty: dbt_project/target.",
    )

    def feature_config(self) -> FeatureConfig:
        return to_pure(self.features, FeatureConfig)

    def selection_config(self) -> SelectionConfig:
        return to_pure(self.selection, SelectionConfig)

    def lifecycle_policy(self) -> LifecyclePolicy:
        return to_pure(self.lifecycle, LifecyclePolicy)

    def training_fingerprint(self) -> dict:
        """The config that shapes a trained model: everything but the lifecycle knobs."""
        return self.model_dump(exclude={"lifecycle"})
