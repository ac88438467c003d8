"""The README's screenshots, taken in headless Chromium from a real `streamlit run`.

Train: the default preset with a 30 s time budget, photographed when the run has finished
(the grid at 30 s). Interpolate: the default strip (seed 0 -> seed 1, slerp, 12 frames) and
a 3 becoming an 8. Latent explorer: the default generator and its digit map. Prints the
machine and how long the training took; writes docs/screenshots/*.png. With --lab, only the
failure lab: each demo started from the Classroom page, photographed when its detector
fires, then after its fix once the detector clears (docs/screenshots/lab-*.png).

    python benchmarks/app_screenshots.py [--port 8598] [--skip-train] [--lab]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.streamlit_client import CHROMIUM, CHROMIUM_FLAGS, running_server  # noqa: E402
from gan.machine import describe  # noqa: E402

SHOTS = ROOT / "docs" / "screenshots"


def train_30_s(page, url: str) -> float:
    """Press Train with a 30 s budget; wait for the end; return the seconds it took."""
    page.goto(f"{url}/train")
    page.get_by_text("More settings").click()
    budget = page.get_by_label("Time budget in seconds (0 = none)")
    budget.fill("30")
    budget.press("Enter")
    page.wait_for_timeout(500)
    started = time.monotonic()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Run finished").wait_for(timeout=120_000)
    took = time.monotonic() - started
    page.wait_for_timeout(2500)  # the charts' last redraw
    page.screenshot(path=str(SHOTS / "train-30s.png"), full_page=True)
    return took


def interpolate(page, url: str) -> None:
    page.goto(f"{url}/interpolate")
    page.get_by_text("12 frames by slerp").wait_for()
    page.get_by_role("button", name="Download GIF").wait_for()
    page.screenshot(path=str(SHOTS / "interpolate.png"), full_page=True)
    page.get_by_text("From one digit to another").click()
    page.get_by_text("A 3 becomes an 8 in 12 frames").wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / "morph.png"), full_page=True)


def explore(page, url: str) -> None:
    page.goto(f"{url}/explore")
    page.get_by_text("rendered in").wait_for()
    page.get_by_text("on this generator's digit map").wait_for()
    page.wait_for_timeout(1500)  # plotly draws the map
    page.screenshot(path=str(SHOTS / "explorer.png"), full_page=True)


def failure_lab(page, url: str) -> list[str]:
    """Each demo failing, then fixed; returns a line per demo with its times."""
    from gan.detectors import FAILURES
    from gan.presets import PRESETS

    lines = []
    for preset in (p for p in PRESETS.values() if p.group == "demo"):
        title = FAILURES[preset.demonstrates].title
        page.goto(url)
        started = time.monotonic()
        page.get_by_role("button", name=f"Run {preset.name}").click()
        page.get_by_text(f"{title}: firing.").wait_for(timeout=180_000)
        fired = time.monotonic() - started
        page.get_by_role("heading", name="Failure detectors").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"lab-{preset.name}-failing.png"))
        page.get_by_role(
            "button", name=f"Fix it: {FAILURES[preset.demonstrates].fix.label}"
        ).click()
        fixed = time.monotonic()
        page.get_by_text(f"{title}: clear.").wait_for(timeout=180_000)
        cleared = time.monotonic() - fixed
        page.get_by_role("heading", name="Failure detectors").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"lab-{preset.name}-fixed.png"))
        page.get_by_role("button", name="Stop", exact=True).click()
        page.get_by_text("Run stopped").wait_for()
        lines.append(
            f"{preset.name}: '{title}: firing' {fired:.0f} s after the click (startup "
            f"included); 'clear' {cleared:.0f} s after Fix it"
        )
    return lines


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8598)
    parser.add_argument(
        "--skip-train", action="store_true", help="keep train-30s.png (retake the others)"
    )
    parser.add_argument("--lab", action="store_true", help="only the failure lab's screenshots")
    args = parser.parse_args()
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"http://localhost:{args.port}"
    with running_server(args.port), sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1400 if args.lab else 1000})
        page.set_default_timeout(120_000)
        page.goto(url)  # the first visit starts TensorFlow's import and the spare process
        page.get_by_text("Generative Adversarial Network").wait_for()
        page.wait_for_timeout(15_000)
        if args.lab:
            lab = failure_lab(page, url)
        else:
            took = None if args.skip_train else train_30_s(page, url)
            interpolate(page, url)
            explore(page, url)
        browser.close()
    print(f"machine: {describe()}")
    if args.lab:
        print("\n".join(lab))
        return
    if took is not None:
        print(f"Train with a 30 s budget: 'Run finished' {took:.1f} s after pressing Train")
    print(f"screenshots: {', '.join(sorted(p.name for p in SHOTS.glob('*.png')))}")


if __name__ == "__main__":
    main()
