"""Class runs: one training a whole class watches, driven by the teacher who started it.

No Streamlit here, and no import of gan.runs (a run is duck-typed: a `gan.runs.BackgroundRun`
or anything with its `version`, `control`, `active`, `snapshot`, `touch` and `stop`). A
`ClassRun` is a run under a short join code, with a secret teacher token that every command
must carry, a count of the students watching, and its live view computed once per frame for
everyone (`frame`). `Classes` holds a server's class runs.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Join codes: no 0/O or 1/I to misread from a projector. Behind deploy/serve.py the first
# character names the replica that holds the class (GAN_REPLICA rN -> the N-th character),
# so that nginx sends a class's students there (deploy/nginx.conf.template).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 5
FRAME_S = 1.0  # a class's live view is recomputed at most this often while it trains
COPY_S = 5.0  # students who take a copy within this long of each other share one file
WATCHING_S = 15.0  # a student whose view has not asked for a frame this long has left
KEEP_ENDED = 20  # ended class runs a server keeps showing (then "no class run with code")
MOST_WATCHERS = 1000  # more remembered viewers than this: forget those who left (forged ids)


class NotTheTeacherError(PermissionError):
    """A command from a browser without the class's teacher token."""

    def __init__(self) -> None:
        super().__init__("Only the teacher who started this class run can control it.")


def replica_prefix(replica: str | None = None) -> str:
    """The first character of this server's join codes: its replica's (`GAN_REPLICA` rN, set
    by deploy/serve.py), or any character on a server of its own."""
    replica = os.environ.get("GAN_REPLICA", "") if replica is None else replica
    if replica[:1] == "r" and replica[1:].isdigit() and 1 <= int(replica[1:]) <= 32:
        return CODE_ALPHABET[int(replica[1:]) - 1]
    return secrets.choice(CODE_ALPHABET)


def normal_code(text: str) -> str | None:
    """A typed or linked code in its canonical form (upper case, no spaces), or None if it
    cannot be a join code."""
    code = "".join(text.split()).upper()
    ok = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
    return code if ok else None


class ClassRun:
    """A class's training: its code, its teacher, its watchers and its shared live view."""

    def __init__(self, code: str, run: Any) -> None:
        self.code, self.run = code, run
        self.teacher_token = secrets.token_urlsafe(16)
        self.started = time.time()
        self._lock = threading.Lock()
        self._watchers: dict[str, float] = {}
        self._frames: dict[Callable, tuple[Any, float, Any]] = {}  # render -> (key, made, value)
        self._rendering: set[Callable] = set()  # frames being made on threads of their own
        self._copy_lock = threading.Lock()
        self._copy: tuple[int, float, Path] | None = None  # (run version, made at, file)

    def is_teacher(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token, self.teacher_token)

    def control(self, token: str | None) -> Any:
        """The run, to command (pause, step, ...); NotTheTeacherError without the token."""
        if not self.is_teacher(token):
            raise NotTheTeacherError
        self.run.touch()  # the teacher is here: the class run goes on
        return self.run

    def replace(self, token: str | None, run: Any) -> None:
        """The teacher restarts the class with other settings: same code, same link."""
        self.control(token).stop()
        with self._lock:
            self.run, self._frames, self._copy = run, {}, None

    def watch(self, viewer: str) -> None:
        """Note that `viewer` (a student's live view) is looking at the class now."""
        with self._lock:
            self._watchers[viewer] = time.monotonic()
            if len(self._watchers) > MOST_WATCHERS:
                self._forget_who_left()

    @property
    def watching(self) -> int:
        """How many students looked in the last WATCHING_S seconds."""
        with self._lock:
            self._forget_who_left()
            return len(self._watchers)

    def _forget_who_left(self) -> None:
        now = time.monotonic()
        self._watchers = {v: t for v, t in self._watchers.items() if now - t < WATCHING_S}

    def frame(
        self, render: Callable[[Any], Any], wait: bool = False, every: float = FRAME_S
    ) -> Any:
        """`render(snapshot)`, computed once for every watcher (one frame per `render`
        function): again when the run's status changed or it was stepped, or when it has
        trained on and the last frame is `every` seconds old. The new frame is made on a
        thread of its own while watchers get the last one at once; `wait` (the teacher, who
        just pressed Step) waits for it."""
        with self._lock:
            run = self.run
            key = (run.version, run.control.paused, run.control.stopped, run.active)
            if render in self._frames:
                made_for, made, value = self._frames[render]
                running = not key[1]  # while paused, every Step shows at once
                moved_only = made_for[1:] == key[1:] and running
                if made_for == key or (moved_only and time.monotonic() - made < every):
                    return value
                if not wait:
                    if render not in self._rendering:
                        self._rendering.add(render)
                        threading.Thread(
                            target=self._render, args=(render, run, key), daemon=True
                        ).start()
                    return value
        return self._render(render, run, key)  # the first frame, or one waited for

    def _render(self, render: Callable[[Any], Any], run: Any, key: tuple) -> Any:
        try:
            value = render(run.snapshot())
            with self._lock:
                if self.run is run:
                    self._frames[render] = (key, time.monotonic(), value)
            return value
        finally:
            with self._lock:
                self._rendering.discard(render)

    def copy(self, save: Callable[[Any], Path]) -> Path:
        """The class generator as it is now, for a student's explorer: saved by `save(run)`
        once for every student who asks within COPY_S seconds (or before the run moves)."""
        with self._copy_lock:
            run, now = self.run, time.monotonic()
            if self._copy is not None:
                version, made, path = self._copy
                if version == run.version or now - made < COPY_S:
                    return path
            path = save(run)
            self._copy = (run.version, now, path)
            return path


class Classes:
    """The class runs on this server, by code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classes: dict[str, ClassRun] = {}

    def open(self, run: Any, prefix: str | None = None) -> ClassRun:
        """A new class around a started run, under a fresh code (the oldest ended classes
        beyond KEEP_ENDED are forgotten: their folders stay)."""
        with self._lock:
            ended = sorted(
                (c for c in self._classes.values() if not c.run.active), key=lambda c: c.started
            )
            for old in ended[: max(0, len(ended) - KEEP_ENDED + 1)]:
                del self._classes[old.code]
            while True:
                code = (prefix or replica_prefix()) + "".join(
                    secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH - 1)
                )
                if code not in self._classes:
                    break
            self._classes[code] = ClassRun(code, run)
            return self._classes[code]

    def find(self, code: str | None) -> ClassRun | None:
        """The class with this code (as typed or linked), or None."""
        code = normal_code(code or "")
        with self._lock:
            return self._classes.get(code) if code else None
