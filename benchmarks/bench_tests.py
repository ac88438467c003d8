"""How long the two test tiers take: the fast tier (`pytest -m "not system"`) and, with
`--full`, the whole suite that CI runs. Run it on an otherwise idle machine.

    python benchmarks/bench_tests.py [--full]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan.machine import describe  # noqa: E402

TIERS = {"fast": ["-m", "not system"], "full": []}


def timed(arguments: list[str]) -> tuple[float, str]:
    """Seconds the tests took, and pytest's last line (how many passed)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    lines = result.stdout.strip().splitlines()
    return time.monotonic() - started, lines[-1] if lines else result.stderr[-300:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also time the whole suite")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    for tier in ("fast", "full") if args.full else ("fast",):
        seconds, summary = timed(TIERS[tier])
        print(f"{tier} tier: {seconds / 60:.1f} min ({summary})")


if __name__ == "__main__":
    main()
