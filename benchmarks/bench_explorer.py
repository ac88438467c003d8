"""Explorer latency: slider move -> new image, server side, for the shipped generator.

Measures (1) the generator call alone and (2) a whole rerun of the explorer page after a
slider move, through Streamlit's AppTest (the script run a real server does; no browser or
network). Target: (2) p95 <= 50 ms.

    python benchmarks/bench_explorer.py [--moves 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan.machine import describe  # noqa: E402


def percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    p50, p95 = np.percentile(ms, [50, 95])
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {ms.max():.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=100)
    args = parser.parse_args()

    from streamlit.testing.v1 import AppTest

    from gan.io import load_generator
    from gan.latent import latent_dim_of, render, sample_noise

    generator = load_generator(ROOT / "models" / "generator.keras")
    dim = latent_dim_of(generator)
    render(generator, sample_noise(1, dim))  # warm up
    calls = []
    for index in range(args.moves):
        z = sample_noise(1, dim, index)
        started = time.perf_counter()
        render(generator, z)
        calls.append(time.perf_counter() - started)

    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    app.switch_page("pages/explore.py").run()
    reruns = []
    for index in range(args.moves):
        slider = app.slider(key="dir-0-0")
        value = round(-3.0 + 6.0 * ((index * 0.37) % 1.0), 1)
        started = time.perf_counter()
        slider.set_value(value).run()
        reruns.append(time.perf_counter() - started)
        assert not app.exception, app.exception

    print(f"machine: {describe()}")
    print(f"generator call, 1 image    : {percentiles(calls)}  ({args.moves} calls)")
    print(f"explorer rerun after a move: {percentiles(reruns)}  ({args.moves} moves)")
    print("target: explorer rerun p95 <= 50 ms")


if __name__ == "__main__":
    main()
