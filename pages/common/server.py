"""Server-wide set-up, done once per process whichever page a student opens first: the
navigation, TensorFlow's background import and the spare training process, the garbage
collector, where and how many trainings run (`GAN_MAX_TRAININGS`, `GAN_TRAIN_NICE`,
`GAN_TRAIN_BACKEND`, `GAN_MAX_TRAIN_MINUTES`), and which browser a session belongs to."""

from __future__ import annotations

import binascii
import gc
import hashlib
import os
import runpy
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from gan.config import ConfigError, parse_float, parse_int
from gan.runs import Runner, TrainingSlots, in_child_process, in_this_process
from pages.common.state import BROWSER

ENTRY_SCRIPT = Path(__file__).resolve().parents[2] / "streamlit_app.py"  # lists every page


XSRF_COOKIE = "_streamlit_xsrf"  # Streamlit's own cookie, set on every page load


def start_page() -> None:
    """Call first on every page: the real navigation even on a deep link, TensorFlow's
    import started in the background, and this session noted as its browser's."""
    app_navigation()
    tensorflow_warmup()
    browser_sessions()[browser_id()].add(session_id())


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "no-session"


def browser_id() -> str:
    """Who this browser is, the same in all its tabs and after a server restart: a hash of the
    random token in Streamlit's XSRF cookie (format `2|mask|masked token|time`; the browser
    keeps it, and every replica reads it the same way). Without that cookie (no XSRF
    protection, AppTest), this session alone."""
    if BROWSER not in st.session_state:
        token = xsrf_token(st.context.cookies.get(XSRF_COOKIE, ""))
        st.session_state[BROWSER] = (
            hashlib.sha256(token).hexdigest()[:16] if token else "session-" + session_id()
        )
    return st.session_state[BROWSER]


def xsrf_token(cookie: str) -> bytes | None:
    """The token inside an XSRF cookie value (masked, version 2), or None."""
    parts = cookie.strip("\"'").split("|")
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = binascii.a2b_hex(parts[1]), binascii.a2b_hex(parts[2])
    except (binascii.Error, ValueError):
        return None
    if len(mask) != 4 or not masked:
        return None
    return bytes(byte ^ mask[i % 4] for i, byte in enumerate(masked))


@st.cache_resource
def browser_sessions() -> defaultdict[str, set[str]]:
    """Browser -> the ids of its Streamlit sessions (one per tab, and per reconnect)."""
    return defaultdict(set)


def browser_present(browser: str) -> Callable[[], bool]:
    """A check for a run's idle watch: True while any tab of `browser` is connected, on any
    page (a student exploring while their run trains)."""
    from streamlit.runtime import Runtime

    def present() -> bool:
        if not Runtime.exists():
            return False
        runtime = Runtime.instance()
        sessions = browser_sessions()[browser]
        return any(runtime.is_active_session(session) for session in list(sessions))

    return present


def max_training_seconds() -> float:
    """GAN_MAX_TRAIN_MINUTES (default 20): the longest an app training runs; it then ends,
    saved, so a forgotten tab cannot hold a training slot all day."""
    minutes = os.environ.get("GAN_MAX_TRAIN_MINUTES", "20")
    return 60.0 * parse_float("GAN_MAX_TRAIN_MINUTES", minutes, 0.0, 7 * 24 * 60)


_entry = threading.local()  # .inside: this thread is running a page through the entry script


@contextmanager
def through_navigation():
    """Mark a script run as going through the entry script (streamlit_app.py wraps its
    `st.navigation(...).run()` in this)."""
    _entry.inside = True
    try:
        yield
    finally:
        _entry.inside = False


def app_navigation() -> None:
    """Make a deep link work as a fresh server's first request(s).

    Streamlit decides once per process, at its first session, whether the app uses the legacy
    pages-folder navigation: if `pages/` exists it does, until some run calls `st.navigation`.
    So when a fresh server's first requests are `/explore`, Streamlit runs pages/explore.py on
    its own, under a sidebar of file names (and several tabs reconnecting to a restarted
    replica at once may each get such a run). A page run that did not come through the entry
    script switches the process to `st.navigation` and runs the entry script in its place, in
    the same run (a rerun would lose a click): it draws the real navigation and runs the same
    page; the legacy run stops here.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not getattr(_entry, "inside", False):
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(ENTRY_SCRIPT), run_name="__main__")
        st.stop()


def keep_keras_state() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit does that for apps that rebuild models on each rerun. Ours never do (models are
    cached or built on training threads), and the call costs ~300 ms per rerun here (a full
    `gc.collect()` with TensorFlow loaded, a graph reset, a kernel-cache clear) and resets
    Keras's global state under running trainings. Matplotlib's cleanup is kept.
    """
    from streamlit.runtime.scriptrunner import script_runner

    def clean_problem_modules_but_keras() -> None:
        close = getattr(sys.modules.get("matplotlib.pyplot"), "close", None)
        if close is not None:  # None also while another session's thread imports pyplot
            close("all")

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = clean_problem_modules_but_keras


@st.cache_resource(show_spinner=False)
def tensorflow_warmup() -> threading.Thread:
    """Import TensorFlow on a background thread at first page view, so forms paint at once."""
    keep_keras_state()

    def work() -> None:
        try:
            nice = training_priority() if training_backend() == "local" else None
        except ConfigError:  # shown when Train is pressed; the import must go on
            nice = None
        if nice is not None:
            from gan.child import prestart

            prestart(nice)  # a training process that imports TensorFlow alongside this one
        import gan.models  # noqa: F401  (imports keras and tensorflow)

        freeze_long_lived_objects()

    thread = threading.Thread(target=work, name="tf-warmup", daemon=True)
    thread.start()
    return thread


def freeze_long_lived_objects() -> None:
    """Exclude what is loaded so far (TensorFlow, Keras, models) from Python's cyclic GC.

    With TensorFlow loaded a full collection walks about 440,000 objects and holds the GIL for
    about 200 ms; under a class's load it came every few seconds and stalled every page at
    once. Frozen objects are never collected; they live as long as the server anyway.
    """
    gc.freeze()


def tensorflow_ready() -> bool:
    """True once the background import has finished."""
    return not tensorflow_warmup().is_alive()


def wait_for_tensorflow() -> None:
    """Block until the background import is done, before any code that imports TensorFlow.

    TensorFlow breaks when two threads import it at once (duplicate gradient registrations,
    half-initialised modules), so pages never start a second import of their own.
    """
    tensorflow_warmup().join()


@st.cache_resource
def training_slots() -> TrainingSlots:
    """Server-wide limit on concurrent trainings (env GAN_MAX_TRAININGS, default: cores / 2)."""
    default = max(1, (os.cpu_count() or 2) // 2)
    return TrainingSlots(
        parse_int("GAN_MAX_TRAININGS", os.environ.get("GAN_MAX_TRAININGS", default), 1, 64)
    )


def training_runner() -> Runner:
    """Where trainings run: GAN_TRAIN_BACKEND=local (default: a niced child process, or this
    process with GAN_TRAIN_NICE=off) or ray (an actor on RAY_ADDRESS's cluster, or a local
    Ray; GAN_RAY_CPUS and GAN_RAY_GPUS per training)."""
    if training_backend() == "ray":
        from gan.ray_runner import RayRunner

        return RayRunner.from_environment()
    nice = training_priority()
    return in_this_process if nice is None else in_child_process(nice)


def training_backend() -> str:
    """GAN_TRAIN_BACKEND: "local" (the default) or "ray"."""
    backend = os.environ.get("GAN_TRAIN_BACKEND", "local").strip().lower()
    if backend not in ("local", "ray"):
        raise ConfigError(f"GAN_TRAIN_BACKEND must be local or ray (got {backend!r}).")
    return backend


def training_priority() -> int | None:
    """The `nice` of training processes (env GAN_TRAIN_NICE, default 10; "off": train on a
    thread of the server process). None where child processes are not supported (Windows)."""
    value = os.environ.get("GAN_TRAIN_NICE", "10").strip().lower()
    if value == "off" or os.name != "posix":
        return None
    return parse_int("GAN_TRAIN_NICE", value, 0, 19)
