"""Serve a school: N replicas of the app behind nginx with sticky sessions, on one machine.

    python deploy/serve.py --replicas 3 --port 8080 [--host 0.0.0.0]
    python deploy/serve.py --port 80 --print-config app1:8501 app2:8501 > nginx.conf

Starts N `streamlit run streamlit_app.py` replicas on local ports (port+1 ... port+N), all with
one shared cookie secret, waits until each answers /_stcore/health, then nginx on --port in
front of them (config: deploy/nginx.conf.template, written to the runtime folder). Prints the
URL, restarts a replica that dies, and stops everything on Ctrl-C or SIGTERM. Linux, with
nginx installed (Debian: `apt-get install nginx-light`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gan.classes import replica_prefix  # noqa: E402  (the join codes' first character)

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
HEALTH_TIMEOUT_S = 180.0


@dataclass
class Replica:
    """One `streamlit run` of the app on a local port."""

    name: str
    port: int
    process: subprocess.Popen | None = None


def render_config(listen: str, upstreams: dict[str, str], runtime: str) -> str:
    """nginx.conf (the template with its fields filled in) for `upstreams`: replica name ->
    address (host:port; a host name that resolves to several addresses gives several)."""
    fields = {
        "listen": listen,
        "runtime": runtime,
        "servers": "\n".join(
            f"        server {address} max_fails=1 fail_timeout=10s;"
            for address in upstreams.values()
        ),
        "replica_names": "\n".join(
            f"        {address} {name};" for name, address in upstreams.items()
        ),
        # A class's code names its replica (gan.classes): only where each replica has an
        # address of its own (compose's one name for all its replicas has none).
        "class_routes": "\n".join(
            f'        "~*^{replica_prefix(name)}[A-HJ-NP-Z2-9]{{4}}$" replica_{name};'
            for name in (upstreams if len(upstreams) > 1 else ())
        ),
        "replica_upstreams": "\n".join(
            f"    upstream replica_{name} {{ server {address}; }}"
            for name, address in (upstreams.items() if len(upstreams) > 1 else ())
        ),
    }
    text = TEMPLATE.read_text()
    for name, value in fields.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def replica_log(runtime: Path, name: str) -> Path:
    """Where replica `name` writes its output."""
    return runtime / f"{name}.log"


def start_replica(replica: Replica, secret: str, runtime: Path) -> None:
    """Start the replica's server process (its output goes to `replica_log`)."""
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")]
    command += [f"--server.port={replica.port}", "--server.address=127.0.0.1"]
    command += ["--server.headless=true", "--browser.gatherUsageStats=false"]
    log = open(replica_log(runtime, replica.name), "ab")  # noqa: SIM115 (the child keeps it)
    # One cookie secret for all: a browser moved to another replica keeps valid cookies.
    env = {**os.environ, "GAN_REPLICA": replica.name, "STREAMLIT_SERVER_COOKIE_SECRET": secret}
    replica.process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()


def healthy(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(name: str, host: str, port: int, process, stop: threading.Event) -> None:
    """Wait until a server answers its health check (Streamlit's, through nginx or not)."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while not healthy(host, port) and not stop.is_set():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start; see its log")
        stop.wait(0.3)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="app processes, 1..32")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port")
    parser.add_argument("--host", default="0.0.0.0", help="nginx's address (0.0.0.0: all)")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    parser.add_argument("--runtime", help="folder for nginx.conf and logs (default: a temp one)")
    parser.add_argument(
        "--print-config",
        metavar="ADDRESS",
        nargs="+",
        help="only print nginx.conf for replicas at these host:port addresses (other hosts, "
        "containers) listening on --port, and exit",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 32:
        parser.error("--replicas must be from 1 to 32")
    if not 1 <= args.port <= 65535 - args.replicas:
        parser.error("--port must leave room for the replicas' ports above it")
    if not args.print_config and not Path(args.nginx).is_file():
        parser.error(f"nginx not found at {args.nginx} (apt-get install nginx-light)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.print_config:
        upstreams = {f"r{i + 1}": address for i, address in enumerate(args.print_config)}
        print(render_config(str(args.port), upstreams, args.runtime or "/tmp"), end="")
        return 0
    runtime = Path(args.runtime or tempfile.mkdtemp(prefix="gan-serve-"))
    runtime.mkdir(parents=True, exist_ok=True)
    secret = os.environ.get("GAN_COOKIE_SECRET") or secrets.token_hex(32)
    replicas = [Replica(f"r{i + 1}", args.port + 1 + i) for i in range(args.replicas)]
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    nginx = None
    try:
        for replica in replicas:
            start_replica(replica, secret, runtime)
        for replica in replicas:
            wait_healthy(
                f"replica {replica.name}", "127.0.0.1", replica.port, replica.process, stop
            )
        config = runtime / "nginx.conf"
        upstreams = {r.name: f"127.0.0.1:{r.port}" for r in replicas}
        config.write_text(render_config(f"{args.host}:{args.port}", upstreams, str(runtime)))
        nginx_command = [args.nginx, "-c", str(config), "-p", str(runtime)]
        subprocess.run([*nginx_command, "-t", "-q"], check=True)
        nginx = subprocess.Popen([*nginx_command, "-g", "daemon off;"])
        shown = "localhost" if args.host == "0.0.0.0" else args.host
        wait_healthy(
            "nginx", "127.0.0.1" if shown == "localhost" else shown, args.port, nginx, stop
        )
        pids = ", ".join(f"{r.name} pid {r.process.pid} port {r.port}" for r in replicas)
        print(f"MNIST GAN Studio: http://{shown}:{args.port}  ({pids}; nginx pid {nginx.pid})")
        print(f"logs and nginx.conf: {runtime}", flush=True)
        supervise(replicas, nginx, secret, runtime, stop)
    finally:
        shut_down(replicas, nginx)
        if not args.runtime:
            shutil.rmtree(runtime, ignore_errors=True)
    return 0


def supervise(replicas, nginx, secret: str, runtime: Path, stop: threading.Event) -> None:
    """Until stopped: restart a replica that died (its students start a fresh session)."""
    while not stop.wait(1.0):
        if nginx.poll() is not None:
            raise SystemExit(f"nginx exited with code {nginx.returncode}; see {runtime}")
        for replica in replicas:
            if replica.process.poll() is not None:
                code = replica.process.returncode
                start_replica(replica, secret, runtime)
                print(
                    f"replica {replica.name} exited ({code}); restarted as pid "
                    f"{replica.process.pid} on port {replica.port}",
                    flush=True,
                )


def shut_down(replicas: list[Replica], nginx: subprocess.Popen | None) -> None:
    running = [r.process for r in replicas if r.process is not None]
    if nginx is not None:
        running.append(nginx)
    for process in running:
        if process.poll() is None:
            process.terminate()
    for process in running:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
