"""30-second trials of the levers tried on the fast preset (issue 6), one row per variant.

Each variant changes the `fast` preset's settings, the width of its two networks, or
compiles the step with XLA, then trains from scratch in a fresh process for 30 s timed as
`python -m gan train --max-seconds 30` (see benchmarks/quality.py) and is scored on 1,000
samples. One seed per variant: compare against the seed spread in time_to_digits.py.

    python benchmarks/fast_trials.py [--variants base,jit] [--budget 30]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from benchmarks.quality import measure, measure_in_subprocess  # noqa: E402

HALF = (32, 16, 16, 32)  # generator 7x7xA -> 14x14xB; discriminator C -> D filters
VARIANTS: dict[str, dict] = {
    "base": {},
    "jit": {"jit": True},
    "batch 32": {"settings": {"batch_size": 32}},
    "lr 1e-3": {"settings": {"lr_g": 1e-3, "lr_d": 1e-3}},
    "half width": {"widths": HALF},
    "half width + batch 32": {"widths": HALF, "settings": {"batch_size": 32}},
    "half width + batch 32 + jit": {"widths": HALF, "settings": {"batch_size": 32}, "jit": True},
    "half width + batch 32 + lr 1e-3": {
        "widths": HALF,
        "settings": {"batch_size": 32, "lr_g": 1e-3, "lr_d": 1e-3},
    },
    "half width + G lr 1e-3": {"widths": HALF, "settings": {"lr_g": 1e-3}},
    "3/4 width + batch 32": {"widths": (48, 24, 24, 48), "settings": {"batch_size": 32}},
    "half width + batch 128 + lr 1e-3": {
        "widths": HALF,
        "settings": {"batch_size": 128, "lr_g": 1e-3, "lr_d": 1e-3},
    },
}


def apply(variant: dict) -> None:
    """Patch the fast preset (this process only) as the variant says."""
    from gan import models, presets

    presets.PRESETS["fast"] = replace(presets.PRESETS["fast"], **variant.get("settings", {}))
    if "widths" in variant:
        models.BUILDERS["fast_generator"], models.BUILDERS["fast_discriminator"] = builders(
            *variant["widths"]
        )


def builders(g1: int, g2: int, d1: int, d2: int):
    """The fast networks with other filter counts."""
    import keras
    from keras import layers

    from gan.models import _head, _image_input, _noise_input, make

    def fast_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
        inputs, x = _noise_input(latent_dim, conditional)
        x = make(layers.Dense, 7 * 7 * g1, use_bias=False)(x)
        x = make(layers.LeakyReLU, 0.2)(make(layers.BatchNormalization)(x))
        x = make(layers.Reshape, (7, 7, g1))(x)
        x = make(layers.Conv2DTranspose, g2, 4, strides=2, padding="same", use_bias=False)(x)
        x = make(layers.LeakyReLU, 0.2)(make(layers.BatchNormalization)(x))
        image = make(layers.Conv2DTranspose, 1, 4, strides=2, padding="same", activation="tanh")(x)
        return keras.Model(inputs, image, name="generator")

    def fast_discriminator(conditional: bool = False) -> keras.Model:
        inputs, image, one_hot = _image_input(conditional)
        x = make(layers.LeakyReLU, 0.2)(
            make(layers.Conv2D, d1, 4, strides=2, padding="same")(image)
        )
        x = make(layers.LeakyReLU, 0.2)(make(layers.Conv2D, d2, 4, strides=2, padding="same")(x))
        return keras.Model(inputs, _head(x, one_hot, None), name="discriminator")

    return fast_generator, fast_discriminator


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
        apply(variant)
        rows = measure("fast", int(args.one[1]), [float(args.budgets)], variant.get("jit", False))
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
