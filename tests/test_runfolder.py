"""A checkpoint is one thing: a failure at any single write, or a kill during a save, leaves
a run folder that holds one complete, loadable step, and the run's message names that step."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny

from gan import io, runfolder
from gan.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.system  # a failure at every write; child processes killed mid-save


def count_writes(monkeypatch, fail_after: int | None = None) -> list:
    """Count renames (every file write in a run folder ends in one); from `fail_after` on,
    fail each as a full disk would."""
    real, landed = os.replace, []

    def replace(source, target):
        if fail_after is not None and len(landed) >= fail_after:
            raise OSError(errno.ENOSPC, "No space left on device")
        landed.append(Path(target))
        return real(source, target)

    monkeypatch.setattr(io.os, "replace", replace)
    return landed


def assert_one_complete_step(folder: Path, step: int | None) -> None:
    """What a reader finds: the checkpoint of `step` whole, or (None) no checkpoint at all."""
    if step is None:
        assert not (folder / runfolder.RECORD).exists() or not runfolder.read_json_files(folder)
        return
    record = runfolder.verify(folder)  # settles, then checks every file's hash
    assert record["checkpoint"]["step"] == step
    assert set(record["checkpoint"]["files"]) >= {runfolder.GENERATOR, runfolder.DISCRIMINATOR}
    for name in record["checkpoint"]["files"]:
        assert io.load_model(folder / name) is not None
    assert not (folder / runfolder.READY).exists() and not (folder / runfolder.STAGING).exists()


def test_a_failure_at_any_single_write_leaves_one_complete_step(tmp_path, small, monkeypatch):
    # Checkpoints on epochs only (none on the clock): every run makes the same writes.
    def run(out: Path):
        return Trainer.create(tiny(epochs=2, checkpoint_every=3600, out_dir=str(out)), small).run()

    total = count_writes(monkeypatch)
    run(tmp_path / "all")
    writes = len(total)
    monkeypatch.undo()
    assert writes >= 12  # two checkpoints of several files each, the grids, the end record
    for fail_after in range(writes):
        out = tmp_path / f"fail-{fail_after}"
        with monkeypatch.context() as patch:
            count_writes(patch, fail_after)
            end = run(out)
        assert end.reason == "error" and "No space left on device" in end.message, end
        named = re.search(r"last complete checkpoint: step (\d+)", end.message)
        step = int(named.group(1)) if named else None
        assert named or "no checkpoint was complete yet" in end.message, end.message
        assert_one_complete_step(out, step)


KILLER = """
import os, sys
from pathlib import Path
from gan import io, runfolder
from gan.config import RunConfig
from gan.data import load_dataset
from gan.trainer import Trainer

where, out = sys.argv[1], Path(sys.argv[2])
real, commits = os.replace, []

def replace(source, target):
    source, target = Path(source), Path(target)
    if target.name == runfolder.READY:
        commits.append(target)
    hit = {
        "staging": runfolder.STAGING in target.parts and len(commits) == 1,
        "commit": target.name == runfolder.READY and len(commits) == 2,
        "move": runfolder.READY in source.parts and len(commits) == 2,
    }[where]
    if hit:
        os._exit(9)  # as SIGKILL: no clean-up of any kind
    return real(source, target)

io.os.replace = replace
config = RunConfig.create("fast", epochs=3, batch_size=32, latent_dim=8, train_size=128,
                          checkpoint_floor=0.0, out_dir=str(out))
Trainer.create(config).run()
raise SystemExit("never killed")
"""


@pytest.mark.parametrize(("where", "step"), [("staging", 4), ("commit", 4), ("move", 8)])
def test_a_run_killed_during_a_save_leaves_one_complete_step(tmp_path, where, step):
    """Killed while writing the 2nd checkpoint (epoch 2, step 8): before its commit the
    folder holds epoch 1's (step 4), after it step 8's."""
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", KILLER, where, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 9, result.stderr[-2000:]
    assert_one_complete_step(out, step)
    trainer = Trainer.resume(out, epochs=3)  # and the run goes on from there
    assert trainer.state.step == step
    assert json.loads((out / runfolder.RECORD).read_text())["end"] is None  # never ended
