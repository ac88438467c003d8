"""The class run on the Classroom page, through Streamlit's AppTest: a teacher starts it, a
student watches it read-only and takes a copy, a teacher link and the projector view, bad
codes and forged teacher links."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import settled, wait_until
from starlette.requests import Request
from streamlit.testing.v1 import AppTest
from test_pages import ROOT, TIMEOUT, errors

from pages.common.class_feed import ROUTE, frame_json
from pages.common.classroom import classes

pytestmark = pytest.mark.system  # trains in a child process

RUN_CONTROLS = {"Pause", "Resume", "Stop", "Step", "Step D", "Step G", "Restart"}


def home(**query: str) -> AppTest:
    """The Classroom page opened at `/?query`, as a link opens it."""
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    for name, value in query.items():
        app.query_params[name] = value
    return app.run()


def labels(app: AppTest) -> set[str]:
    return {button.label for button in app.button}


def live_view_source(app: AppTest) -> str:
    """The student's live view: the page the Classroom page holds in a frame."""
    frames = [e.proto.srcdoc for e in app.main.get("iframe")]
    assert len(frames) == 1
    return frames[0]


def fetch_feed(code: str, viewer: str) -> tuple[int, dict]:
    """GET ROUTE/CODE?viewer=..., as the student's live view asks the server every second
    (the route's own function, with the request the server would give it)."""
    reply = asyncio.run(
        frame_json(
            Request(
                {
                    "type": "http",
                    "method": "GET",
                    "path": f"{ROUTE}/{code}",
                    "path_params": {"code": code},
                    "query_string": f"class={code}&viewer={viewer}".encode(),
                    "headers": [],
                    "client": ("127.0.0.1", 50000),
                }
            )
        )
    )
    return reply.status_code, json.loads(reply.body)


def query(app: AppTest, name: str) -> str | None:
    value = app.query_params.get(name)
    return value[0] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def class_run():
    """A teacher's session that started a class run of quick-digits (real MNIST), its page
    shown again once the run stepped (any test may run first); yields (teacher's AppTest,
    the class)."""
    teacher = home()
    teacher.number_input(key="class-epochs").set_value(20)
    next(b for b in teacher.button if b.label == "Start a class run").click().run()
    klass = classes().find(query(teacher, "class"))
    wait_until(lambda: klass.run.snapshot().last is not None, seconds=120)
    teacher.run()  # the page as it refreshes once the run steps: Pause enabled
    yield teacher, klass
    klass.run.stop()
    klass.run.join(60)


def test_the_teacher_gets_the_code_link_qr_and_every_control(class_run):
    teacher, klass = class_run
    assert not teacher.exception
    assert [t.value for t in teacher.title] == [f"Class run {klass.code}"]
    assert {"Pause", "Stop", "Restart"} <= labels(teacher)
    assert any(m.label == "Students watching" for m in teacher.metric)
    sidebar = " ".join(m.value for m in teacher.sidebar.markdown)
    assert klass.code in sidebar and "Projector view" in sidebar
    assert len(teacher.sidebar.get("image")) == 1  # the QR code


def test_a_student_watches_read_only_and_is_counted(class_run):
    teacher, klass = class_run
    student = home(**{"class": klass.code.lower()})  # codes are read in any case
    assert not student.exception and not errors(student)
    assert [t.value for t in student.title] == [f"Class run {klass.code}"]
    assert not labels(student) & RUN_CONTROLS
    assert not student.sidebar.get("image")  # no join QR, no teacher link
    assert f'"{ROUTE}/{klass.code}"' in live_view_source(student)
    # The page asks every second; the first answer may be the frame made before it asked.
    wait_until(lambda: "running — step" in fetch_feed(klass.code, "student-1")[1]["status"])
    status, frame = fetch_feed(klass.code, "student-1")
    assert status == 200 and frame["grid"].startswith("grid.png?v=")
    assert [c["title"] for c in frame["charts"]] == ["Losses", "What D says"]
    assert len(frame["verdicts"]) == 3
    teacher.run()
    watching = next(m for m in teacher.metric if m.label == "Students watching")
    assert int(watching.value) >= 1


def test_the_step_the_teacher_makes_is_the_step_students_see(class_run):
    teacher, klass = class_run
    next(b for b in teacher.button if b.label == "Pause").click().run()
    wait_until(lambda: klass.run.snapshot().status == "paused")
    teacher.run()
    before = settled(lambda: klass.run.snapshot().last.step)  # the step under way when paused
    next(b for b in teacher.button if b.label == "Step D").click().run()
    _, frame = fetch_feed(klass.code, "student-2")
    assert frame["status"].startswith(f"paused — step {before + 1:,} of")
    next(b for b in teacher.button if b.label == "Resume").click().run()


def test_a_forged_teacher_link_gets_no_controls_and_a_real_one_does(class_run):
    _, klass = class_run
    forged = home(**{"class": klass.code, "teacher": "guessed-token"})
    assert "not this class's" in " ".join(errors(forged))
    assert not labels(forged) & RUN_CONTROLS
    assert query(forged, "teacher") is None
    projector_laptop = home(**{"class": klass.code, "teacher": klass.teacher_token})
    assert {"Stop", "Restart"} <= labels(projector_laptop)
    assert query(projector_laptop, "teacher") is None  # the token left the address bar


def test_the_projector_view_shows_the_run_and_the_code_but_no_controls(class_run):
    _, klass = class_run
    wall = home(**{"class": klass.code, "view": "projector"})
    assert not wall.exception and not wall.button
    assert [t.value for t in wall.title] == [f"Class run {klass.code}"]
    assert len(wall.get("image")) >= 1  # the QR code (and the grid once drawn)


def test_a_student_takes_a_copy_into_their_explorer(class_run):
    _, klass = class_run
    student = home(**{"class": klass.code})
    next(b for b in student.button if b.label.startswith("Take a copy")).click().run()
    assert not student.exception and not errors(student)
    assert "class-copy-" in student.session_state["explore_model"]


@pytest.mark.parametrize("code", ["ZZZZZ", "abc", "<script>", "A" * 300])
def test_a_wrong_code_says_so_and_offers_the_way_back(code):
    app = home(**{"class": code})
    assert not app.exception
    assert "No class run with code" in " ".join(errors(app))
    assert "Leave the class" in labels(app)


@pytest.mark.parametrize("code", ["ZZZZZ", "../etc", "A" * 500])
def test_the_live_view_of_an_unknown_or_crafted_code_says_the_class_has_ended(code):
    status, reply = fetch_feed(code, "student-3")
    assert status == 404 and "has ended" in reply["gone"]
