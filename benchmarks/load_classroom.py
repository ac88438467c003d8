"""A class on one server: 30 clients on a real `streamlit run`, some of them training.

Starts the app on localhost and connects `--clients` sessions through Streamlit's own
WebSocket protocol (what the browser sends: page runs, widget states, fragment timers).
`--trainers` of them press Train with a short time budget and keep their live view
running; the others open the latent explorer and move a random slider every 1-3 s. It
reports the explorer's image latency (slider change sent -> new image delta received ->
image file fetched) while trainings run, the server's RSS over time, and every error
(exceptions shown on a page, error messages, timeouts, dropped connections).

Targets (issue 7): p95 <= 100 ms, RSS <= 4 GiB, 0 errors.

With `--via-proxy --replicas 2`, the same class on one server first, then twice the class
(`--proxy-clients` 60, `--proxy-trainers` 8) through nginx in front of the replicas
(deploy/serve.py): each client loads the page first and keeps the sticky cookie it gets.

With `--class-run`, a class run instead (issue 33): a teacher starts one training from the
Classroom page, `--clients` students open its link and watch it live, and `--explorers` of
them also move explorer sliders in a second tab. A student's live view asks the class feed
(pages/common/class_feed.py) for the class's frame every second, as the page's own script
does; it reports a watcher's update latency (the frame's JSON asked -> received, and its new
grid image fetched), the server's CPU per watcher, and whether every watcher saw the class's
step advance. With `--via-proxy`, then `--proxy-clients` students join by the link through
nginx and 2 replicas.

    python benchmarks/load_classroom.py [--clients 30] [--trainers 4] [--seconds 60] [--baseline]
    python benchmarks/load_classroom.py --via-proxy --replicas 2
    python benchmarks/load_classroom.py --class-run [--via-proxy]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.streamlit_client import (  # noqa: E402
    TIMEOUT_S,
    Client,
    Tally,
    cookie_header,
    running_school,
    running_server,
)
from gan.machine import describe  # noqa: E402
from pages.common.class_feed import FEED_S, ROUTE  # noqa: E402


async def explorer(client: Client, until: float, measure_from: float) -> None:
    """Open the explorer, then move one random slider every 1-3 s and time the new image."""
    await client.open("explore")
    sliders = [(i, p) for i, p in client.widgets.values() if type(p).__name__ == "Slider"]
    while time.monotonic() < until:
        await asyncio.sleep(random.uniform(1.0, 3.0))
        widget_id, slider = random.choice(sliders)
        client.states[widget_id] = [round(random.uniform(slider.min, slider.max), 1)]
        started = time.monotonic()
        await client.run(fragment=client.fragment_of[widget_id])  # as a browser does
        try:
            await asyncio.wait_for(client.image.wait(), TIMEOUT_S)
            await client.fetch(client.image_url)
            if started >= measure_from:
                client.tally.latencies.append(time.monotonic() - started)
            await asyncio.wait_for(client.finished.wait(), TIMEOUT_S)
        except TimeoutError:
            client.tally.errors.append("explorer: no new image within 30 s")
    await client.close()


async def trainer(client: Client, until: float, seconds: int) -> None:
    """Open Train, press it with a short budget, keep the live view ticking like a browser."""
    await client.open("train")
    client.set_number("epochs", 1)  # on the full data: the time budget ends the run
    client.set_number("max_seconds", seconds)
    await client.click("Train")
    client.tally.trainings_started += 1
    while time.monotonic() < until:
        await client.tick()
        if any("Waiting for a free training slot" in text for text in client.texts):
            client.tally.queued_seen += 1
        if any("Run finished" in text for text in client.texts):
            client.tally.trainings_finished += 1
            break
        client.texts.clear()
    await client.close()


async def teacher(client: Client, until: float, epochs: int) -> None:
    """Start a class run from the Classroom page, then keep its page open (the teacher's
    presence keeps the class going). Sets `client.code` to its join code."""
    await client.open()
    client.set_number("class-epochs", epochs)
    await client.click("Start a class run")
    await client.run_and_wait()  # the page's own rerun into the class view
    client.code = parse_qs(client.query).get("class", [""])[0]
    while time.monotonic() < until:
        await client.tick()
    await client.close()


async def watcher(client: Client, code: str, until: float, measure_from: float) -> None:
    """Open the class link as a browser does (the page and its script run), then ask for the
    class's frame as the page's live view does: every FEED_S s after the last answer, on one
    kept-alive connection with the browser's cookies; time each update (the frame's JSON
    asked -> received, and its grid fetched when it is new)."""
    await client.open(query=f"class={code}")
    if not any(f"Class run {code}" in text for text in client.texts):
        client.tally.errors.append(f"watcher: the class did not show: {client.texts[-3:]}")
        return await client.close()
    feed = f"http://localhost:{client.port}{ROUTE}/{code}"
    headers = {"Cookie": cookie_header(client.cookies)}
    viewer, steps, grid = f"{random.getrandbits(48):x}", [], None
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                async with http.get(f"{feed}?class={code}&viewer={viewer}") as reply:
                    frame = json.loads(await reply.read())
                if frame.get("grid") and frame["grid"] != grid:
                    grid = frame["grid"]
                    async with http.get(f"{feed}/{grid}") as reply:
                        await reply.read()
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                client.tally.errors.append(f"watcher: {error!r}")
            else:
                if started >= measure_from:
                    client.tally.watching.append(time.monotonic() - started)
                steps += re.findall(r"step ([\d,]+) of", frame.get("status", ""))
            await asyncio.sleep(FEED_S)
    client.tally.advanced += len(set(steps)) > 1
    await client.close()


async def class_run(args: argparse.Namespace, root: int, servers: list[int]) -> tuple[Tally, list]:
    """A class run against the server(s): a teacher, `args.clients` watchers, `args.explorers`
    of them in the explorer too."""
    tally, memory, stop = Tally(), [], asyncio.Event()
    memory_task = asyncio.create_task(watch_memory(root, memory, stop))
    for _ in range(len(servers)):  # first visitors pay for TensorFlow
        warm = Client(args.port, tally)
        await warm.open("explore")
        await warm.close()
    start = time.monotonic()
    until = start + args.warmup + args.seconds
    lead = Client(args.port, tally)
    lead.code = ""
    teaching = asyncio.create_task(teacher(lead, until + 5, args.class_epochs))
    while not lead.code and not teaching.done():
        await asyncio.sleep(0.2)
    if not lead.code:
        raise SystemExit(f"the teacher could not start a class run: {teaching!r}")
    print(f"class {lead.code} started on {lead.replica or 'the server'}", flush=True)
    tasks = [watcher(Client(args.port, tally), lead.code, until, start + args.warmup)
             for _ in range(args.clients)]  # fmt: skip
    tasks += [explorer(Client(args.port, tally), until, start + args.warmup)
              for _ in range(args.explorers)]  # fmt: skip
    await measured([*tasks, teaching], servers, args, tally)
    stop.set()
    await memory_task
    return tally, memory


def class_report(args: argparse.Namespace, tally: Tally, memory: list) -> None:
    print(f"machine: {describe()}")
    where = f"nginx + {args.replicas} replicas" if args.replicas else "one server"
    print(
        f"a class run on {where}: {args.clients} students watching (joined by the link), "
        f"{args.explorers} of them also exploring, for {args.seconds} s after a "
        f"{args.warmup} s ramp"
    )
    for name, values in (("watcher update", tally.watching), ("explorer image", tally.latencies)):
        if values:
            print(latency_line(name, values))
    print(
        f"server processes' CPU in the window: {tally.server_cpu_s:.1f} s "
        f"({tally.server_cpu_s / args.seconds:.0%} of one core), "
        f"{1000 * tally.server_cpu_s / args.seconds / args.clients:.1f} ms per watcher per s"
    )
    print(f"watchers who saw the class's step advance: {tally.advanced} of {args.clients}")
    print(f"peak RSS of the server(s) and trainings: {max(r for _, r in memory):,.0f} MiB")
    print_errors(tally)


def latency_line(name: str, seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    p50, p95 = np.percentile(ms, [50, 95])
    return (
        f"{name} latency: {len(ms)} updates, p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"max {ms.max():.0f} ms (target p95 <= 100 ms)"
    )


def print_errors(tally: Tally) -> None:
    print(f"error messages shown: {len(tally.messages)}", *sorted(set(tally.messages))[:5])
    print(f"errors: {len(tally.errors)}")
    for error in sorted(set(tally.errors))[:10]:
        print(f"  {error}")


def rss_mib(pid: int) -> float:
    """RSS of `pid` and all its descendants (the training processes and their spare)."""
    total = 0.0
    for process in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{process}/status") as status:
                line = next(line for line in status if line.startswith("VmRSS"))
            total += int(line.split()[1]) / 1024
        except (OSError, StopIteration):  # it exited meanwhile
            continue
    return total


def stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc/PID/stat file after the command name (which may hold spaces):
    [0] state, [1] parent pid, ..., [11] user CPU ticks, [12] system CPU ticks."""
    return stat.read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """Children, grandchildren, ... of `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat_fields(stat)[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


async def watch_memory(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    started = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - started, rss_mib(pid)))
        await asyncio.sleep(1.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = stat_fields(Path(f"/proc/{pid}/stat"))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def server_cpu_in_window(pids: list[int], warmup: float, seconds: float) -> float:
    """CPU seconds the server processes themselves (not their trainings) used in the window."""
    await asyncio.sleep(warmup)
    before = sum(map(cpu_seconds, pids))
    await asyncio.sleep(seconds)
    return sum(map(cpu_seconds, pids)) - before


async def classroom(args: argparse.Namespace, root: int, servers: list[int]) -> tuple[Tally, list]:
    """The class against the server(s): `root` is the process whose tree's memory counts,
    `servers` the app processes whose CPU counts."""
    tally, memory, stop = Tally(), [], asyncio.Event()
    watcher = asyncio.create_task(watch_memory(root, memory, stop))
    for _ in range(0 if args.cold else len(servers)):  # first visitors pay for TensorFlow
        warm = Client(args.port, tally)
        await warm.open("explore")
        await warm.close()
    start = time.monotonic()
    until = start + args.warmup + args.seconds
    tasks = [
        trainer(Client(args.port, tally), until, args.train_seconds)
        if i < args.trainers
        else explorer(Client(args.port, tally), until, start + args.warmup)
        for i in range(args.clients)
    ]
    await measured(tasks, servers, args, tally)
    stop.set()
    await watcher
    return tally, memory


async def measured(tasks: list, servers: list[int], args: argparse.Namespace, tally: Tally) -> None:
    """Run the clients' tasks, measuring the servers' CPU in the window; note failures."""
    cpu = asyncio.create_task(server_cpu_in_window(servers, args.warmup, args.seconds))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    tally.server_cpu_s = await cpu
    tally.errors += [f"client failed: {r!r}" for r in results if isinstance(r, BaseException)]


def report(args: argparse.Namespace, tally: Tally, memory: list) -> None:
    print(f"machine: {describe()}")
    where = f"nginx + {args.replicas} replicas" if args.replicas else "one server"
    print(
        f"{args.clients} clients on {where} ({args.trainers} training {args.train_seconds} s "
        f"each, {args.clients - args.trainers} exploring) for {args.seconds} s after a "
        f"{args.warmup} s ramp; "
        f"GAN_MAX_TRAININGS={os.environ.get('GAN_MAX_TRAININGS', 'default')} per server"
    )
    if tally.latencies:
        print(latency_line("explorer image", tally.latencies))
        print(
            f"server processes' CPU in the window: {tally.server_cpu_s:.1f} s "
            f"({tally.server_cpu_s / args.seconds:.0%} of one core), "
            f"{1000 * tally.server_cpu_s / len(tally.latencies):.1f} ms per explorer update "
            "(all its work, live views included)"
        )
    peak = max(rss for _, rss in memory)
    print(
        f"RSS of the server(s), nginx and the training processes: peak {peak:,.0f} MiB "
        "(target <= 4,096 MiB); over time:"
    )
    for seconds, rss in memory[:: max(1, len(memory) // 12)]:
        print(f"  {seconds:5.0f} s  {rss:7,.0f} MiB")
    print(
        f"trainings: {tally.trainings_started} started, {tally.trainings_finished} finished "
        f"within the window; queue notices seen {tally.queued_seen} times"
    )
    print_errors(tally)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=60, help="measured window")
    parser.add_argument("--warmup", type=int, default=15, help="ramp before measuring")
    parser.add_argument("--train-seconds", type=int, default=20, help="each training's budget")
    parser.add_argument("--cold", action="store_true", help="everyone arrives at once")
    parser.add_argument("--port", type=int, default=8597)
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="first the same class with nobody training, on a fresh server: on a shared, "
        "noisy machine the ratio of the two runs means more than either number",
    )
    parser.add_argument("--via-proxy", action="store_true", help="then twice the class via nginx")
    parser.add_argument("--replicas", type=int, default=2, help="with --via-proxy")
    parser.add_argument("--proxy-clients", type=int, default=60)
    parser.add_argument("--proxy-trainers", type=int, default=8)
    parser.add_argument("--class-run", action="store_true", help="a class run instead")
    parser.add_argument("--explorers", type=int, default=10, help="with --class-run")
    parser.add_argument("--class-epochs", type=int, default=20, help="with --class-run")
    args = parser.parse_args()
    if args.class_run:
        return class_mode(args)
    for clients, trainers in (
        (args.clients, args.trainers),
        (args.proxy_clients, args.proxy_trainers),
    ):
        if not 1 <= clients <= 120 or not 0 <= trainers <= clients:
            parser.error("need 1 <= clients <= 120 and 0 <= trainers <= clients")
    one = {**vars(args), "replicas": 0}
    runs = [argparse.Namespace(**{**one, "trainers": 0})] if args.baseline else []
    runs.append(argparse.Namespace(**one))
    if args.via_proxy:
        runs.append(
            argparse.Namespace(
                **{**vars(args), "clients": args.proxy_clients, "trainers": args.proxy_trainers}
            )
        )
    p95s = []
    for run in runs:
        p95s.append(measure(run))
        print()
    print("p95 of each run: " + ", ".join(f"{p:.0f} ms" for p in p95s))


def class_mode(args: argparse.Namespace) -> None:
    """A class run on one server; with --via-proxy, then twice the class through nginx."""
    runs = [argparse.Namespace(**{**vars(args), "replicas": 0})]
    if args.via_proxy:
        runs.append(argparse.Namespace(**{**vars(args), "clients": args.proxy_clients}))
    for run in runs:
        tally, memory = against_servers(run, class_run)
        class_report(run, tally, memory)
        print()


def measure(run: argparse.Namespace) -> float:
    """One class against one server (or nginx and replicas); prints the report, returns p95."""
    tally, memory = against_servers(run, classroom)
    report(run, tally, memory)
    return np.percentile(tally.latencies, 95) * 1000 if tally.latencies else float("nan")


def against_servers(run: argparse.Namespace, clients) -> tuple[Tally, list]:
    """`clients(run, root pid, server pids)` against a fresh server, or nginx and replicas."""
    if run.replicas:
        with running_school(run.port, run.replicas) as (school, replicas):
            return asyncio.run(clients(run, school.pid, replicas))
    with running_server(run.port) as server:
        return asyncio.run(clients(run, server.pid, [server.pid]))


if __name__ == "__main__":
    main()
