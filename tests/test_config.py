"""Ask settings saved beside an index: overrides only, read back over the defaults."""

from __future__ import annotations

import json
from dataclasses import replace

from qa.config import ASK_CONFIG_FILE, AskSettings


def test_only_overrides_are_saved_and_defaults_fill_the_rest(tmp_path):
    replace(AskSettings(), abstain_threshold=0.123).save(tmp_path)
    assert json.loads((tmp_path / ASK_CONFIG_FILE).read_text()) == {"abstain_threshold": 0.123}
    loaded = AskSettings.load(tmp_path)
    assert loaded.abstain_threshold == 0.123 and loaded.top_k == AskSettings().top_k


def test_missing_unknown_or_broken_config_falls_back_to_defaults(tmp_path):
    assert AskSettings.load(tmp_path) == AskSettings()
    (tmp_path / ASK_CONFIG_FILE).write_text('{"no_such_setting": 1, "top_k": 7}')
    assert AskSettings.load(tmp_path) == replace(AskSettings(), top_k=7)
    (tmp_path / ASK_CONFIG_FILE).write_text("{broken")
    assert AskSettings.load(tmp_path) == AskSettings()
