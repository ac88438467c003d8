"""One line naming the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    """CPU model, cores, OS, Python and TensorFlow versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    import tensorflow as tf

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}"
    )
