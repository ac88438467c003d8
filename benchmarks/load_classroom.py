"""A class on one server: 30 clients on a real `streamlit run`, some of them training.

Starts the app on localhost and connects `--clients` sessions through Streamlit's own
WebSocket protocol (what the browser sends: page runs, widget states, fragment timers).
`--trainers` of them press Train with a short time budget and keep their live view
running; the others open the latent explorer and move a random slider every 1-3 s. It
reports the explorer's image latency (slider change sent -> new image delta received ->
image file fetched) while trainings run, the server's RSS over time, and every error
(exceptions shown on a page, error messages, timeouts, dropped connections).

Targets (issue 7): p95 <= 100 ms, RSS <= 4 GiB, 0 errors.

    python benchmarks/load_classroom.py [--clients 30] [--trainers 4] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402

TIMEOUT_S = 30.0  # a page run or image that takes longer counts as an error
TRAIN_SETTINGS = {"epochs": 1, "max_seconds": 20}  # short trainings on the full data


@dataclass
class Tally:
    """What all clients saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, explorer image updates
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # st.error texts (user-facing)
    trainings_started: int = 0
    trainings_finished: int = 0
    queued_seen: int = 0


class Client:
    """One browser session, spoken to in Streamlit's protocol."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port, self.tally = port, tally
        self.widgets: dict[str, tuple[str, object]] = {}  # key -> (widget id, proto)
        self.states: dict[str, object] = {}  # widget id -> value sent with every run
        self.page_hash = ""
        self.finished = asyncio.Event()
        self.image = asyncio.Event()
        self.image_url = ""
        self.texts: list[str] = []
        self.fragment: tuple[str, float] | None = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(
            f"ws://localhost:{self.port}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
        )
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
        if kind == "navigation":  # names the page this session is on
            self.page_hash = message.navigation.page_script_hash
        elif kind == "script_finished":
            self.finished.set()
        elif kind == "auto_rerun":
            self.fragment = (message.auto_rerun.fragment_id, message.auto_rerun.interval)
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._element(message.delta.new_element)

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        widget_id = getattr(proto, "id", "")
        if widget_id.startswith("$$ID-"):  # "$$ID-<hash>-<key>"; the key "None" if unkeyed
            key = widget_id.split("-", 2)[2]
            self.widgets[proto.label if key == "None" else key] = (widget_id, proto)
        if kind == "imgs" and proto.imgs:
            self.image_url = proto.imgs[0].url
            self.image.set()
        elif kind == "exception":
            self.tally.errors.append(f"exception on the page: {proto.type}: {proto.message}")
        elif kind == "alert":
            self.texts.append(proto.body)
            if proto.format == proto.ERROR:
                self.tally.messages.append(proto.body)
        elif kind == "markdown":
            self.texts.append(proto.body)

    async def run(self, page: str = "", fragment: str = "") -> None:
        """Send one page run (or fragment run) with the current widget states."""
        back = BackMsg()
        state = back.rerun_script
        state.page_name = page
        state.page_script_hash = "" if page else self.page_hash
        state.fragment_id = fragment
        state.is_auto_rerun = bool(fragment)
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

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def explorer(client: Client, until: float, measure_from: float) -> None:
    """Open the explorer, then move one random slider every 1-3 s and time the new image."""
    await client.connect()
    await client.run_and_wait("explore")
    sliders = [(i, p) for i, p in client.widgets.values() if type(p).__name__ == "Slider"]
    while time.monotonic() < until:
        await asyncio.sleep(random.uniform(1.0, 3.0))
        widget_id, slider = random.choice(sliders)
        client.states[widget_id] = [round(random.uniform(slider.min, slider.max), 1)]
        started = time.monotonic()
        await client.run()
        try:
            await asyncio.wait_for(client.image.wait(), TIMEOUT_S)
            await asyncio.to_thread(fetch, f"http://localhost:{client.port}{client.image_url}")
            if started >= measure_from:
                client.tally.latencies.append(time.monotonic() - started)
            await asyncio.wait_for(client.finished.wait(), TIMEOUT_S)
        except TimeoutError:
            client.tally.errors.append("explorer: no new image within 30 s")
    await client.close()


async def trainer(client: Client, until: float) -> None:
    """Open Train, press it with a short budget, keep the live view ticking like a browser."""
    await client.connect()
    await client.run_and_wait("train")
    for key, value in TRAIN_SETTINGS.items():
        widget_id, proto = client.widgets[key]
        is_int = proto.data_type == NumberInput.INT
        client.states[widget_id] = int(value) if is_int else float(value)
    train_button = client.widgets["Train"][0]
    client.states[train_button] = True
    await client.run_and_wait()
    del client.states[train_button]
    client.tally.trainings_started += 1
    while time.monotonic() < until:
        if client.fragment:
            fragment_id, interval = client.fragment
            await client.run(fragment=fragment_id)
            await asyncio.sleep(interval)
        else:
            await asyncio.sleep(1.0)
        if any("Waiting for a free training slot" in text for text in client.texts):
            client.tally.queued_seen += 1
        if any("Run finished" in text for text in client.texts):
            client.tally.trainings_finished += 1
            break
        client.texts.clear()
    await client.close()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        return response.read()


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


async def watch_memory(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    started = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - started, rss_mib(pid)))
        await asyncio.sleep(1.0)


def start_server(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")]
    command += ["--server.headless", "true", "--server.port", str(port)]
    command += ["--browser.gatherUsageStats", "false"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            fetch(f"http://localhost:{port}/_stcore/health")
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


async def classroom(args: argparse.Namespace, server: subprocess.Popen) -> tuple[Tally, list]:
    tally, memory, stop = Tally(), [], asyncio.Event()
    watcher = asyncio.create_task(watch_memory(server.pid, memory, stop))
    warm = Client(args.port, tally)  # the first visitor pays for TensorFlow and the model
    await warm.connect()
    await warm.run_and_wait("explore")
    await warm.close()
    start = time.monotonic()
    until = start + args.warmup + args.seconds
    tasks = [
        trainer(Client(args.port, tally), until)
        if i < args.trainers
        else explorer(Client(args.port, tally), until, start + args.warmup)
        for i in range(args.clients)
    ]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    tally.errors += [f"client failed: {r!r}" for r in results if isinstance(r, BaseException)]
    stop.set()
    await watcher
    return tally, memory


def report(args: argparse.Namespace, tally: Tally, memory: list) -> None:
    print(f"machine: {describe()}")
    print(
        f"{args.clients} clients ({args.trainers} training, {args.clients - args.trainers} "
        f"exploring) for {args.seconds} s after a {args.warmup} s ramp; "
        f"GAN_MAX_TRAININGS={os.environ.get('GAN_MAX_TRAININGS', 'default')}"
    )
    if tally.latencies:
        ms = np.asarray(tally.latencies) * 1000
        p50, p95 = np.percentile(ms, [50, 95])
        print(
            f"explorer image latency: {len(ms)} updates, p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
            f"max {ms.max():.0f} ms (target p95 <= 100 ms)"
        )
    peak = max(rss for _, rss in memory)
    print(f"server RSS: peak {peak:,.0f} MiB (target <= 4,096 MiB); over time:")
    for seconds, rss in memory[:: max(1, len(memory) // 12)]:
        print(f"  {seconds:5.0f} s  {rss:7,.0f} MiB")
    print(
        f"trainings: {tally.trainings_started} started, {tally.trainings_finished} finished "
        f"within the window; queue notices seen {tally.queued_seen} times"
    )
    print(f"error messages shown: {len(tally.messages)}", *sorted(set(tally.messages))[:5])
    print(f"errors: {len(tally.errors)}")
    for error in sorted(set(tally.errors))[:10]:
        print(f"  {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=60, help="measured window")
    parser.add_argument("--warmup", type=int, default=15, help="ramp before measuring")
    parser.add_argument("--port", type=int, default=8597)
    args = parser.parse_args()
    if not 1 <= args.clients <= 60 or not 0 <= args.trainers <= args.clients:
        parser.error("need 1 <= clients <= 60 and 0 <= trainers <= clients")
    server = start_server(args.port)
    try:
        tally, memory = asyncio.run(classroom(args, server))
    finally:
        server.terminate()
        server.wait(30)
    report(args, tally, memory)


if __name__ == "__main__":
    main()
