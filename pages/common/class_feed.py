"""A class run's live view for its students, served without a script run.

A Streamlit page run per student and update costs the server about 15 ms under one GIL, so a
class of 30 queued behind each other (docs/classroom.md). Instead the class's frame is made
once for everyone (`gan.classes.ClassRun.frame`) as one JSON and one PNG, served by two plain
HTTP routes of the app (`routes`, mounted by streamlit_app.py), and each student's Classroom
page holds a small page (`student_view`) that fetches them every FEED_S seconds.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gan.detectors import diagnose
from gan.runs import Snapshot
from pages.common.charts import CHARTS, LINES, curve, png_bytes
from pages.common.live import PREPARING, detail_words, progress_words

ROUTE = "/class-feed"  # /class-feed/CODE (the frame's JSON), /class-feed/CODE/grid.png
FEED_S = 1.0  # a student's page asks for the class's frame this often
CURVES = ("losses", "d_outputs")  # the curves a student sees (every chart: on request)
FEED_POINTS = 300  # points per curve: enough for a chart a few hundred pixels wide
NO_STORE = {"Cache-Control": "no-store"}
WAITING = {
    "queued": "Waiting for a free training slot: the class run starts by itself.",
    "preparing": PREPARING,
}

_frames = itertools.count(1)


@dataclass(frozen=True)
class Feed:
    """One frame of a class run, made once for every watcher: the snapshot it shows, the
    fixed-noise grid as PNG, and what a student's page shows, as JSON."""

    snap: Snapshot
    grid: bytes | None
    body: bytes


def feed(snap: Snapshot) -> Feed:
    """The class's frame for `snap` (a `ClassRun.frame` render function)."""
    grid = png_bytes(snap.grid, 3) if snap.grid is not None else None
    frame = next(_frames)
    view = {
        "grid": f"grid.png?v={frame}" if grid else None,
        "status": status_words(snap),
        "progress": snap.progress,
        "detail": detail_words(snap),
        "ended": f"Run {snap.end.reason}: {snap.end.message}" if snap.end else None,
        "ended_well": bool(snap.end and snap.end.reason in ("finished", "stopped")),
        "warning": getattr(snap.latest_quality, "collapse_warning", None),
        "verdicts": [
            {"title": f.title, "state": f.state, "evidence": f.evidence}
            for f in diagnose(snap.history, snap.quality)
        ]
        if snap.start
        else [],
        "charts": [chart(snap, name) for name in CURVES] if snap.start else [],
    }
    return Feed(snap, grid, json.dumps(view).encode())


def status_words(snap: Snapshot) -> str:
    """The run's state and step, or why it waits."""
    if snap.status in WAITING or snap.start is None:
        return WAITING.get(snap.status, "Starting…")
    return progress_words(snap)


def chart(snap: Snapshot, name: str) -> dict:
    """One of CHARTS as the student's page draws it: a title, a y range, labelled curves."""
    names, _, title, y_range, window = CHARTS[name]
    lines = []
    for line in names:
        steps, values = (np.asarray(a, float) for a in curve(snap.history, line, window))
        every = max(1, -(-len(steps) // FEED_POINTS))
        steps, values = steps[::every], values[::every]
        shown = np.isfinite(values)  # JSON has no NaN; a diverged run's curve just stops
        label, colour = LINES[line]
        lines.append(
            {
                "label": label,
                "colour": colour,
                "x": steps[shown].round(1).tolist(),
                "y": values[shown].round(4).tolist(),
            }
        )
    shown_range = list(y_range) if isinstance(y_range, tuple) else None
    return {"title": title, "range": shown_range, "lines": lines}


def routes() -> list[Route]:
    """The feed's HTTP routes, for `st.App(..., routes=routes())`."""
    return [Route(ROUTE + "/{code}", frame_json), Route(ROUTE + "/{code}/grid.png", grid_png)]


def class_frame(request: Request, watching: bool = False) -> Feed | Response:
    """The frame of the class in the path (`watching`: noting the student who asked), or a
    404."""
    from pages.common.classroom import classes

    klass = classes().find(request.path_params["code"])
    if klass is None:
        return JSONResponse(
            {"gone": "No class run with this code here: it has ended. Ask your teacher."},
            status_code=404,
            headers=NO_STORE,
        )
    if watching:
        viewer = request.query_params.get("viewer", "")[:32] or str(request.client)
        klass.watch(viewer)
    return klass.frame(feed)


async def frame_json(request: Request) -> Response:
    """The class's frame as JSON. On the server's event loop, not a worker thread: the frame
    is made on a thread of its own (`ClassRun.frame`), so this only looks it up."""
    frame = class_frame(request, watching=True)
    if isinstance(frame, Response):
        return frame
    return Response(frame.body, media_type="application/json", headers=NO_STORE)


async def grid_png(request: Request) -> Response:
    """The grid of the current frame (its `?v=` makes each frame's address its own)."""
    frame = class_frame(request)
    if isinstance(frame, Response):
        return frame
    if frame.grid is None:
        return Response(status_code=404, headers=NO_STORE)
    return Response(frame.grid, media_type="image/png", headers={"Cache-Control": "max-age=600"})


def student_view(code: str) -> str:
    """The student's live class view: a small page that fetches the class's frame every
    FEED_S seconds and draws the grid, the step, the detectors' verdicts and two curves."""
    page = STUDENT_PAGE.replace("__FEED__", f"{ROUTE}/{code}").replace("__CODE__", code)
    return page.replace("__EVERY_MS__", f"{FEED_S * 1000:.0f}")


STUDENT_PAGE = (Path(__file__).parent / "class_view.html").read_text()
