"""This session's training runs: start one, find the current one, keep finished ones."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from gan.config import RunConfig
from gan.metrics import CLASSIFIER, REFERENCE
from gan.runfolder import GENERATOR
from gan.runs import BackgroundRun, in_this_process
from pages.common.resources import training_data
from pages.common.server import training_runner, training_slots, wait_for_tensorflow
from pages.common.state import ARCHIVED, FINISHED_RUNS, RUN

IDLE_TIMEOUT_S = 60.0  # a run nobody watches (closed tab) stops after this long
QUALITY_EVERY_S = 8.0  # live sample-quality metrics, when the classifier is shipped
RUNS_ROOT = Path(os.environ.get("GAN_RUNS_DIR") or Path(tempfile.gettempdir()) / "gan-studio-runs")


@dataclass(frozen=True)
class FinishedRun:
    """What the compare view keeps of an ended run."""

    label: str
    history: dict[str, list[float]]
    grid: np.ndarray | None
    generator_path: Path
    reason: str


def current_run() -> BackgroundRun | None:
    """The session's latest run, if any."""
    return st.session_state.get(RUN)


def finished_runs() -> list[FinishedRun]:
    """This session's ended runs, oldest first."""
    return st.session_state.setdefault(FINISHED_RUNS, [])


def start_run(config: RunConfig) -> None:
    """Start a background run for this session, writing checkpoints to a fresh folder."""
    out_dir = RUNS_ROOT / f"{time.strftime('%Y%m%d-%H%M%S')}-{id(st.session_state):x}"
    quality_every = QUALITY_EVERY_S if CLASSIFIER.is_file() and REFERENCE.is_file() else None
    config = RunConfig.from_dict(
        {**config.to_dict(), "out_dir": str(out_dir), "quality_every": quality_every}
    )
    wait_for_tensorflow()
    data = training_data(config.dataset)  # once per server; a missing dataset is reported now
    runner = training_runner()
    run = BackgroundRun(
        config,
        data if runner is in_this_process else None,  # a child or actor reads its own copy
        slots=training_slots(),
        idle_timeout=IDLE_TIMEOUT_S,
        runner=runner,
    )
    st.session_state[RUN] = run.start()
    st.session_state.pop(ARCHIVED, None)


def archive_if_ended(run: BackgroundRun) -> None:
    """Add an ended run to the compare list once (if it saved a generator)."""
    snap = run.snapshot()
    if snap.end is None or st.session_state.get(ARCHIVED) is run:
        return
    st.session_state[ARCHIVED] = run
    generator = Path(run.config.out_dir) / GENERATOR
    if generator.is_file():
        config = run.config
        label = (
            f"#{len(finished_runs()) + 1} {config.preset}, z={config.latent_dim}, "
            f"{snap.last.step if snap.last else 0} steps"
        )
        if snap.quality.get("recognizability"):
            label += f", {snap.quality['recognizability'][-1]:.0%} recognizable"
        finished_runs().append(
            FinishedRun(label, snap.history, snap.grid, generator, snap.end.reason)
        )
