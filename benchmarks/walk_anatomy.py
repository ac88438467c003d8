"""Where a generator's walks spend their pixel change: on frames the classifier reads, or on
the frames between two digits that it cannot read (confidence < 0.9).

Walks `--walks` slerp paths of `--frames` frames (dense: 256, so each digit change is seen
frame by frame) and prints, per generator: the share of frames that are unreadable, the
share of the walks' pixel length spent between two readable frames that are not neighbours
or read as different digits, and the median and 90th percentile over walks of the longest
such stretch as a share of its walk. A walk that crossed each stretch within one of
`python -m gan evaluate`'s 32 frames (so that next to none of its frames are unreadable)
would have a largest step at least that long: the gap between the samples target and the
walk target.

    python benchmarks/walk_anatomy.py [--model models/generator.keras ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan.io import load_generator  # noqa: E402
from gan.latent import is_conditional  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.metrics import CONFIDENT, Judge, classify, frame_steps, random_walks  # noqa: E402


def unreadable_stretches(steps: np.ndarray, confidence: np.ndarray, digits: np.ndarray):
    """Pixel lengths of one walk's stretches between consecutive readable frames that are
    not neighbours or read as different digits."""
    readable = np.flatnonzero(confidence >= CONFIDENT)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    return [
        along[b] - along[a]
        for a, b in zip(readable[:-1], readable[1:], strict=True)
        if b > a + 1 or digits[a] != digits[b]
    ]


def anatomy(judge: Judge, path: str, walks: int, frames: int, seed: int) -> str:
    """One Markdown row for the generator in `path`."""
    generator = load_generator(path)
    if is_conditional(generator):
        raise SystemExit(f"{path}: a conditional generator keeps its digit along a walk.")
    _, images = random_walks(generator, walks, frames, np.random.default_rng(seed))
    _, probabilities = classify(judge.model, images)
    confidence = probabilities.max(axis=1).reshape(walks, frames)
    digits = probabilities.argmax(axis=1).reshape(walks, frames)
    steps = frame_steps(images.reshape(walks, frames, -1))
    lengths = steps.sum(axis=1)
    stretches = [
        unreadable_stretches(*walk) for walk in zip(steps, confidence, digits, strict=True)
    ]
    spent = np.array([sum(s) for s in stretches]) / lengths
    longest = np.array([max(s, default=0.0) for s in stretches]) / lengths
    return (
        f"| `{path}` | {(confidence < CONFIDENT).mean():.1%} | {spent.mean():.1%} | "
        f"{np.median(longest):.4f} | {np.percentile(longest, 90):.4f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", default=["models/generator.keras"])
    parser.add_argument("--walks", type=int, default=100)
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"{args.walks} slerp walks of {args.frames} frames, seed {args.seed}\n")
    columns = ("unreadable frames", "pixel length between readable frames", "longest stretch")
    print(f"| generator | {' | '.join(columns)}, median | 90th percentile |\n|---|---|---|---|---|")
    judge = Judge()
    for path in args.model:
        print(anatomy(judge, path, args.walks, args.frames, args.seed), flush=True)


if __name__ == "__main__":
    main()
