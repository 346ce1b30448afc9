"""Config files: the user's folder outside the checkout wins over the project defaults, and the
YAML reader refuses files beyond its size, depth and alias-expansion limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestration.io import config_files
from orchestration.io.config_files import ConfigFileTooLarge, config_path, read_yaml
from orchestration.io.settings import CONFIG_DIR


def test_user_folder_wins_and_missing_files_fall_back(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SEGMENTATION_CONFIG_DIR", raising=False)
    assert config_path("rule_segments.yaml") == CONFIG_DIR / "rule_segments.yaml"
    (tmp_path / "rule_segments.yaml").write_text("segments: []\n")
    monkeypatch.setenv("SEGMENTATION_CONFIG_DIR", str(tmp_path))
    assert config_path("rule_segments.yaml") == tmp_path / "rule_segments.yaml"
    assert config_path("playbooks.yaml") == CONFIG_DIR / "playbooks.yaml"  # not in the folder
    assert list(config_files.load_rules().segments) == []


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # 9 levels of 9 aliases each: about 387 million values once expanded.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    bomb = tmp_path / "rule_segments.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 1_000
    started = time.monotonic()
    with pytest.raises(ConfigFileTooLarge, match="expands to more than 100,000 values"):
        read_yaml(bomb)
    assert time.monotonic() - started < 5  # refused before expanding anything


def test_deep_nesting_and_huge_files_are_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 60 + "]" * 60 + "\n")
    with pytest.raises(ConfigFileTooLarge, match="nested deeper than 50 levels"):
        read_yaml(deep)
    huge = tmp_path / "huge.yaml"
    huge.write_text("# " + "x" * 1_000_001 + "\n")
    with pytest.raises(ConfigFileTooLarge, match="larger than 1,000,000 bytes"):
        read_yaml(huge)


def test_ordinary_anchors_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {min: 1}\nsegments: [*b, *b]\n")
    assert read_yaml(path) == {"base": {"min": 1}, "segments": [{"min": 1}, {"min": 1}]}
