"""A Streamlit client in Streamlit's own WebSocket protocol, a real server to talk to, and
the real browser (Chromium) the tests and screenshots drive.

What a browser tab sends (page runs, widget states, fragment timers) without a browser, so a
benchmark can open dozens of sessions on 2 cores.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput

ROOT = Path(__file__).resolve().parents[1]
# The real browser the tests and the screenshots drive: Debian's Chromium, headless.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_S = 30.0  # a page run or image that takes longer counts as an error


@dataclass
class Tally:
    """What all clients saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, explorer image updates
    watching: list[float] = field(default_factory=list)  # seconds, class watchers' updates
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # st.error texts (user-facing)
    trainings_started: int = 0
    trainings_finished: int = 0
    queued_seen: int = 0
    advanced: int = 0  # class watchers who saw the class run's step advance
    server_cpu_s: float = 0.0  # the server process's CPU time in the measured window


class Client:
    """One browser session, spoken to in Streamlit's protocol. `cookies` are sent with the
    WebSocket handshake, as a browser sends its cookies (a proxy's sticky cookie, say)."""

    def __init__(self, port: int, tally: Tally, cookies: dict[str, str] | None = None) -> None:
        self.port, self.tally, self.cookies = port, tally, dict(cookies or {})
        self.session_id, self.replica = "", ""  # the server's name for it; X-Replica, if any
        self.query = ""  # the page address's query string ("class=K7QX2"), as the page sets it
        self.widgets: dict[str, tuple[str, object]] = {}  # key -> (widget id, proto)
        self.states: dict[str, object] = {}  # widget id -> value sent with every run
        self.page_hash = ""
        self.finished = asyncio.Event()
        self.image = asyncio.Event()
        self.image_url, self.image_at = "", 0.0
        self.texts: list[str] = []
        self.metrics: dict[str, str] = {}  # st.metric label -> shown value
        self.timers: dict[str, float] = {}  # fragment id -> interval of its timer
        self.due: dict[str, float] = {}  # fragment id -> when its timer fires next
        self.fragment_of: dict[str, str] = {}  # widget id -> id of the fragment it lives in

    async def connect(self) -> None:
        cookie = cookie_header(self.cookies)
        self.ws = await websockets.connect(
            f"ws://localhost:{self.port}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
            additional_headers={"Cookie": cookie} if cookie else None,
        )
        self.replica = self.ws.response.headers.get("X-Replica", "")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = ForwardMsg()
                message.ParseFromString(raw)
                self._handle(message)
        except websockets.ConnectionClosed as error:
            self.tally.errors.append(f"connection closed: {error}")

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.session_id = message.new_session.initialize.session_id
        elif kind == "navigation":  # names the page this session is on
            self.page_hash = message.navigation.page_script_hash
        elif kind == "page_info_changed":  # st.query_params changed the address bar
            self.query = message.page_info_changed.query_string
        elif kind == "script_finished":
            self.finished.set()
        elif kind == "auto_rerun":
            self.timers[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._element(message.delta.new_element, message.delta.fragment_id)

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        widget_id = getattr(proto, "id", "")
        if widget_id.startswith("$$ID-"):  # "$$ID-<hash>-<key>"; the key "None" if unkeyed
            key = widget_id.split("-", 2)[2]
            self.widgets[proto.label if key == "None" else key] = (widget_id, proto)
            self.fragment_of[widget_id] = fragment_id
        if kind == "imgs" and proto.imgs:
            self.image_url, self.image_at = proto.imgs[0].url, time.monotonic()
            self.image.set()
        elif kind == "exception":
            self.tally.errors.append(f"exception on the page: {proto.type}: {proto.message}")
        elif kind == "alert":
            self.texts.append(proto.body)
            if proto.format == proto.ERROR:
                self.tally.messages.append(proto.body)
        elif kind in ("markdown", "heading"):
            self.texts.append(proto.body)
        elif kind == "progress":
            self.texts.append(proto.text)
        elif kind == "metric":
            self.metrics[proto.label] = proto.body

    async def run(self, page: str = "", fragment: str = "", timer: bool = False) -> None:
        """Send one page run (or fragment run, for a widget or a `timer` tick) with the current
        widget states."""
        back = BackMsg()
        state = back.rerun_script
        state.page_name = page
        state.query_string = self.query
        state.page_script_hash = "" if page else self.page_hash
        state.fragment_id = fragment
        state.is_auto_rerun = timer
        for widget_id, value in self.states.items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            if value is True:
                widget.trigger_value = True
            elif isinstance(value, list):
                widget.double_array_value.data[:] = value
            elif isinstance(value, int):
                widget.int_value = value
            else:
                widget.double_value = value
        self.finished.clear()
        self.image.clear()
        await self.ws.send(back.SerializeToString())

    async def run_and_wait(self, page: str = "") -> None:
        await self.run(page)
        await asyncio.wait_for(self.finished.wait(), TIMEOUT_S * 4)  # first runs load TF

    def set_number(self, key: str, value: float) -> None:
        """Type `value` into the number input `key` (sent with the next run)."""
        widget_id, proto = self.widgets[key]
        self.states[widget_id] = int(value) if proto.data_type == NumberInput.INT else float(value)

    async def click(self, label: str) -> None:
        """Press the button labelled `label` and wait for the run it triggers."""
        button = self.widgets[label][0]
        self.states[button] = True
        await self.run_and_wait()
        del self.states[button]

    async def tick(self) -> None:
        """Fire the page's fragment timers that are due, as a browser does, then wait for the
        next one (1 s if the page has none yet)."""
        now = time.monotonic()
        for fragment_id, interval in self.timers.items():
            if self.due.setdefault(fragment_id, now) <= now:
                self.due[fragment_id] = now + interval
                await self.run(fragment=fragment_id, timer=True)
        upcoming = [self.due[f] for f in self.timers]
        await asyncio.sleep(max(0.05, min(upcoming) - time.monotonic()) if upcoming else 1.0)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()

    async def open(self, page: str = "", query: str = "") -> None:
        """What a browser does for a URL (`page`?`query`): load it over HTTP, connect, run."""
        self.query = query
        await self.visit()
        await self.connect()
        await self.run_and_wait(page)

    async def visit(self) -> None:
        """Load the page over HTTP first, as a browser does, keeping the cookies it sets (a
        proxy's sticky cookie)."""
        query = f"?{self.query}" if self.query else ""
        request = urllib.request.Request(f"http://localhost:{self.port}/{query}")
        with await asyncio.to_thread(urllib.request.urlopen, request, timeout=TIMEOUT_S) as reply:
            for header in reply.headers.get_all("Set-Cookie") or []:
                name, value = header.split(";", 1)[0].split("=", 1)
                self.cookies[name] = value

    async def fetch(self, path: str) -> bytes:
        """GET `path` (an image's URL, say) with this session's cookies."""
        return await asyncio.to_thread(fetch, f"http://localhost:{self.port}{path}", self.cookies)


def cookie_header(cookies: dict[str, str]) -> str:
    """The Cookie header a browser sends for `cookies` ("" for none)."""
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def fetch(url: str, cookies: dict[str, str] | None = None) -> bytes:
    headers = {"Cookie": cookie_header(cookies)} if cookies else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return response.read()


@contextmanager
def running_server(port: int):
    """A `streamlit run` of the app on localhost:`port`, stopped on leaving; yields the process."""
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")]
    command += ["--server.headless", "true", "--server.port", str(port)]
    command += ["--browser.gatherUsageStats", "false"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until_healthy(port)
        yield server
    finally:
        server.terminate()
        server.wait(30)


@contextmanager
def running_school(port: int, replicas: int):
    """`deploy/serve.py`: `replicas` servers behind nginx on localhost:`port`, stopped on
    leaving; yields (serve.py's process, the replicas' process ids)."""
    command = [sys.executable, str(ROOT / "deploy" / "serve.py"), "--replicas", str(replicas)]
    command += ["--port", str(port), "--host", "127.0.0.1"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    school = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = school.stdout.readline()
        if not line.startswith("MNIST GAN Studio"):
            raise SystemExit(f"deploy/serve.py did not start: {line!r}")
        pids = [int(pid) for pid in re.findall(r"r\d+ pid (\d+)", line)]
        yield school, pids
    finally:
        school.terminate()
        school.wait(60)


def wait_until_healthy(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            fetch(f"http://localhost:{port}/_stcore/health")
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not start within {seconds:g} s")
