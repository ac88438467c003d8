"""This browser's training runs: start or resume one, find the current one from any tab, list
the saved ones (also after a server restart), and keep the runs folder and uploads in bounds
(`GAN_RUNS_DIR`, `GAN_KEEP_DAYS`, `GAN_KEEP_GB`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from gan.config import RunConfig, parse_float
from gan.detectors import QUALITY_EVERY_S  # live quality metrics, when the classifier is shipped
from gan.metrics import CLASSIFIER, REFERENCE
from gan.registry import RunRegistry, SavedRun, clean_up
from gan.runs import BackgroundRun, in_this_process
from pages.common.resources import training_data
from pages.common.server import (
    browser_id,
    browser_present,
    max_training_seconds,
    training_runner,
    training_slots,
    wait_for_tensorflow,
)

# A run with no tab of its browser open (closed) stops after this long (GAN_IDLE_TIMEOUT_S).
IDLE_TIMEOUT_S = parse_float(
    "GAN_IDLE_TIMEOUT_S", os.environ.get("GAN_IDLE_TIMEOUT_S", "60"), 0.0, 86400.0
)
TEMP = Path(tempfile.gettempdir())
RUNS_ROOT = Path(os.environ.get("GAN_RUNS_DIR") or TEMP / "gan-studio-runs")
UPLOADS = Path(os.environ.get("GAN_UPLOADS_DIR") or TEMP / "gan-studio-uploads")


@st.cache_resource
def registry() -> RunRegistry:
    """Every browser's runs on this server (saved ones are read from RUNS_ROOT)."""
    return RunRegistry(RUNS_ROOT)


def current_run() -> BackgroundRun | None:
    """This browser's latest run on this server, if any (the same in all its tabs)."""
    return registry().latest(browser_id())


def saved_runs() -> list[SavedRun]:
    """This browser's saved runs, oldest first: ended ones and interrupted ones."""
    return registry().saved(browser_id())


def start_run(config: RunConfig, resume: Path | None = None) -> None:
    """Start a background run for this browser, in a fresh run folder (or continuing the
    saved run in `resume`); it stops IDLE_TIMEOUT_S after the browser's last tab closed."""
    owner = browser_id()
    run = make_run(config, resume, idle_timeout=IDLE_TIMEOUT_S, present=browser_present(owner))
    registry().add(owner, run)


def make_run(
    config: RunConfig, resume: Path | None = None, longest: float | None = None, **watch: Any
) -> BackgroundRun:
    """A started background run of `config` in a fresh run folder of this browser (or the
    saved run in `resume`), trained at most `longest` seconds (default: the server's limit);
    `watch`: its idle watch (see `BackgroundRun`)."""
    clean_up_old_files()
    out_dir = resume or registry().folder_for(browser_id())
    quality_every = QUALITY_EVERY_S if CLASSIFIER.is_file() and REFERENCE.is_file() else None
    longest = longest or max_training_seconds()
    budget = min(config.max_seconds or longest, longest)
    values = {"out_dir": str(out_dir), "quality_every": quality_every, "max_seconds": budget}
    config = RunConfig.from_dict({**config.to_dict(), **values, "resume": resume is not None})
    wait_for_tensorflow()
    data = training_data(config.dataset)  # once per server; a missing dataset is reported now
    runner = training_runner()
    return BackgroundRun(
        config,
        data if runner is in_this_process else None,  # a child or actor reads its own copy
        slots=training_slots(),
        runner=runner,
        **watch,
    ).start()


def resume_run(saved: SavedRun) -> None:
    """Continue a saved run from its last checkpoint."""
    start_run(RunConfig.from_dict(saved.config), resume=saved.folder)


def clean_up_old_files() -> None:
    """Delete run folders and uploads older than GAN_KEEP_DAYS (default 7), then the oldest
    runs while they take more than GAN_KEEP_GB (default 5); never a live run."""
    days = parse_float("GAN_KEEP_DAYS", os.environ.get("GAN_KEEP_DAYS", "7"), 0.0, 3650.0)
    most = parse_float("GAN_KEEP_GB", os.environ.get("GAN_KEEP_GB", "5"), 0.0, 1e6)
    try:
        clean_up(RUNS_ROOT, days * 86400, int(most * 2**30), registry().live_folders())
        clean_up(UPLOADS, days * 86400, int(most * 2**30), pattern="*")
    except OSError as error:  # a clean-up that fails must not stop a training
        st.toast(f"Could not clean up old runs ({error.strerror}).")


def run_label(saved: SavedRun) -> str:
    """One line naming a saved run: when, what, how far, how it ended."""
    name = saved.folder.name  # YYYYmmdd-HHMMSS
    when = f"{name[9:11]}:{name[11:13]}:{name[13:15]}"
    how = saved.end["reason"] if saved.end else "interrupted"
    return f"{when} {saved.config['preset']}, {saved.step:,} steps, {how}"
