"""The failure lab, measured: does each demo fail, does its detector name it, does its fix cure it,
and do healthy runs stay quiet?

For every failure demo and seed, two runs from scratch with the app's settings (live quality
every QUALITY_EVERY_S seconds):
- without the fix, for 2 x --window seconds: when its detector first fires (seconds after the
  run starts training), and the share of later checks that still fire (does it persist?);
- with the fix, sent with `Control.change` as the page's button does as soon as the detector
  fires (or at --window seconds if it never does), then --window seconds more: the seconds
  until the detector clears, and the share of checks in the last half of that window that
  still fire (recovered: cleared, and at most 10% of those).
Then the healthy presets (the default and `fast`) for --healthy-epochs epochs per seed: any
detector that fires is a false alarm. Detectors are asked every 25 steps and after every
quality measurement.

    python benchmarks/failure_lab.py [--seeds 0,1,2,3,4] [--window 60] [--healthy-epochs 10]
        [--demos collapse-demo,...] [--healthy quick-digits,fast] [--json results.jsonl]
    python benchmarks/failure_lab.py --table results.jsonl   # the tables of earlier runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import parse_list  # noqa: E402
from gan.config import RunConfig  # noqa: E402
from gan.control import Control  # noqa: E402
from gan.data import load_dataset  # noqa: E402
from gan.detectors import FAILURES, QUALITY_EVERY_S, diagnose  # noqa: E402
from gan.events import Callback  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.presets import DEFAULT_PRESET, PRESETS  # noqa: E402
from gan.runfolder import RunState  # noqa: E402
from gan.trainer import Trainer  # noqa: E402

CHECK_EVERY = 25  # steps between two looks of the detectors (and after each quality)


class Watch(Callback):
    """Records the run as the app does and asks the detectors; with `fix` (the settings of
    the failure's fix) it sends them with `control` as soon as the detector fires."""

    def __init__(self, failure: str | None, window: float, control: Control, fix: dict | None):
        self.failure, self.window, self.control, self.fix = failure, window, control, fix
        self.state, self.started = RunState(), time.monotonic()
        self.fired_at = self.fixed_at = self.cleared_at = None
        self.checks_after_firing, self.firing_after_firing = 0, 0
        self.late_checks, self.late_firing = 0, 0  # in the last half of the fix's window
        self.alarms: dict[str, float] = {}  # failure -> seconds when it first fired
        self.evidence: dict[str, str] = {}  # failure -> what it said then

    def on_start(self, event) -> None:
        self.started = time.monotonic()

    def on_step(self, event) -> None:
        self.state.record_step(event)
        if event.step % CHECK_EVERY == 0:
            self.check()

    def on_quality(self, event) -> None:
        self.state.record_quality(event.step, event.quality)
        self.check()

    def check(self) -> None:
        now = time.monotonic() - self.started
        findings = {f.failure: f for f in diagnose(self.state.steps, self.state.quality)}
        for failure, finding in findings.items():
            if finding.state == "firing" and failure not in self.alarms:
                self.alarms[failure], self.evidence[failure] = now, finding.evidence
        if self.failure is None:
            return
        firing = findings[self.failure].state == "firing"
        if self.fired_at is not None and self.fixed_at is None:
            self.checks_after_firing += 1
            self.firing_after_firing += firing
        if firing and self.fired_at is None:
            self.fired_at = now
        if self.fix and self.fixed_at is None and (firing or now >= self.window):
            self.control.change(**self.fix)
            self.fixed_at = now
        elif self.fixed_at is not None:
            if not firing and self.cleared_at is None:
                self.cleared_at = now
            if now - self.fixed_at >= self.window / 2:
                self.late_checks += 1
                self.late_firing += firing
            if now - self.fixed_at >= self.window:
                self.control.stop("the fix's window is over")


def run(preset: str, seed: int, data, failure, window: float, fix: bool, epochs=None) -> dict:
    """One training with a Watch; returns what it saw."""
    budget = None if epochs else (3 if fix else 2) * window
    config = RunConfig.create(
        preset, seed=seed, quality_every=QUALITY_EVERY_S, max_seconds=budget, epochs=epochs
    )
    control = Control()
    settings = FAILURES[failure].fix.settings(config.to_dict()) if fix else None
    watch = Watch(failure, window, control, settings)
    trainer = Trainer.create(config, data)
    end = trainer.run([watch], control)
    return {
        "preset": preset,
        "seed": seed,
        "fix": fix,
        "steps": end.step,
        "fired_s": watch.fired_at,
        "still_firing": watch.firing_after_firing / max(watch.checks_after_firing, 1),
        "fixed_s": watch.fixed_at,
        "cleared_s": None if watch.cleared_at is None else watch.cleared_at - watch.fixed_at,
        "late_firing": watch.late_firing / max(watch.late_checks, 1) if fix else None,
        "alarms": watch.alarms,
        "evidence": watch.evidence,
        "epochs": epochs,
        "window": window,
    }


def seconds(value) -> str:
    return "—" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    demos = [p.name for p in PRESETS.values() if p.group == "demo"]
    parser.add_argument("--demos", default=",".join(demos))
    parser.add_argument("--healthy", default=f"{DEFAULT_PRESET},fast")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--healthy-epochs", type=int, default=10)
    parser.add_argument("--json", help="also write one JSON line per run here")
    parser.add_argument("--table", help="print the tables of the runs in this JSON-lines file")
    args = parser.parse_args()
    if args.table:
        rows = [json.loads(line) for line in Path(args.table).read_text().splitlines()]
        print_tables(rows, demos)
        return
    seeds = parse_list(args.seeds, int)
    print(f"machine: {describe()}", flush=True)
    data = load_dataset("mnist")
    out = open(args.json, "a") if args.json else None  # noqa: SIM115

    def keep(row: dict) -> dict:
        print(json.dumps(row), flush=True)
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()
        return row

    rows = []
    for name in filter(None, args.demos.split(",")):
        failure = PRESETS[name].demonstrates
        for seed in seeds:
            rows.append(keep(run(name, seed, data, failure, args.window, fix=False)))
            rows.append(keep(run(name, seed, data, failure, args.window, fix=True)))
    for name in filter(None, args.healthy.split(",")):
        for seed in seeds:
            rows.append(keep(run(name, seed, data, None, args.window, False, args.healthy_epochs)))
    print(f"\nmachine: {describe()}\n")
    print_tables(rows, demos)


def print_tables(rows: list[dict], demos: list[str]) -> None:
    """The demos' table (a run without its fix, then one with it, per seed) and the healthy
    presets' one, in Markdown."""
    runs = {(r["preset"], r["seed"], r["fix"]): r for r in rows if r["preset"] in demos}
    print(
        "| demo | seed | failure shown (s) | without the fix, firing afterwards | with the "
        "fix: cleared after (s) | firing in the fix's last 30 s | recovered |"
    )
    print("|---|---|---|---|---|---|---|")
    for (preset, seed, fix), without in runs.items():
        with_fix = runs.get((preset, seed, True))
        if fix or with_fix is None:
            continue
        shown = "no" if without["fired_s"] is None else f"yes, {seconds(without['fired_s'])}"
        cleared, late = with_fix["cleared_s"], with_fix["late_firing"]
        recovered = cleared is not None and late <= 0.1
        print(
            f"| {preset} | {seed} | {shown} | {without['still_firing']:.0%} of checks | "
            f"{seconds(cleared)} | {late:.0%} | {'yes' if recovered else 'no'} |"
        )
    print()
    for preset in demos:
        pairs = [
            (without, runs[name, seed, True])
            for (name, seed, fix), without in runs.items()
            if name == preset and not fix and (name, seed, True) in runs
        ]
        if not pairs:
            continue
        window = pairs[0][0].get("window", 60)
        shown = sum(w["fired_s"] is not None and w["fired_s"] <= window for w, _ in pairs)
        cured = sum(
            f["cleared_s"] is not None and f["cleared_s"] <= window and f["late_firing"] <= 0.1
            for _, f in pairs
        )
        print(
            f"{preset}: failure named within {window:.0f} s in {shown} of {len(pairs)} seeds; "
            f"recovered within {window:.0f} s of the fix in {cured} of {len(pairs)}"
        )
    print("\n| healthy preset | seed | epochs | steps | false alarms (first, s) |")
    print("|---|---|---|---|---|")
    for row in rows:
        if row["preset"] in demos:
            continue
        alarms = ", ".join(f"{k} at {v:.0f}" for k, v in row["alarms"].items()) or "none"
        print(
            f"| {row['preset']} | {row['seed']} | {row.get('epochs', '')} | {row['steps']} "
            f"| {alarms} |"
        )


if __name__ == "__main__":
    main()
