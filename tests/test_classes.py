"""Class runs (gan.classes): codes, the teacher's token, watchers, one frame for everyone,
shared copies, on a real tiny training."""

from __future__ import annotations

import threading

import pytest
from conftest import StepGate, quiet, tiny, wait_until

from gan import classes as classes_module
from gan.classes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Classes,
    NotTheTeacherError,
    normal_code,
    replica_prefix,
)
from gan.runfolder import GENERATOR
from gan.runs import BackgroundRun


@pytest.fixture
def klass(small, tmp_path):
    """A class around a real tiny run that trains until stopped, paused after step 3."""
    gate = StepGate(3)
    run = BackgroundRun(tiny(epochs=500, out_dir=str(tmp_path)), small, callbacks=[gate])
    run.start()
    gate.wait(run)
    run.pause()
    wait_until(lambda: quiet(gate.stepped, 0.5))  # the step under way when Pause came is done
    klass = Classes().open(run)
    yield klass
    klass.run.stop()
    klass.run.join(60)


class Ended:
    active = False


def test_codes_are_short_unambiguous_and_name_their_replica():
    codes = Classes()
    code = codes.open(Ended(), prefix="C").code
    assert len(code) == CODE_LENGTH and code[0] == "C"
    assert set(code) <= set(CODE_ALPHABET) and not set(code) & set("01IO")
    assert normal_code(f" {code.lower()[:2]} {code.lower()[2:]} ") == code  # typed by a student
    assert codes.find(code.lower()).code == code
    for bad in ("", "ABC", "ABCDEF", "ABCD0", "ABC;D", "../..", "A" * 500):
        assert normal_code(bad) is None and codes.find(bad) is None
    assert replica_prefix("r1") == "A" and replica_prefix("r2") == "B"
    assert replica_prefix("r32") == CODE_ALPHABET[31]
    assert replica_prefix("") in CODE_ALPHABET  # a server of its own: any


def test_only_the_teachers_token_commands_the_run(klass):
    for forged in (None, "", "x" * 22, klass.teacher_token[:-1]):
        assert not klass.is_teacher(forged)
        with pytest.raises(NotTheTeacherError, match="Only the teacher"):
            klass.control(forged)
    before = klass.run.snapshot()
    assert before.status == "paused"
    klass.control(klass.teacher_token).step("d")
    assert klass.run.snapshot().last.step == before.last.step + 1


def test_one_frame_serves_every_watcher_until_the_run_changes(klass):
    made, ready = [], threading.Event()

    def render(snap):
        made.append(snap.last.step)
        ready.set()
        return snap.last.step

    frames = {klass.frame(render) for _ in range(30)}  # thirty students, one tick
    paused_at = klass.run.snapshot().last.step
    assert frames == {paused_at} and made == [paused_at]
    klass.control(klass.teacher_token).step()  # the teacher steps and sees it at once
    assert klass.frame(render, wait=True) == paused_at + 1
    assert klass.frame(render) == paused_at + 1 and len(made) == 2
    klass.control(klass.teacher_token).step()
    ready.clear()
    assert klass.frame(render) == paused_at + 1  # a student gets the last frame at once...
    assert ready.wait(30)
    wait_until(lambda: klass.frame(render) == paused_at + 2)  # ...and the new one next tick
    assert len(made) == 3


def test_students_watching_are_counted_and_leave(klass, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(classes_module.time, "monotonic", lambda: now[0])
    for viewer in ("a", "b", "a", "c"):
        klass.watch(viewer)
    assert klass.watching == 3
    now[0] += classes_module.WATCHING_S + 1
    klass.watch("c")
    assert klass.watching == 1


def test_forged_viewers_are_forgotten_once_gone(klass, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(classes_module.time, "monotonic", lambda: now[0])
    for viewer in range(classes_module.MOST_WATCHERS):
        klass.watch(f"forged-{viewer}")
    now[0] += classes_module.WATCHING_S + 1
    klass.watch("a real student")  # one too many: those who left are forgotten
    assert len(klass._watchers) == 1 and klass.watching == 1


def test_students_who_take_a_copy_together_share_one_file(klass, tmp_path):
    saved = []

    def save(run):
        saved.append(run.save_generator(tmp_path / f"copy-{len(saved)}.keras"))
        return saved[-1]

    first = klass.copy(save)
    assert first.is_file() and all(klass.copy(save) == first for _ in range(10))
    assert len(saved) == 1


def test_a_restart_keeps_the_code_and_needs_the_token(klass, small, tmp_path):
    fresh = BackgroundRun(tiny(out_dir=str(tmp_path / "again")), small)
    with pytest.raises(NotTheTeacherError):
        klass.replace("forged", fresh)
    old = klass.run
    klass.replace(klass.teacher_token, fresh.start())
    assert klass.run is fresh and old.join(60) and old.snapshot().end.reason == "stopped"


def test_a_class_run_no_teacher_looks_at_ends_saved_and_says_why(small, tmp_path):
    run = BackgroundRun(
        tiny(epochs=500, out_dir=str(tmp_path)),
        small,
        idle_timeout=1.0,
        idle_reason="no teacher's page was open",
    )
    Classes().open(run.start())
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "stopped" and "no teacher's page was open for 1 s" in end.message
    assert (tmp_path / GENERATOR).is_file()


def test_a_server_forgets_its_oldest_ended_classes():
    codes = Classes()
    first = codes.open(Ended()).code
    later = [codes.open(Ended()).code for _ in range(classes_module.KEEP_ENDED)]
    assert codes.find(first) is None and all(codes.find(code) for code in later)
