"""The app's runs by owner (a browser), live and saved: what the Train page lists, and the
clean-up of old run folders. No Streamlit, and no import of gan.runs (runs are duck-typed:
anything with `config.out_dir` and `active`)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan import io, runfolder
from gan.config import ConfigError
from gan.presets import find_preset


@dataclass(frozen=True)
class SavedRun:
    """A run folder as the app lists it: what it trained, how far, how it ended."""

    folder: Path
    config: dict[str, Any]
    step: int
    epoch: int
    end: dict[str, Any] | None  # None: interrupted (killed before it could say how it ended)
    history: dict[str, list[float]]
    quality: dict[str, list[float]]  # the live quality measurements, by step

    @property
    def resumable(self) -> bool:
        """True if training can go on from its checkpoint (with a preset this version has)."""
        if find_preset(self.config.get("preset", "")) is None:
            return False
        return self.end is None or (
            self.end["reason"] in ("stopped", "error") and self.epoch < self.config["epochs"]
        )

    @property
    def grid(self) -> Path | None:
        """The last epoch's grid picture, if one was saved."""
        grids = sorted((self.folder / runfolder.SAMPLES).glob("epoch_*.png"))
        return grids[-1] if grids else None


def read_saved_run(folder: Path) -> SavedRun | None:
    """The run saved in `folder` (its last complete checkpoint), or None if there is none.
    Listing reads run.json only; the files' hashes are checked when a run is resumed."""
    try:
        runfolder.settle(folder)
        record = io.read_json(folder / runfolder.RECORD)
        saved = record["checkpoint"]
        return SavedRun(
            folder,
            dict(record["config"]),
            int(saved["step"]),
            int(saved["epoch"]),
            record.get("end"),
            dict(record["history"]["steps"]),
            dict(record["history"].get("quality", {})),
        )
    except (ConfigError, OSError, KeyError, TypeError, ValueError):
        return None


class RunRegistry:
    """The app's runs by owner (a browser): the live ones in memory, every saved one in its
    run folder under `root/<owner>/`, so a browser finds its runs from any tab, and after a
    server restart its finished runs and the interrupted one (resumable from its checkpoint)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._live: dict[str, Any] = {}  # owner -> latest gan.runs.BackgroundRun

    def folder_for(self, owner: str) -> Path:
        """A fresh run folder for `owner`."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = self.root / owner
        for index in range(1000):
            folder = base / (stamp if not index else f"{stamp}-{index}")
            if not folder.exists():
                return folder
        raise ConfigError("Too many runs started in one second.")

    def add(self, owner: str, run: Any) -> Any:
        with self._lock:
            self._live[owner] = run
        return run

    def latest(self, owner: str) -> Any:
        """The owner's latest run started by this server, if any."""
        with self._lock:
            return self._live.get(owner)

    def live_folders(self) -> set[Path]:
        with self._lock:
            return {Path(run.config.out_dir) for run in self._live.values() if run.active}

    def saved(self, owner: str) -> list[SavedRun]:
        """The owner's saved runs, oldest first; a live run's folder is left out."""
        live = self.live_folders()
        folders = sorted(p for p in (self.root / owner).glob("*") if p.is_dir())
        runs = (read_saved_run(folder) for folder in folders if folder not in live)
        return [run for run in runs if run is not None]


def clean_up(
    root: Path, max_age_s: float, max_bytes: int, keep: Iterable[Path] = (), pattern: str = "*/*"
) -> list[Path]:
    """Delete the folders `root/<pattern>` (run folders: owner/run) older than `max_age_s`,
    then the oldest until the rest take at most `max_bytes`; never those in `keep` (live
    runs). Returns what went."""
    keep = {Path(p) for p in keep}
    folders = sorted(
        (p for p in Path(root).glob(pattern) if p.is_dir() and p not in keep),
        key=lambda p: p.stat().st_mtime,
    )
    sizes = {p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in folders}
    total = sum(sizes.values()) + sum(
        f.stat().st_size for p in keep if p.is_dir() for f in p.rglob("*") if f.is_file()
    )
    now, removed = time.time(), []
    for folder in folders:
        if now - folder.stat().st_mtime > max_age_s or total > max_bytes:
            shutil.rmtree(folder, ignore_errors=True)
            total -= sizes[folder]
            removed.append(folder)
    return removed
