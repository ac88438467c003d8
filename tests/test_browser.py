"""End to end in a real browser: `streamlit run` on localhost, driven by headless Chromium.

Trains for a few seconds, sees the chart and the grid change, stops, then moves an explorer
slider and sees the picture change. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import (
    SERVER_LOGS,
    chromium_browser,
    keep_tabs,
    live_class,
    settled,
    type_number,
)

from gan.presets import DEFAULT_PRESET, PRESETS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
NO_STALE = "!document.querySelector(\"[data-stale='true']\")"  # the last rerun's elements gone

pytestmark = [pytest.mark.browser, pytest.mark.system]
expect = pytest.importorskip("playwright.sync_api").expect  # waits until a value shows
expect.set_options(timeout=60_000)  # as patient as the tabs: a loaded CI machine renders slowly


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """A real `streamlit run` of the app on a free localhost port."""
    with streamlit_server("server.log") as url:
        yield url


@contextmanager
def streamlit_server(log_name: str):
    """Start `streamlit run` on a free port; yield its URL; stop it."""
    port = free_port()
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / log_name, "w")  # noqa: SIM115
    SERVER_LOGS.append(Path(log.name))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                if reply.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"streamlit did not start; see tests/artifacts/{log_name}")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(20)
        log.close()
        SERVER_LOGS.remove(Path(log.name))


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def page(server, chromium):
    tab = chromium.new_page(viewport={"width": 1400, "height": 1000})
    tab.set_default_timeout(60_000)
    yield tab
    tab.close()


def image_sources(page, selector: str = "[data-testid='stImage'] img") -> list[str]:
    return [img.get_attribute("src") for img in page.locator(selector).all()]


def main(tab):
    """The page itself, without Streamlit's toolbar (whose Stop ends a slow script run)."""
    return tab.locator("[data-testid='stMain']")


def wait_for_change(read, before, seconds: float = 60.0):
    """Poll `read()` until it differs from `before`; return the new value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = read()
        if now and now != before:
            return now
        time.sleep(0.25)
    raise AssertionError(f"nothing changed in {seconds:.0f} s")


def test_the_classroom_page_shows_real_fake_and_collapsed_digits(server, page):
    page.goto(server)
    page.get_by_text("Generative Adversarial Network").wait_for()
    page.get_by_text("Fake: G(z) for 12 random z, from the shipped generator").wait_for()
    page.get_by_text("Imitated collapse: twelve nearly identical z").wait_for()
    assert page.locator("[data-testid='stImage'] img").count() >= 3  # real, fake, collapsed
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "classroom.png"), full_page=True)


def test_training_shows_a_changing_grid_and_stops_with_a_download(server, page):
    page.goto(f"{server}/train")
    page.get_by_role("button", name="Train", exact=True).click()
    charts = page.locator("[data-testid='stPlotlyChart']")
    try:  # the first chart comes after TensorFlow's import and first trace: slow when loaded
        charts.first.wait_for(timeout=180_000)
        grid = wait_for_change(lambda: image_sources(page)[:1], [])  # where G starts
        grid_later = wait_for_change(lambda: image_sources(page)[:1], grid)  # after some steps
        assert grid_later != grid
        page.screenshot(path=str(ARTIFACTS / "train-live.png"), full_page=True)
    finally:  # a run left training would disable the next tests' forms (the same browser)
        main(page).get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Run stopped").wait_for()
    page.get_by_role("button", name="Download generator (.keras)").wait_for()
    page.screenshot(path=str(ARTIFACTS / "train-stopped.png"), full_page=True)


def test_explorer_slider_changes_the_picture(server, page):
    page.goto(f"{server}/explore")
    page.get_by_text("rendered in").wait_for()
    before = image_sources(page)
    slider = page.locator("[data-testid='stSlider'] input[type='range']").first
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    after = wait_for_change(lambda: image_sources(page), before)
    assert after != before
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)


def test_interpolation_page_shows_the_strip(server, page):
    page.goto(f"{server}/interpolate")
    page.get_by_text("frames by slerp").wait_for()
    page.get_by_role("button", name="Download GIF").wait_for()
    page.screenshot(path=str(ARTIFACTS / "interpolate.png"), full_page=True)


def test_interpolation_morphs_a_3_into_an_8(server, page):
    page.goto(f"{server}/interpolate")
    page.get_by_text("frames by slerp").wait_for()
    page.get_by_text("From one digit to another").click()
    page.get_by_text("A 3 becomes an 8 in 12 frames").wait_for()
    captions = page.locator("[data-testid='stImageCaption']")
    strip = "document.querySelectorAll(\"[data-testid='stImageCaption']\").length >= 13"
    page.wait_for_function(f"{strip} && {NO_STALE}")  # the new strip, not the last run's
    read = [text.split(" · ")[0] for text in captions.all_inner_texts()[:12]]
    assert read[0] == "3" and read[-1] == "8", read
    page.get_by_role("button", name="Download GIF").wait_for()
    page.screenshot(path=str(ARTIFACTS / "morph.png"), full_page=True)


def test_a_student_picks_a_grouped_preset_then_walks_to_the_explorer_and_interpolate(server, page):
    """The picker lists the presets by group, without the retired ones; the shipped
    generator (plain Keras layers now) draws in the explorer and on Interpolate, reached
    through the sidebar. What the student picked on one page is still picked on the next
    and when they come back: the generator, the preset."""
    page.goto(f"{server}/train")
    picker = page.get_by_role("combobox", name="Preset")
    picker.wait_for()
    expect(picker).to_have_value(re.compile("^Our recipes: quick-digits — "))
    picker.click()
    options = page.locator("[role='option']")
    options.first.wait_for()
    labels = [text.split(" — ")[0] for text in options.all_inner_texts()]
    assert "Classic recipes: dcgan" in labels and "Our recipes: coded-digits" in labels, labels
    assert not any("map-digits" in label or "smooth" in label for label in labels), labels
    options.filter(has_text="Our recipes: coded-digits").click()
    page.get_by_text("Source: this project, kept from the making").wait_for()
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_text("Latent explorer").click()
    page.get_by_text("rendered in").wait_for()
    assert image_sources(page)
    generator = page.get_by_role("combobox", name="Generator")
    generator.click()
    page.locator("[role='option']").filter(has_text="pick the digit").click()
    digit = page.get_by_role("combobox", name="Digit to draw")
    expect(digit).to_have_value("7")  # the conditional generator draws
    digit.click()
    page.get_by_role("option", name="3", exact=True).click()
    slider = page.locator("[data-testid='stSlider']").filter(has_text="z[0]").locator("input")
    before = image_sources(page)
    for _ in range(4):
        slider.press("ArrowRight")
    wait_for_change(lambda: image_sources(page), before)
    page.wait_for_function(NO_STALE)
    point = slider.input_value()
    nav.get_by_text("Interpolate").click()
    page.get_by_text("frames by slerp").wait_for()
    page.get_by_role("button", name="Download GIF").wait_for()
    expect(generator).to_have_value(re.compile("pick the digit"))
    nav.get_by_text("Latent explorer").click()
    expect(digit).to_have_value("3")
    expect(slider).to_have_value(point)
    nav.get_by_text("Train", exact=True).click()
    expect(picker).to_have_value(re.compile("^Our recipes: coded-digits — "))
    assert page.locator("[data-testid='stException']").count() == 0


PAGES = {
    "": "Classroom",
    "train": "Train",
    "explore": "Latent explorer",
    "interpolate": "Interpolate",
}


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_deep_links_as_a_fresh_servers_first_request(path, page):
    """A teacher shares http://host:8501/explore: the first request to a new server must get
    the app's navigation (titles, order, icons), not Streamlit's pages-folder one."""
    with streamlit_server(f"server-{path or 'home'}.log") as url:
        page.goto(f"{url}/{path}")
        nav = page.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Latent explorer").wait_for()
        links = nav.locator("a").all_inner_texts()
        titles = [text.split("\n")[-1].strip() for text in links]
        assert titles == list(PAGES.values()), links
        assert page.title() == "MNIST GAN Studio"
        active = nav.locator("a[aria-current='page']").inner_text().split("\n")[-1].strip()
        assert active == PAGES[path]


# The student's screen: a phone and a laptop.

SIZES = {"phone": (390, 844), "laptop": (1366, 768)}


@contextmanager
def screen(chromium, size: str):
    """A fresh browser (its own cookies) with a tab of the given size."""
    width, height = SIZES[size]
    phone = size == "phone"
    context = chromium.new_context(
        viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone
    )
    tab = context.new_page()
    tab.set_default_timeout(90_000)
    try:
        yield tab
    except BaseException:
        keep_tabs(context)
        raise
    finally:
        context.close()


def in_first_screen(tab, locator) -> bool:
    """True if the top of `locator` shows without scrolling."""
    tab.evaluate("window.scrollTo(0, 0)")
    box = locator.bounding_box()
    return box is not None and 0 <= box["y"] < tab.viewport_size["height"]


def settings(tab, size: str):
    """The sidebar, opened first on a phone (where it starts closed)."""
    if size == "phone":
        tab.locator("[data-testid='stExpandSidebarButton']").click()
    return tab.locator("[data-testid='stSidebar']")


def close_settings(tab, size: str) -> None:
    if size == "phone":
        tab.locator("[data-testid='stSidebar']").get_by_role("button").first.click()
        tab.locator("[data-testid='stExpandSidebarButton']").wait_for()


@pytest.mark.parametrize("size", SIZES)
def test_after_train_the_grid_and_its_controls_are_in_the_first_screen(server, chromium, size):
    with screen(chromium, size) as tab:
        tab.goto(f"{server}/train")
        tab.get_by_role("button", name="Train", exact=True).click()
        tab.get_by_text("Fixed noise").wait_for()
        tab.wait_for_function("document.body.innerText.includes('running — step')")
        grid = tab.locator("[data-testid='stImage'] img").first
        assert in_first_screen(tab, grid)
        assert in_first_screen(tab, main(tab).get_by_role("button", name="Pause"))
        tab.screenshot(path=str(ARTIFACTS / f"train-{size}.png"))
        other = tab.context.new_page()  # a second tab of the same browser shows the same run
        other.goto(f"{server}/train")
        other.wait_for_function("document.body.innerText.includes('running — step')")
        other.close()
        main(tab).get_by_role("button", name="Stop", exact=True).click()
        tab.get_by_text("Run stopped").wait_for()


def test_a_lesson_link_opens_the_train_page_set_and_its_address_follows_the_form(server, page):
    page.goto(server)  # as a class would: the server has been up a while
    page.get_by_text("Generative Adversarial Network").wait_for()
    page.goto(f"{server}/train?preset=fast&epochs=3&seed=7")
    preset = page.get_by_role("combobox", name="Preset")
    page.wait_for_function("document.body.innerText.includes('Source: this project; a narrow')")
    expect(preset).to_have_value(re.compile("fast"))
    epochs = page.get_by_label("Epochs")
    expect(epochs).to_have_value("3")  # a number field shows 0 for a moment while it renders
    epochs.fill("5")
    epochs.press("Enter")
    page.wait_for_url("**epochs=5**", timeout=90_000)
    assert "preset=fast" in page.url and "seed=7" in page.url
    page.goto(f"{server}/explore?seed=42&digit=8")
    page.get_by_text("rendered in").wait_for()
    expect(page.get_by_label("Seed")).to_have_value("42")
    page.goto(f"{server}/train?epochs=-2")
    page.get_by_text("This link's settings were not used: Epochs must be").first.wait_for()


@pytest.mark.parametrize("size", SIZES)
def test_a_student_breaks_a_gan_from_the_classroom_and_fixes_it_mid_run(server, chromium, size):
    with screen(chromium, size) as tab:
        tab.goto(server)
        tab.get_by_role("button", name="Run collapse-demo").click()
        tab.get_by_role("heading", name="Failure detectors").wait_for()
        tab.wait_for_function("document.body.innerText.includes('running — step')")
        tab.get_by_text("Mode collapse:").first.wait_for()
        tab.get_by_role("heading", name="What D sees").wait_for()
        tab.get_by_role("button", name="Fix it: Speed D up to G's pace").click()
        tab.get_by_text("Done: speed D up to G's pace").wait_for()
        tab.get_by_text("Changed mid-run at step").wait_for()
        assert tab.locator("[data-testid='stException']").count() == 0
        tab.screenshot(path=str(ARTIFACTS / f"failure-lab-{size}.png"), full_page=True)
        main(tab).get_by_role("button", name="Stop", exact=True).click()
        tab.get_by_text("Run stopped").wait_for()


@pytest.mark.parametrize("size", SIZES)
def test_the_explorers_image_is_in_the_first_screen_and_follows_its_slider(server, chromium, size):
    with screen(chromium, size) as tab:
        tab.goto(f"{server}/explore")
        tab.get_by_text("rendered in").wait_for()
        image = tab.locator("[data-testid='stImage'] img").first
        assert in_first_screen(tab, image)
        assert in_first_screen(tab, tab.get_by_role("button", name="Randomize"))
        tab.screenshot(path=str(ARTIFACTS / f"explorer-{size}.png"))
        before = image.get_attribute("src")
        slider = tab.locator("[data-testid='stSlider'] input[type='range']").first
        slider.focus()
        for _ in range(10):
            slider.press("ArrowRight")
        wait_for_change(lambda: image.get_attribute("src"), before)


@pytest.mark.parametrize("size", SIZES)
def test_a_bad_setting_is_explained_in_the_main_area(server, chromium, size):
    with screen(chromium, size) as tab:
        tab.goto(f"{server}/train")
        epochs = settings(tab, size).get_by_label("Epochs", exact=True)
        epochs.fill("100000")
        epochs.press("Enter")
        main = tab.locator("[data-testid='stMain']")
        main.get_by_text("Epochs must be a whole number").wait_for()
        close_settings(tab, size)
        message = main.get_by_text("Change it under Settings")
        assert in_first_screen(tab, message)
        assert tab.get_by_role("button", name="Train", exact=True).is_disabled()


def test_the_default_trains_past_its_epochs_while_the_student_visits_another_page(server, chromium):
    """The first thing a curious student does: raise Epochs above the default's, press Train,
    look at the explorer meanwhile, come back. No cap ends the run at the default's epochs;
    the run is still there, still training, its grid still changing; the form still shows
    the student's settings, and the next Train would use them."""
    with screen(chromium, "laptop") as tab:
        tab.goto(f"{server}/train")
        sidebar = settings(tab, "laptop")
        default_epochs = PRESETS[DEFAULT_PRESET].epochs
        # read from the preset: on a loaded machine the field shows 0 for a moment first
        expect(sidebar.get_by_label("Epochs", exact=True)).to_have_value(str(default_epochs))
        type_number(sidebar, "Epochs", 40 * default_epochs)
        sidebar.get_by_text("More settings").click()
        type_number(sidebar, "Training images (0 = all)", 640)  # 10 steps an epoch
        tab.get_by_role("button", name="Train", exact=True).click()
        past_default = f"/Epoch\\s+(\\d+) of {40 * default_epochs}/.exec(document.body.innerText)"
        tab.wait_for_function(f"{past_default} && +{past_default}[1] > {default_epochs}")
        nav = tab.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Latent explorer").click()
        tab.get_by_text("rendered in").wait_for()
        nav.get_by_text("Train", exact=True).click()
        tab.wait_for_function("document.body.innerText.includes('running — step')")
        before = shown_step(tab)
        grid = image_sources(tab)[:1]
        wait_for_step(tab, f"step > {before}")
        wait_for_change(lambda: image_sources(tab)[:1], grid)
        assert tab.locator("[data-testid='stException']").count() == 0
        main(tab).get_by_role("button", name="Stop", exact=True).click()
        tab.get_by_text("Run stopped").wait_for()
        tab.get_by_role("button", name="Download generator (.keras)").wait_for()
        expect(sidebar.get_by_label("Epochs", exact=True)).to_have_value(str(40 * default_epochs))
        expect(sidebar.get_by_label("Training images (0 = all)", exact=True)).to_have_value("640")
        assert f"epochs={40 * default_epochs}" in tab.url  # the page's link shares them too


def test_the_default_trained_a_full_epoch_longer_ends_with_every_digit_varied(server, chromium):
    """The default's recipe on all of MNIST, one epoch past its default length, while the
    student looks at the explorer: the run finishes, its quality panel names no collapse
    (within a digit included), its detector is clear, and What D sees scores ten real
    digits."""
    with screen(chromium, "laptop") as tab:
        tab.goto(f"{server}/train")
        sidebar = settings(tab, "laptop")
        epochs = PRESETS[DEFAULT_PRESET].epochs + 1
        expect(sidebar.get_by_label("Epochs", exact=True)).to_have_value(str(epochs - 1))
        type_number(sidebar, "Epochs", epochs)
        tab.wait_for_url(f"**epochs={epochs}**", timeout=90_000)  # the server has taken it
        tab.get_by_role("button", name="Train", exact=True).click()
        tab.wait_for_function("document.body.innerText.includes('running — step')")
        nav = tab.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Latent explorer").click()
        tab.get_by_text("rendered in").wait_for()
        nav.get_by_text("Train", exact=True).click()
        tab.get_by_text("Run finished").wait_for(timeout=900_000)
        tab.wait_for_function(NO_STALE)  # the finished page, not it and the last rerun's
        body = tab.inner_text("body")
        assert re.search(rf"Epoch\s+{epochs} of {epochs}\b", body) and "full MNIST" in body
        assert "Mode collapse: clear." in body and "Mode collapse within" not in body
        # What D sees: its ten real digits, each judged among others of its digit.
        assert "Ten real digits, with D's score of each:" in body
        assert len(re.findall(r"\b\d+% real\b", body)) == 10
        assert tab.locator("[data-testid='stException']").count() == 0
        tab.get_by_role("button", name="Download generator (.keras)").wait_for()


def test_a_collapse_named_live_is_cured_by_its_fix_while_the_student_visits_the_explorer(
    server, chromium
):
    """The lab's lesson as a student lives it: start the collapse demo from the Classroom,
    wait until the detector names the collapse, press Fix it, look at the explorer meanwhile,
    come back: the same run trains on and its detector has cleared."""
    with screen(chromium, "laptop") as tab:
        tab.goto(server)
        tab.get_by_role("button", name="Run collapse-demo").click()
        tab.get_by_text("Mode collapse: firing.").wait_for(timeout=240_000)
        tab.get_by_role("button", name="Fix it: Speed D up to G's pace").click()
        tab.get_by_text("Done: speed D up to G's pace").wait_for()
        nav = tab.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Latent explorer").click()
        tab.get_by_text("rendered in").wait_for()
        nav.get_by_text("Train", exact=True).click()
        tab.get_by_text("Changed mid-run at step").wait_for()
        tab.get_by_text("Mode collapse: clear.").wait_for(timeout=240_000)
        assert "running — step" in tab.inner_text("body")
        assert tab.locator("[data-testid='stException']").count() == 0
        main(tab).get_by_role("button", name="Stop", exact=True).click()
        tab.get_by_text("Run stopped").wait_for()


@pytest.mark.parametrize("size", ["phone"])  # a laptop's: tests/test_serve.py, via nginx
def test_a_junk_upload_is_named_by_its_own_name_without_server_paths(
    server, chromium, size, tmp_path
):
    junk = tmp_path / "notamodel.keras"
    junk.write_text("my homework")
    with screen(chromium, size) as tab:
        tab.goto(f"{server}/explore")
        tab.get_by_text("rendered in").wait_for()
        sidebar = settings(tab, size)
        sidebar.locator("[data-testid='stSelectbox']").first.click()
        tab.get_by_role("option", name="Upload a .keras generator…").click()
        sidebar.locator("input[type='file']").set_input_files(str(junk))
        tab.get_by_text("notamodel.keras is not a Keras model file.").wait_for()
        assert "/tmp" not in tab.inner_text("body") and "gan-studio" not in tab.inner_text("body")


def shown_step(tab) -> int:
    """The step the page (or a frame in it) shows (0 before the first)."""
    found = re.search(r"step ([\d,]+) of", tab.inner_text("body"))
    return int(found.group(1).replace(",", "")) if found else 0


def wait_for_step(tab, condition: str) -> None:
    """Wait until the shown step satisfies `condition` (JavaScript, on `step`)."""
    tab.wait_for_function(
        "() => { const m = /step ([\\d,]+) of/.exec(document.body.innerText);"
        f" const step = m ? +m[1].replace(/,/g, '') : -1; return {condition}; }}"
    )


RUN_CONTROLS = re.compile(r"^(Pause|Resume|Stop|Step|Step D|Step G|Restart)$")


def buttons(tab, text: re.Pattern | None = None):
    """The page's own buttons."""
    found = main(tab).locator("[data-testid='stButton']")
    return found.filter(has_text=text) if text else found


def test_a_class_run_that_every_student_watches_and_only_the_teacher_drives(server, chromium):
    """A teacher starts a class run; two students (a phone, a laptop: separate browsers)
    open its link and watch the same steps, with no run controls; the teacher pauses and
    steps D, and both see that step; the teacher sees them counted; the projector view. The
    class run's settings wait while the teacher looks at another page first."""
    with screen(chromium, "laptop") as teacher:
        teacher.goto(server)
        epochs = teacher.get_by_label("Epochs")
        epochs.fill("20")
        epochs.press("Enter")
        nav = teacher.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Latent explorer").click()
        teacher.get_by_text("rendered in").wait_for()
        nav.get_by_text("Classroom").click()
        expect(epochs).to_have_value("20")
        expect(teacher.get_by_role("combobox", name="Preset of the class run")).to_have_value(
            re.compile("quick-digits")
        )
        teacher.get_by_role("button", name="Start a class run").click()
        teacher.wait_for_url("**class=*")
        code = re.search(r"class=(\w+)", teacher.url).group(1)
        main(teacher).get_by_role("button", name="Pause", exact=True).wait_for()
        wait_for_step(teacher, "step > 0")
        try:
            watch_the_class(server, chromium, teacher, code)
        finally:  # the class run holds a training slot: free it for the next tests
            main(teacher).get_by_role("button", name="Stop", exact=True).click()
            teacher.get_by_text("Run stopped").wait_for()


def watch_the_class(server: str, chromium, teacher, code: str) -> None:
    """Two students watch the class; the teacher steps it; the projector view."""
    with screen(chromium, "phone") as one, screen(chromium, "laptop") as two:
        for student in (one, two):
            student.goto(f"{server}/?class={code}")
            student.get_by_role("heading", name=f"Class run {code}").wait_for()
            view = live_class(student)
            wait_for_step(view, "step > 0")
            first = shown_step(view)
            wait_for_step(view, f"step > {first}")  # live: the step advances
            view.locator("#grid[src*='grid.png']").wait_for()
            view.locator("svg polyline").first.wait_for()  # the curves drawn
            assert buttons(student, RUN_CONTROLS).count() == 0
        main(teacher).get_by_role("button", name="Pause", exact=True).click()
        step_d = main(teacher).get_by_role("button", name="Step D", exact=True)
        step_d.wait_for()
        teacher.wait_for_function("document.body.innerText.includes('paused — step')")
        paused_at = settled(lambda: shown_step(teacher))
        step_d.click()
        wait_for_step(teacher, f"step > {paused_at}")
        stepped = shown_step(teacher)
        for student in (one, two):
            live_class(student).wait_for_function(
                f"document.body.innerText.includes('paused — step {stepped:,} of')"
            )
        teacher.wait_for_function("/Students watching\\s*2/.test(document.body.innerText)")
        one.screenshot(path=str(ARTIFACTS / "class-student-phone.png"))
        teacher.screenshot(path=str(ARTIFACTS / "class-teacher.png"))
        two.goto(f"{server}/?class={code}&view=projector")
        two.get_by_role("heading", name=f"Class run {code}").wait_for()
        two.get_by_text(f"Join at {server}/?class={code}").wait_for()
        expect(two.locator("[data-testid='stSidebar']")).to_be_hidden()
        assert buttons(two).count() == 0
        two.locator(".main-svg").first.wait_for()  # the curves drawn
        two.screenshot(path=str(ARTIFACTS / "class-projector.png"))


def test_a_forged_pause_from_a_student_session_is_refused(server):
    """A student's session sends the teacher's Pause and Stop buttons' widget ids (as a
    crafted client could): the class run goes on."""
    from urllib.parse import urlsplit

    from deploy.streamlit_client import Client, Tally

    async def forge() -> None:
        port, tally = urlsplit(server).port, Tally()
        teacher = Client(port, tally)
        await teacher.open()
        teacher.set_number("class-epochs", 20)
        await teacher.click("Start a class run")
        await teacher.run_and_wait()  # the page's rerun into the class
        code = teacher.query.split("class=")[1]
        while not any("running — step" in text for text in teacher.texts):
            teacher.texts.clear()
            await teacher.run_and_wait()
        try:
            await forge_as_student(port, tally, teacher, code)
        finally:  # the class run holds a training slot: free it for the next tests
            await teacher.click("stop")
            await teacher.close()
        assert not tally.errors, tally.errors

    async def forge_as_student(port, tally, teacher, code) -> None:
        student = Client(port, tally)
        await student.open(query=f"class={code}")
        assert f"Class run {code}" in student.texts and "pause" not in student.widgets
        for key in ("pause", "stop"):
            student.states[teacher.widgets[key][0]] = True
        await student.run_and_wait()
        teacher.texts.clear()
        await teacher.run_and_wait()
        assert any("running — step" in text for text in teacher.texts), teacher.texts
        await teacher.click("pause")  # the same widget id from the teacher's session works
        teacher.texts.clear()
        await teacher.run_and_wait()
        assert any("paused — step" in text for text in teacher.texts), teacher.texts
        await student.close()

    with ThreadPoolExecutor(1) as thread:  # Playwright holds this thread's event loop
        thread.submit(asyncio.run, forge()).result()
