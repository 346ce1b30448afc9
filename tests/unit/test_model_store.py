"""The model store: artifacts round-trip, and one written by an older code layout is no model."""

from __future__ import annotations

import logging
import pickle
import sys
import types

from orchestration.io.model_store import ModelStore


def test_save_and_load_the_latest_version(tmp_path):
    store = ModelStore(tmp_path)
    store.save("segment_model", "v1", {"k": 3})
    store.save("segment_model", "v2", {"k": 4})
    assert store.latest_version("segment_model") == "v2"
    assert store.load("segment_model") == {"k": 4}
    assert store.load("segment_model", "v1") == {"k": 3}
    assert store.load("other") is None


def test_artifact_whose_class_module_is_gone_loads_as_no_model(tmp_path, caplog):
    # Pickle an instance of a class from a module that then disappears (a moved class).
    module = types.ModuleType("ml_assets_moved_away")
    exec("class SegmentModel:\n    pass", module.__dict__)
    module.SegmentModel.__module__ = module.__name__
    sys.modules[module.__name__] = module
    try:
        payload = pickle.dumps(module.SegmentModel())
    finally:
        del sys.modules[module.__name__]
    store = ModelStore(tmp_path)
    target = store.save("segment_model", "old", None)
    target.write_bytes(payload)
    with caplog.at_level(logging.WARNING, logger="orchestration.io.model_store"):
        assert store.load("segment_model") is None
    assert "does not load with this version of the code" in caplog.text
    assert "ml_assets_moved_away" in caplog.text
