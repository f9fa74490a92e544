"""Ask settings saved beside an index: overrides only, read back over the defaults, and
validated: a bad file is a one-line error naming the setting, never silently ignored."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from qa.config import ASK_CONFIG_FILE, AskSettings
from qa.errors import ConfigError


def test_only_overrides_are_saved_and_defaults_fill_the_rest(tmp_path):
    replace(AskSettings(), abstain_threshold=0.123).save(tmp_path)
    assert json.loads((tmp_path / ASK_CONFIG_FILE).read_text()) == {"abstain_threshold": 0.123}
    loaded = AskSettings.load(tmp_path)
    assert loaded.abstain_threshold == 0.123 and loaded.top_k == AskSettings().top_k


def test_read_k_is_the_reader_s_own_until_an_index_sets_it(tmp_path):
    from qa.config import READER_READ_K

    assert AskSettings().read_k is None and READER_READ_K == 4
    replace(AskSettings(), read_k=7).save(tmp_path)
    assert json.loads((tmp_path / ASK_CONFIG_FILE).read_text()) == {"read_k": 7}
    assert AskSettings.load(tmp_path).read_k == 7


def test_a_missing_config_gives_the_defaults(tmp_path):
    assert AskSettings.load(tmp_path) == AskSettings()
    (tmp_path / ASK_CONFIG_FILE).write_text('{"top_k": 7, "read_first": 3}')
    assert AskSettings.load(tmp_path) == replace(AskSettings(), top_k=7, read_first=3)


def test_the_extractor_s_settings_are_ignored_and_dropped_at_the_next_save(tmp_path):
    (tmp_path / ASK_CONFIG_FILE).write_text('{"top_k": 7, "span_weight": 0.3, "untyped_clause": false}')
    settings = AskSettings.load(tmp_path)
    assert settings == replace(AskSettings(), top_k=7)
    settings.save(tmp_path)
    assert json.loads((tmp_path / ASK_CONFIG_FILE).read_text()) == {"top_k": 7}


@pytest.mark.parametrize(
    "text, named",
    [
        ("garbage{", "not valid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"abstain_threshold": "high"}', 'abstain_threshold: expected a number, got "high"'),
        ('{"top_k": "x"}', 'top_k: expected an integer, got "x"'),
        ('{"top_k": 2.5}', "top_k: expected an integer"),
        ('{"top_k": true}', "top_k: expected an integer"),
        ('{"dense_weight": null}', "dense_weight: expected a number, got null"),
        ('{"top_k": -5}', "top_k: must be at least 1, got -5"),
        ('{"read_first": 0}', "read_first: must be at least 1, got 0"),
        ('{"read_k": 0}', "read_k: must be at least 1, got 0"),
        ('{"read_k": 2.5}', "read_k: expected an integer"),
        ('{"dense_weight": 1.5}', "dense_weight: must be between 0.0 and 1.0"),
        ('{"no_such_setting": 1}', "no_such_setting: unknown field"),
        ('{"calibration": 3}', "calibration: expected an object"),
    ],
)
def test_a_bad_config_is_a_one_line_error_naming_the_setting(tmp_path, text, named):
    (tmp_path / ASK_CONFIG_FILE).write_text(text)
    with pytest.raises(ConfigError) as info:
        AskSettings.load(tmp_path)
    message = str(info.value)
    assert named in message and str(tmp_path / ASK_CONFIG_FILE) in message
    assert "\n" not in message and message.endswith("fix or delete it")


def test_config_and_calibration_are_one_file_written_atomically(tmp_path, monkeypatch):
    record = {"abstain_threshold": 0.4, "curve": [{"threshold": 0.4}]}
    replace(AskSettings(), abstain_threshold=0.4).save(tmp_path, calibration=record)
    saved = json.loads((tmp_path / ASK_CONFIG_FILE).read_text())
    assert saved == {"abstain_threshold": 0.4, "calibration": record}
    assert AskSettings.load(tmp_path).abstain_threshold == 0.4
    # Saving other settings keeps the calibration that is there.
    replace(AskSettings(), abstain_threshold=0.4, top_k=3).save(tmp_path)
    assert json.loads((tmp_path / ASK_CONFIG_FILE).read_text())["calibration"] == record
    # A write that dies before the rename leaves the previous file whole, and no temp file.
    before = (tmp_path / ASK_CONFIG_FILE).read_bytes()

    def die(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("qa.config.os.replace", die)
    with pytest.raises(KeyboardInterrupt):
        replace(AskSettings(), abstain_threshold=0.9).save(tmp_path, calibration={"abstain_threshold": 0.9})
    assert (tmp_path / ASK_CONFIG_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [ASK_CONFIG_FILE]
