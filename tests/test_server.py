"""Server-wide settings: where trainings run, at what priority, on which backend."""

import sys

import pytest

from gan.config import ConfigError
from gan.runs import in_this_process
from pages.common.server import training_priority, training_runner


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 10), ("0", 0), ("19", 19), (" 5 ", 5), ("off", None)]
)
def test_training_priority_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("GAN_TRAIN_NICE", raising=False)
    else:
        monkeypatch.setenv("GAN_TRAIN_NICE", value)
    assert training_priority() == expected


@pytest.mark.parametrize("value", ["-1", "20", "low", "1.5"])
def test_a_bad_training_priority_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("GAN_TRAIN_NICE", value)
    with pytest.raises(ConfigError, match="GAN_TRAIN_NICE must be a whole number from 0 to 19"):
        training_priority()


def test_the_local_backend_trains_in_a_niced_child_or_in_this_process(monkeypatch):
    monkeypatch.delenv("GAN_TRAIN_BACKEND", raising=False)
    monkeypatch.setenv("GAN_TRAIN_NICE", "12")
    assert training_runner().keywords == {"nice": 12}  # gan.child.run_in_child at nice 12
    monkeypatch.setenv("GAN_TRAIN_NICE", "off")
    assert training_runner() is in_this_process


def test_the_ray_backend_without_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("GAN_TRAIN_BACKEND", "ray")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError, match="pip install -r requirements-ray.txt"):
        training_runner()


def test_an_unknown_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GAN_TRAIN_BACKEND", "kubernetes")
    with pytest.raises(ConfigError, match="GAN_TRAIN_BACKEND must be local or ray"):
        training_runner()


# The app leans on three of Streamlit's internals. tests/test_pages.py::
# test_reruns_leave_keras_state_alone fails if the patch of script_runner._clean_problem_modules
# stops working; the test below fails when the other two change.


def test_the_internals_the_app_patches_or_asks_are_still_there():
    """app_navigation sets PagesManager.uses_pages_directory, which Streamlit must still read;
    a run's idle watch asks Runtime.is_active_session(session_id)."""
    import inspect

    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    assert "PagesManager.uses_pages_directory" in inspect.getsource(script_runner)
    assert hasattr(PagesManager, "uses_pages_directory")
    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]
