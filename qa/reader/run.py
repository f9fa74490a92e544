"""`qa train-reader`: training, calibration, weights and a written summary."""

from __future__ import annotations

import datetime as dt
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.index.manifest import sha256_file
from qa.reader.cross_encoder import CrossConfig
from qa.reader.cross_training import CrossSettings, train_cross
from qa.reader.heldout import calibrate_heldout
from qa.reader.squad import read_squad
from qa.reader.weights import save_reader
from qa.types import Progress


def train_cross_reader(
    squad_json: Path,
    out: Path,
    cache: Path,
    settings: CrossSettings,
    config: CrossConfig = CrossConfig(),
    *,
    progress: Callable[[Progress], None] = lambda event: None,
    log: Callable[[str], None] = print,
) -> dict:
    """Fine-tune, calibrate and save a cross-encoder reader into `out`; returns the summary."""
    from qa.reader.cross_encoder import trained_tensors

    started = time.time()
    paragraphs = read_squad(squad_json)
    log(f"{squad_json}: {len(paragraphs):,} paragraphs, {sum(len(p.questions) for p in paragraphs):,} questions")

    def keep(model, figures):
        # A usable reader at every validation: a long run cut short still leaves weights.
        save_reader(out / "checkpoint", trained_tensors(model), config, {"checkpoint": figures})

    model, history = train_cross(
        paragraphs, settings, config,
        on_step=lambda step, total, loss: progress(Progress("train", step, total, f"loss {loss:.3f}")),
        on_validation=keep,
        log=log,
    )
    return _calibrate_and_save(
        paragraphs, squad_json, out, cache, trained_tensors(model), config, settings, history, started, progress, log
    )


def _calibrate_and_save(paragraphs, squad_json, out, cache, tensors, config, settings, history, started, progress, log) -> dict:
    """Save, fit the confidence on held-out articles through retrieval, save with the summary."""
    import torch

    save_reader(out, tensors, config, {})  # uncalibrated, for the held-out run below
    log("calibrating confidence on the held-out articles, through retrieval")
    calibration = calibrate_heldout(
        paragraphs, out, cache / "heldout",
        progress=lambda done, total: progress(Progress("calibrate", done, total)),
    )
    log(json.dumps(calibration))
    summary = {
        "trained_on": {"file": squad_json.name, "sha256": sha256_file(squad_json),
                       "license": "CC BY-SA 4.0 (SQuAD 2.0, Rajpurkar, Jia and Liang 2018)"},
        "settings": {k: v for k, v in vars(settings).items()},
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "minutes": round((time.time() - started) / 60, 1),
        "validation": history["validation"][-1] if history["validation"] else {},
        "validation_history": history["validation"],
        "final_loss": float(np.mean(history["loss"][-200:])) if history["loss"] else None,
        "calibration": calibration,
    }
    sha = save_reader(out, tensors, config, summary)
    summary["sha256"] = sha
    (out / "training-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"saved {out} (sha256 {sha}) in {summary['minutes']} min")
    return summary
