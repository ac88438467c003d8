"""30-second trials of the levers tried on the fast preset (issue 6), one row per variant.

Each variant changes the `fast` preset's settings or the width of its two networks (a
`replace`d preset given to `Trainer.create`), or compiles the step with XLA, then trains from
scratch in a fresh process for 30 s timed as `python -m gan train --max-seconds 30` (see
benchmarks/quality.py) and is scored on 1,000 samples. One seed per variant: compare against
the seed spread in time_to_digits.py.

    python benchmarks/fast_trials.py [--variants base,jit] [--budget 30]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import measure, measure_in_subprocess  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.presets import PRESETS  # noqa: E402
from gan.recipe import Preset  # noqa: E402

HALF = {"g_width": 32, "d_width": 16}  # G 7x7x32 -> 14x14x16; D 16 -> 32 filters
VARIANTS: dict[str, dict] = {
    "base": {},
    "jit": {"jit": True},
    "batch 32": {"settings": {"batch_size": 32}},
    "lr 1e-3": {"settings": {"lr_g": 1e-3, "lr_d": 1e-3}},
    "half width": {"preset": HALF},
    "half width + batch 32": {"preset": HALF, "settings": {"batch_size": 32}},
    "half width + batch 32 + jit": {"preset": HALF, "settings": {"batch_size": 32}, "jit": True},
    "half width + batch 32 + lr 1e-3": {
        "preset": HALF,
        "settings": {"batch_size": 32, "lr_g": 1e-3, "lr_d": 1e-3},
    },
    "half width + G lr 1e-3": {"preset": HALF, "settings": {"lr_g": 1e-3}},
    "3/4 width + batch 32": {
        "preset": {"g_width": 48, "d_width": 24},
        "settings": {"batch_size": 32},
    },
    "half width + batch 128 + lr 1e-3": {
        "preset": HALF,
        "settings": {"batch_size": 128, "lr_g": 1e-3, "lr_d": 1e-3},
    },
}


def variant_preset(variant: dict) -> Preset:
    """The fast preset with the variant's changes (builder widths, defaults)."""
    return replace(PRESETS["fast"], **variant.get("preset", {}), **variant.get("settings", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--budgets", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one variant
        variant = VARIANTS[args.variant]
        seed, budgets = int(args.one[1]), [float(args.budgets)]
        rows = measure("fast", seed, budgets, variant.get("jit", False), variant_preset(variant))
        print(json.dumps([row.__dict__ for row in rows]))
        return
    print(f"machine: {describe()}")
    print(f"| variant | images seen in {args.budget:g} s | recognizable | smallest digit share |")
    print("|---|---|---|---|")
    for name in args.variants.split(","):
        (row,) = measure_in_subprocess(
            "fast", 0, [args.budget], script=__file__, extra=["--variant", name]
        )
        print(
            f"| {name} | {row.images:,} | {row.recognizability:.1%} | {row.smallest_share:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
