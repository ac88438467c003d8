"""The class run on the Classroom page: a teacher starts one training that every student who
opens its link watches live, and only the teacher's tab (or teacher link) drives it
(gan.classes)."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import streamlit as st

from gan.classes import Classes, ClassRun, NotTheTeacherError, normal_code
from gan.config import ConfigError, RunConfig, parse_float
from gan.presets import DEFAULT_PRESET, PRESETS
from gan.recipe import GROUPS
from gan.runfolder import GENERATOR
from gan.runs import BackgroundRun, Snapshot
from pages.common.class_feed import feed, student_view
from pages.common.live import (
    LiveView,
    charts_view,
    detail_words,
    end_line,
    live_view,
    progress_words,
    run_controls,
    status_line,
)
from pages.common.runs import UPLOADS, make_run
from pages.common.state import JOINED, TEACHER, explore_generator

CLASS_PRESET, CLASS_EPOCHS = "class-preset", "class-epochs"  # the class run's settings

# A class run with no teacher's page open for this long ends, saved (GAN_CLASS_IDLE_MINUTES).
CLASS_IDLE_S = 60 * parse_float(
    "GAN_CLASS_IDLE_MINUTES", os.environ.get("GAN_CLASS_IDLE_MINUTES", "30"), 0.0, 24 * 60
)
CLASS_MAX_S = 60 * parse_float(  # the longest a class run trains, pauses included: a lesson
    "GAN_CLASS_MAX_MINUTES", os.environ.get("GAN_CLASS_MAX_MINUTES", "90"), 1.0, 24 * 60
)


@st.cache_resource
def classes() -> Classes:
    """This server's class runs."""
    return Classes()


def charts(snap: Snapshot) -> LiveView | None:
    """The class's charts, made once for all its watchers (None before the run starts)."""
    return live_view(snap, shared=True) if snap.start else None


def start_class(config: RunConfig) -> ClassRun:
    """Start a class run with `config`; this session becomes its teacher."""
    klass = classes().open(class_run(config))
    st.session_state.setdefault(TEACHER, {})[klass.code] = klass.teacher_token
    return klass


def class_run(config: RunConfig) -> BackgroundRun:
    """A started run for a class: it ends CLASS_IDLE_S after the teacher's page last looked."""
    return make_run(
        config,
        longest=CLASS_MAX_S,
        idle_timeout=CLASS_IDLE_S,
        idle_reason="no teacher's page was open",
    )


def teacher_token(klass: ClassRun) -> str | None:
    return st.session_state.get(TEACHER, {}).get(klass.code)


def class_link(code: str, **more: str) -> str:
    """The address of the class on this server, as the browser reached it (host name and
    port through a proxy); `more`: other query values (view, teacher)."""
    address = urlsplit(st.context.url or "")
    base = f"{address.scheme}://{address.netloc}/" if address.netloc else "/"
    return base + "?" + urlencode({"class": code, **more})


@st.cache_data(max_entries=64, show_spinner=False)
def qr_png(link: str) -> bytes:
    """The link as a QR code a phone camera reads from across a classroom."""
    import segno

    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=10, border=2)
    return out.getvalue()


def class_setup() -> None:
    """Start a class run (teachers) or join one by its code (students)."""
    start, join = st.columns(2)
    with start:
        if CLASS_PRESET not in st.session_state:  # first visit: the Train page's preset
            chosen = st.session_state.get("preset", DEFAULT_PRESET)
            st.session_state[CLASS_PRESET] = chosen
            st.session_state[CLASS_EPOCHS] = PRESETS[chosen].epochs
        preset = st.selectbox(
            "Preset of the class run",
            list(PRESETS),
            key=CLASS_PRESET,
            persist_state="session",  # kept while the teacher visits other pages
            on_change=lambda: st.session_state.update(
                {CLASS_EPOCHS: PRESETS[st.session_state[CLASS_PRESET]].epochs}
            ),
            format_func=lambda name: f"{GROUPS[PRESETS[name].group]}: {name}",
        )
        epochs = st.number_input("Epochs", 1, 1000, key=CLASS_EPOCHS, persist_state="session")
        if st.button("Start a class run", type="primary"):
            try:
                klass = start_class(RunConfig.create(preset, epochs=epochs))
            except ConfigError as error:
                st.error(str(error))
            else:
                st.query_params.from_dict({"class": klass.code})
                st.rerun()
    with join:
        typed = st.text_input("Join a class: its code", max_chars=12, placeholder="e.g. K7QX2")
        if typed:
            code = normal_code(typed)
            if code is None:
                st.error("A class code is 5 letters and digits, as your teacher shows it.")
            elif classes().find(code):
                st.query_params.from_dict({"class": code})
                st.rerun()
            else:
                st.markdown(f"<a href='{class_link(code)}' target='_self'>Open class {code}</a>",
                            unsafe_allow_html=True)  # fmt: skip


def open_class() -> str | None:
    """The class the Classroom page shows: the link's `?class=`, or, back from another page,
    the class this tab had open (put back into the address)."""
    code = st.query_params.get("class")
    if code is None and classes().find(st.session_state.get(JOINED)):
        code = st.query_params["class"] = st.session_state[JOINED]
    return code


def class_page(code: str) -> None:
    """The Classroom page at `?class=CODE`: the class run, live; the teacher's controls in the
    teacher's browser; the projector view at `&view=projector`."""
    klass = classes().find(code)
    if klass is None:
        st.error(
            f"No class run with code {code[:12]!r} here: it has ended, or the code is "
            "mistyped. Ask your teacher for the link."
        )
        leave_button()
        return
    st.session_state[JOINED] = klass.code
    adopt_teacher_link(klass)
    token = teacher_token(klass)
    teacher = klass.is_teacher(token)
    if st.query_params.get("view") == "projector":
        projector(klass)
        return
    st.title(f"Class run {klass.code}")
    if teacher:
        st.caption("You started this class run: only this browser (and your teacher link) "
                   "can drive it. Students see the same run, without these controls.")  # fmt: skip
        with st.sidebar:
            share(klass)
    else:
        st.caption("Your teacher's training, live: the same run on every student's screen.")
    live_class(klass, token)
    class_charts(klass, teacher)
    if teacher:
        teacher_tools(klass, token)
    else:
        take_a_copy(klass)
    leave_button()


def adopt_teacher_link(klass: ClassRun) -> None:
    """A teacher link (`&teacher=TOKEN`, e.g. on the projector laptop) makes this session the
    class's teacher; the token leaves the address bar at once."""
    token = st.query_params.get("teacher")
    if token is None:
        return
    del st.query_params["teacher"]
    if klass.is_teacher(token):
        st.session_state.setdefault(TEACHER, {})[klass.code] = token
    else:
        st.error("That teacher link is not this class's: you watch as a student.")


def live_class(klass: ClassRun, token: str | None) -> None:
    """The teacher's grid, step and controls, redrawn every second; a student's grid, step,
    curves and the detectors' verdicts, fetched by the page itself (class_feed: no script
    run per student and update)."""
    if klass.is_teacher(token):
        st.fragment(teacher_picture, run_every=1.0)(klass, token)
    else:
        st.iframe(student_view(klass.code), alt=f"Class run {klass.code}, live")


def teacher_picture(klass: ClassRun, token: str | None) -> None:
    frame = klass.frame(feed, wait=True)
    snap = frame.snap
    left, side = st.columns([3, 2])
    if frame.grid is not None:
        left.image(frame.grid, caption="Fixed noise: the same z in every frame")
    with side:
        if snap.end is None:
            run_controls(klass.control(token), snap)
        st.metric("Students watching", klass.watching)
        if snap.end is not None:
            end_line(snap)
        status_line(snap)


def short_status(snap: Snapshot) -> None:
    """The step and the speed in two lines (the projector's)."""
    if snap.status in ("queued", "preparing") or snap.start is None:
        status_line(snap)
        return
    st.progress(snap.progress, text=progress_words(snap))
    st.caption(detail_words(snap))


def class_charts(klass: ClassRun, teacher: bool) -> None:
    """Every chart for the teacher (every 2 s); for a student, on request (the curves and
    verdicts are in the student's live view)."""
    if teacher or st.toggle("Every chart: quality, the detectors' evidence, what D sees"):
        st.fragment(charts_view_of, run_every=2.0)(klass, teacher)


def charts_view_of(klass: ClassRun, teacher: bool) -> None:
    view = klass.frame(charts, every=2.0)
    if view is not None:
        charts_view(view, klass.run if teacher else None)


def share(klass: ClassRun) -> None:
    """The join code, link and QR code; the projector and teacher links."""
    link = class_link(klass.code)
    st.markdown(f"## Join: `{klass.code}`")
    st.image(qr_png(link), caption=link, width=220)
    st.markdown(f"[Projector view]({class_link(klass.code, view='projector')})")
    with st.expander("Teacher link (keep it secret)"):
        st.caption("Opens these controls in another browser, such as the projector laptop.")
        st.code(class_link(klass.code, teacher=klass.teacher_token), language=None)


def projector(klass: ClassRun) -> None:
    """For the wall: no sidebar, the code and QR code in a corner, big grid and curves."""
    st.html(
        "<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], "
        "[data-testid='stExpandSidebarButton'], header {display: none !important}</style>"
    )
    title, corner = st.columns([4, 1])
    title.title(f"Class run {klass.code}")
    title.markdown(f"Join at **{class_link(klass.code)}**")
    corner.image(qr_png(class_link(klass.code)), width=160)
    projector_live(klass)


@st.fragment(run_every=1.0)
def projector_live(klass: ClassRun) -> None:
    frame = klass.frame(feed)
    snap, view = frame.snap, klass.frame(charts, every=2.0)
    left, curves = st.columns([1, 1])
    if frame.grid is not None:
        left.image(frame.grid, width="stretch")
    if view is not None:
        curves.plotly_chart(view.figure("losses"), width="stretch", key="p-losses")
        curves.plotly_chart(view.figure("d_outputs"), width="stretch", key="p-outputs")
    if snap.end is not None:
        end_line(snap)
    else:
        short_status(snap)


def teacher_tools(klass: ClassRun, token: str | None) -> None:
    """Restart the class with other settings; download the ended run's folder."""
    run = klass.run
    with st.expander("Restart the class run with other settings"):
        names = list(PRESETS)
        preset = st.selectbox(
            "Preset", names, index=names.index(run.config.preset), key="class-restart-preset"
        )
        if st.button("Restart", help="Same code and link: the students stay in the class."):
            try:
                klass.replace(token, class_run(RunConfig.create(preset)))
            except (ConfigError, NotTheTeacherError) as error:
                st.error(str(error))
            else:
                st.rerun()
    if not run.active:
        folder = Path(run.config.out_dir)
        st.download_button(
            "Download the run folder (.zip)",
            zipped(str(folder)),
            f"class-{klass.code}.zip",
            mime="application/zip",
        )


@st.cache_data(max_entries=8, show_spinner=False)
def zipped(folder: str) -> bytes:
    archive = shutil.make_archive(
        str(Path(tempfile.mkdtemp()) / "run"), "zip", root_dir=folder
    )  # fmt: skip
    data = Path(archive).read_bytes()
    shutil.rmtree(Path(archive).parent, ignore_errors=True)
    return data


def take_a_copy(klass: ClassRun) -> None:
    """The class generator as it is now, in this student's explorer and Interpolate."""
    if not st.button("Take a copy: explore the class generator as it is now"):
        return
    try:
        path = klass.copy(save_now)
    except ConfigError as error:
        st.error(str(error))
        return
    explore_generator(path)


def save_now(run: BackgroundRun) -> Path:
    """The generator of the running class run saved now, or the ended run's own file."""
    if not run.active:
        return Path(run.config.out_dir) / GENERATOR
    UPLOADS.mkdir(parents=True, exist_ok=True)
    return run.save_generator(UPLOADS / f"class-copy-{uuid.uuid4().hex[:12]}.keras")


def leave_button() -> None:
    if st.button("Leave the class", key="leave-class"):
        st.session_state.pop(JOINED, None)
        st.query_params.clear()
        st.rerun()
