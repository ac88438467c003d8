"""The best a principal-component generator can score: real digits drawn in the span.

`quick-digits`' G paints with the top K principal components of the training digits, and
its D sees every image through the same K. This script projects 1,000 real test digits onto
the top K components (computed from the training digits as a run does), clips them to the
data range, and scores them as `python -m gan evaluate` scores a generator: recognizable
share, Fréchet digit distance (and its real-vs-real floor), the least varied digit's and
the mean within-digit diversity (1 = as varied as real digits). No training, no timing.

    python benchmarks/component_ceiling.py [--components 32,64,100,128,200,256]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import SAMPLES, parse_list  # noqa: E402
from gan.data import load_dataset, scale, to_unit  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.metrics import Judge  # noqa: E402
from gan.models import component_encoder, principal_basis  # noqa: E402


def row(judge: Judge, name: str, flat: np.ndarray) -> str:
    """One table row for images `(n, 784)` in [-1, 1]."""
    quality = judge.evaluate(to_unit(flat.reshape(-1, 28, 28, 1), "tanh"))
    within = {d: v for d, v in enumerate(quality.digit_diversity) if v is not None}
    least = min(within, key=within.get)
    return (
        f"| {name} | {quality.recognizability:.1%} | {quality.frechet_distance:.1f} "
        f"(floor {quality.frechet_floor:.1f}) | {within[least]:.2f} (the {least}s) "
        f"| {np.mean(list(within.values())):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", default="32,64,100,128,200,256")
    args = parser.parse_args()
    train, test = load_dataset("mnist"), load_dataset("mnist", split="test")
    pick = np.random.default_rng(0).choice(len(test), SAMPLES, replace=False)
    real = scale(test.images[pick], "tanh").reshape(SAMPLES, -1)
    judge = Judge()
    print(f"machine: {describe()}")
    print("| images | recognizable | Fréchet | least varied digit | mean within-digit |")
    print("|---|---|---|---|---|")
    print(row(judge, "real test digits", real))
    for k in parse_list(args.components, int):
        mean, components = principal_basis(train.images, k, "tanh")
        inside = np.clip((real - mean) @ component_encoder(components) @ components + mean, -1, 1)
        print(row(judge, f"the same in the top {k} components", inside))


if __name__ == "__main__":
    main()
