"""Reading the YAML files users edit in config/: the governance policy, rule segments, segment
names and playbooks. One reader for all of them; the pure core parses the mappings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ml_assets.governance import GovernancePolicy, PolicyError, parse_policy
from ml_assets.naming import DEFAULT_PLAYBOOK
from ml_assets.rules import RuleIssue, RuleSet, RuleValidationError, parse_rules
from orchestration.io import settings

POLICY_FILE = "governance_policy.yaml"
RULES_FILE = "rule_segments.yaml"
SEGMENT_NAMES_FILE = "segment_names.yaml"
PLAYBOOKS_FILE = "playbooks.yaml"


def config_path(name: str) -> Path:
    """A file of the config folder (read when called, so tests can point it elsewhere)."""
    return settings.CONFIG_DIR / name


def read_yaml(path: Path | str, missing_ok: bool = False) -> Any:
    """The parsed file; None for a missing file when `missing_ok`. Raises yaml.YAMLError."""
    path = Path(path)
    if missing_ok and not path.exists():
        return None
    return yaml.safe_load(path.read_text())


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
    """The playbook file: `default` plus ordered `rules` (when_name regex / when_trait key)."""
    data = (read_yaml(path, missing_ok=True) if path is not None else None) or {}
    return {"default": data.get("default", DEFAULT_PLAYBOOK), "rules": data.get("rules", [])}
