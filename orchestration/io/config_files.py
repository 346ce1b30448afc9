"""Reading the files users edit: the governance policy, rule segments, segment names, playbooks
(YAML) and event taxonomy additions (CSV). One reader per format, with limits; the pure core
parses the contents.

A file is looked up in the user's configuration folder first (SEGMENTATION_CONFIG_DIR, kept
outside the checkout so upgrading the project never means merging edits), then in the project's
config/ folder, whose files are the defaults. `make config-init DIR=...` starts such a folder.

Config files are small, hand-written and may come from anyone who can edit a shared folder, so
the reader refuses files over MAX_BYTES, nesting deeper than MAX_DEPTH and YAML alias expansion
beyond MAX_NODES (a few hundred bytes of nested aliases otherwise expand to gigabytes).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from ml_assets.governance import GovernancePolicy, PolicyError, parse_policy
from ml_assets.naming import DEFAULT_PLAYBOOK
from ml_assets.rules import RuleIssue, RuleSet, RuleValidationError, parse_rules
from ml_assets.taxonomy import TaxonomyError, parse_taxonomy_additions
from orchestration.io import settings

POLICY_FILE = "governance_policy.yaml"
RULES_FILE = "rule_segments.yaml"
SEGMENT_NAMES_FILE = "segment_names.yaml"
PLAYBOOKS_FILE = "playbooks.yaml"
# Rows added to the dbt seed dbt_project/seeds/event_taxonomy.csv (same columns); the project's
# copy in config/ is empty, so without a user copy the seed alone is the taxonomy.
TAXONOMY_ADDITIONS_FILE = "event_taxonomy_additions.csv"


MAX_BYTES = 1_000_000
MAX_DEPTH = 50
MAX_NODES = 100_000


class ConfigFileTooLarge(yaml.YAMLError):
    """A config file beyond the reader's size, depth or alias-expansion limits."""


def config_path(name: str) -> Path:
    """The user's copy of a config file when the user folder has one, else the project default.

    Resolved when called, so tests (and a changed SEGMENTATION_CONFIG_DIR) take effect at once.
    """
    user_dir = settings.user_config_dir()
    if user_dir is not None and (user_dir / name).exists():
        return user_dir / name
    return settings.CONFIG_DIR / name


def _check_limits(node: yaml.Node, source: Path) -> None:
    """Depth and expanded size of the composed node graph; aliases share nodes, so memoise."""
    sizes: dict[int, tuple[int, int]] = {}

    def measure(current: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise ConfigFileTooLarge(f"{source}: nested deeper than {MAX_DEPTH} levels")
        if id(current) in sizes:
            return sizes[id(current)]
        children: list[yaml.Node] = []
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [part for pair in current.value for part in pair]
        size, height = 1, 0
        for child in children:
            child_size, child_height = measure(child, depth + 1)
            size, height = size + child_size, max(height, child_height + 1)
            if size > MAX_NODES:
                raise ConfigFileTooLarge(
                    f"{source}: expands to more than {MAX_NODES:,} values (YAML aliases?)"
                )
        sizes[id(current)] = (size, height)
        return size, height

    measure(node, 0)


def read_yaml(path: Path | str, missing_ok: bool = False) -> Any:
    """The parsed file; None for a missing file when `missing_ok`. Raises yaml.YAMLError
    (ConfigFileTooLarge beyond the limits)."""
    path = Path(path)
    if missing_ok and not path.exists():
        return None
    if path.stat().st_size > MAX_BYTES:
        raise ConfigFileTooLarge(f"{path}: larger than {MAX_BYTES:,} bytes")
    text = path.read_text()
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None
    _check_limits(node, path)
    return yaml.safe_load(text)


def load_policy(path: Path | str | None = None) -> GovernancePolicy:
    """Read and validate the policy YAML; raise PolicyError listing every problem."""
    path = Path(path) if path is not None else config_path(POLICY_FILE)
    try:
        raw = read_yaml(path)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    return parse_policy(raw, source=str(path))


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Read the rule file; raise RuleValidationError on invalid YAML or structure."""
    path = Path(path) if path is not None else config_path(RULES_FILE)
    try:
        raw = read_yaml(path)
    except yaml.YAMLError as exc:
        raise RuleValidationError(
            [RuleIssue("(file)", "structure", f"not valid YAML: {exc}")], str(path)
        ) from exc
    return parse_rules(raw, source=str(path))


def load_name_overrides(path: Path | str | None) -> dict[str, str]:
    """segment_id -> name from the names file (`names:` mapping, or a plain mapping)."""
    data = (read_yaml(path, missing_ok=True) if path is not None else None) or {}
    mapping = data.get("names", data) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in (mapping or {}).items() if v}


def load_playbooks(path: Path | str | None) -> dict:
    """The playbook file: `default` plus ordered `rules` (when_name / when_parent regex, when_trait
    key)."""
    data = (read_yaml(path, missing_ok=True) if path is not None else None) or {}
    return {"default": data.get("default", DEFAULT_PLAYBOOK), "rules": data.get("rules", [])}


def load_taxonomy_additions(path: Path | str | None = None) -> list[dict]:
    """The validated rows of the taxonomy additions CSV; TaxonomyError on a bad file."""
    path = Path(path) if path is not None else config_path(TAXONOMY_ADDITIONS_FILE)
    if not path.exists():
        return []
    if path.stat().st_size > MAX_BYTES:
        raise TaxonomyError(f"{path}: larger than {MAX_BYTES:,} bytes")
    return parse_taxonomy_additions(csv.DictReader(io.StringIO(path.read_text())), str(path))


def taxonomy_dbt_vars(path: Path | str | None = None) -> dict:
    """The dbt vars that carry the user's taxonomy additions into int_event_taxonomy, and the
    file they came from (named in the taxonomy tests' messages)."""
    path = Path(path) if path is not None else config_path(TAXONOMY_ADDITIONS_FILE)
    return {
        "event_taxonomy_additions": load_taxonomy_additions(path),
        "event_taxonomy_additions_file": str(path),
    }
