"""A school on one machine: `deploy/serve.py` with 2 replicas behind a real nginx, on
loopback. Fresh visitors are spread over both replicas; each browser's page, WebSocket,
/media images and uploads stay on its replica; a dead replica leaves the others' students
working."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from benchmarks.streamlit_client import Client, Tally

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists() or sys.platform != "linux",
    reason="needs nginx on Linux (apt-get install nginx-light)",
)


@dataclass
class School:
    port: int
    replicas: dict[str, int]  # name -> pid
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_ports(count: int) -> int:
    """A port p such that p .. p + count - 1 are free on loopback (checked, not reserved)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count < 65535 and all(port_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("no free ports")


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    port = free_ports(3)
    runtime = tmp_path_factory.mktemp("serve")
    command = [sys.executable, "deploy/serve.py", "--replicas", "2", "--port", str(port)]
    command += ["--host", "127.0.0.1", "--runtime", str(runtime)]
    env = {**os.environ, "GAN_TRAIN_NICE": "off"}  # no spare training process per replica
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("MNIST GAN Studio: http://127.0.0.1:"), line
        replicas = {name: int(pid) for name, pid in re.findall(r"(r\d) pid (\d+)", line)}
        assert sorted(replicas) == ["r1", "r2"]
        yield School(port, replicas, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert process.returncode == 0
    for pid in replicas.values():  # every replica went with it
        assert not Path(f"/proc/{pid}").exists() or zombie(pid)


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def visit(school: School, path: str = "/", session: requests.Session | None = None):
    """GET a page as a browser would; returns (the browser's session, the replica)."""
    session = session or requests.Session()
    reply = session.get(school.url + path, timeout=30)
    assert reply.status_code == 200
    return session, reply.headers["X-Replica"]


def test_fresh_visitors_are_spread_over_both_replicas_and_stay_on_theirs(school):
    seen = []
    for _ in range(20):
        browser, replica = visit(school)
        assert browser.cookies.get("gan_sticky")  # set on the first visit
        for path in ("/explore", "/_stcore/health", "/train"):
            assert visit(school, path, browser)[1] == replica
        seen.append(replica)
    assert set(seen) == {"r1", "r2"}, seen


def one_browser_per_replica(school: School) -> dict[str, requests.Session]:
    browsers = {}
    while len(browsers) < 2:
        browser, replica = visit(school)
        browsers.setdefault(replica, browser)
    return browsers


async def open_page(school: School, browser: requests.Session, page: str) -> Client:
    client = Client(school.port, Tally(), browser.cookies.get_dict())
    await client.connect()
    await client.run_and_wait(page)
    return client


def test_a_session_its_websocket_media_and_upload_stay_on_its_replica(school, tmp_path):
    async def check(replica: str, browser: requests.Session) -> None:
        client = await open_page(school, browser, "explore")
        assert client.replica == replica and client.session_id
        assert not client.tally.errors, client.tally.errors
        await asyncio.wait_for(client.image.wait(), 120)
        image = browser.get(school.url + client.image_url, timeout=30)
        assert image.status_code == 200 and image.headers["X-Replica"] == replica
        assert image.headers["Content-Type"].startswith("image/")
        xsrf = browser.get(school.url + "/_stcore/health").cookies.get("_streamlit_xsrf")
        xsrf = xsrf or browser.cookies.get("_streamlit_xsrf")
        upload = browser.put(
            f"{school.url}/_stcore/upload_file/{client.session_id}/file-1",
            files={"file": ("generator.keras", b"not really a model", "application/zip")},
            headers={"X-Xsrftoken": xsrf},
            timeout=30,
        )
        assert upload.status_code in (200, 204), upload.text
        assert upload.headers["X-Replica"] == replica
        await client.close()

    async def both() -> None:
        for replica, browser in one_browser_per_replica(school).items():
            await check(replica, browser)

    asyncio.run(both())


def test_killing_a_replica_leaves_the_other_replicas_students_working(school):
    browsers = one_browser_per_replica(school)

    async def scenario() -> None:
        clients = {r: await open_page(school, b, "interpolate") for r, b in browsers.items()}
        os.kill(school.replicas["r1"], signal.SIGKILL)
        survivor = clients["r2"]
        for _ in range(3):  # the r2 student goes on working in the same session
            survivor.image.clear()
            await survivor.run_and_wait()
            assert survivor.session_id and not survivor.tally.errors, survivor.tally.errors
        image = browsers["r2"].get(school.url + survivor.image_url, timeout=30)
        assert image.status_code == 200 and image.headers["X-Replica"] == "r2"
        # The r1 student lost the session; reloading the page gives a fresh one somewhere.
        assert browsers["r1"].get(school.url + "/interpolate", timeout=60).status_code == 200
        for client in clients.values():
            await client.close()

    asyncio.run(scenario())


def test_the_compose_nginx_config_is_the_template_rendered_and_nginx_accepts_it(tmp_path):
    from deploy.serve import render_config

    committed = (ROOT / "deploy" / "nginx.compose.conf").read_text()
    assert committed == render_config("80", {"r1": "app:8501"}, "/tmp")
    # nginx -t resolves upstream names: "app" exists only inside compose, so check a copy
    # that names this machine instead; everything else is as committed.
    local = committed.replace("app:8501", "127.0.0.1:8501").replace("/tmp", str(tmp_path))
    (tmp_path / "nginx.conf").write_text(local.replace("listen 80;", "listen 127.0.0.1:9;"))
    check = [NGINX, "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)]
    result = subprocess.run(check, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_container_files_build_the_app_as_far_as_this_machine_can_tell():
    """No container engine runs here: check what the Dockerfile copies and how compose wires
    the replicas and the proxy (a real `docker compose up` is not run)."""
    yaml = pytest.importorskip("yaml")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    assert copied == {
        "requirements.txt",
        "streamlit_app.py",
        ".streamlit",
        "gan",
        "pages",
        "models",
    }
    assert all((ROOT / source).exists() for source in copied)
    assert '"streamlit_app.py"' in dockerfile and "/_stcore/health" in dockerfile
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, proxy = compose["services"]["app"], compose["services"]["proxy"]
    assert (ROOT / "deploy" / app["build"]["context"] / app["build"]["dockerfile"]).is_file()
    assert app["deploy"]["replicas"] >= 2
    assert "STREAMLIT_SERVER_COOKIE_SECRET" in app["environment"]  # one secret for all
    config = proxy["volumes"][0].split(":")[0]
    assert (ROOT / "deploy" / config).is_file()
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
