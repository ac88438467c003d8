import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import wait_until
from PIL import Image

from gan.cli import main
from gan.io import load_generator
from gan.presets import PRESETS, STAGES
from gan.runfolder import GENERATOR, verify

TINY = ["--batch-size", "32", "--latent-dim", "8", "--train-size", "128", "--checkpoint-floor", "0"]


def run_cli(*args):
    return main([str(a) for a in args])


def test_presets_lists_one_line_each(capsys):
    assert run_cli("presets") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(PRESETS) and lines[0].startswith("quick-digits ")
    assert lines[0].endswith("(default)")
    assert [line.split()[0] for line in lines] == list(PRESETS)


@pytest.mark.system  # whole trainings through the CLI
def test_train_writes_a_run_folder_and_prints_epoch_lines(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "--preset", "fast", "--epochs", 2, *TINY, "--out", out) == 0
    captured = capsys.readouterr()
    assert "Epoch 1, Gen Loss: " in captured.out and "Epoch 2, Gen Loss: " in captured.out
    assert "finished" in captured.out
    assert {p.name for p in out.iterdir()} >= {
        "generator.keras",
        "discriminator.keras",
        "run.json",
        "samples",
    }
    # A second train into the same folder must not overwrite it...
    assert run_cli("train", "--epochs", 1, *TINY, "--out", out) == 2
    assert "already holds a run" in capsys.readouterr().err
    # ...but --resume continues it, with a new learning rate if asked (annealing), and an
    # XLA-compiled step if asked.
    assert run_cli("train", "--resume", "--epochs", 3, "--lr-g", 1e-4, "--xla", "--out", out) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["checkpoint"]["epoch"] == 3 and record["config"]["lr_g"] == 1e-4
    assert record["config"]["xla"] is True


@pytest.mark.system  # whole trainings through the CLI
def test_max_seconds_ends_normally_and_saves(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "--epochs", 10_000, *TINY, "--max-seconds", 8, "--out", out) == 0
    assert "time budget of 8 s reached" in capsys.readouterr().out
    assert (out / "generator.keras").is_file()


@pytest.mark.system  # whole trainings through the CLI
def test_init_from_starts_a_new_run_from_another_runs_networks(tmp_path, capsys):
    first = tmp_path / "first"
    assert run_cli("train", "--preset", "fast", "--epochs", 1, *TINY, "--out", first) == 0
    second = tmp_path / "second"
    args = ["--preset", "fast", "--max-steps", 1, "--out", second, "--init-from", first]
    assert run_cli("train", "--epochs", 1, *TINY, *args) == 0
    record = json.loads((second / "run.json").read_text())
    assert record["config"]["init_from"] == str(first)
    # the wrong shapes (another latent dimension) are a clear error, writing nothing
    wrong = tmp_path / "wrong"
    wrong_shape = [*TINY, "--latent-dim", 12, "--init-from", first, "--out", wrong]
    assert run_cli("train", "--preset", "fast", *wrong_shape) == 2
    assert "does not fit this preset's generator" in capsys.readouterr().err
    assert not wrong.exists()


@pytest.mark.system  # whole trainings through the CLI
def test_recode_turns_a_conditional_generator_into_a_coded_one_to_fine_tune(
    conditional_generator, trained_run, tmp_path, capsys
):
    """Where its code is one-hot the recoded G draws exactly what the conditional G draws for
    that digit (its other noise values being the conditional G's noise), and the run folder
    it writes fine-tunes with train --init-from."""
    from gan.latent import digit_code_of, latent_dim_of, render, sample_noise

    start = tmp_path / "recoded"
    coded_digits = ["--model", conditional_generator, "--preset", "coded-digits"]
    assert run_cli("recode", *coded_digits, "--out", start) == 0
    assert "--latent-dim 74 --init-from" in capsys.readouterr().out
    conditional, coded = load_generator(conditional_generator), load_generator(start / GENERATOR)
    assert digit_code_of(coded) == 10 and latent_dim_of(coded) == 74
    noise, digits = sample_noise(10, 74, seed=3), np.arange(10)
    np.testing.assert_allclose(
        render(coded, noise, digits), render(conditional, noise[:, 10:], digits), atol=1e-5
    )
    run = tmp_path / "coded"
    fine_tune = ["--max-steps", 2, *TINY[:2], *TINY[4:], "--init-from", start, "--out", run]
    assert run_cli("train", "--preset", "coded-digits", "--latent-dim", 74, *fine_tune) == 0
    assert (run / GENERATOR).is_file()
    # what cannot be recoded is a clear error, writing nothing
    unconditional = trained_run / GENERATOR
    assert run_cli("recode", "--model", unconditional, "--out", tmp_path / "x") == 2
    assert "conditional generator" in capsys.readouterr().err
    args = ["--model", conditional_generator, "--preset", "fast", "--out", tmp_path / "y"]
    assert run_cli("recode", *args) == 2
    assert "digit code" in capsys.readouterr().err
    assert run_cli("recode", *coded_digits, "--out", start) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_temper_writes_a_copy_that_reads_its_digit_code_at_a_new_temperature(
    trained_run, tmp_path, capsys
):
    """Only the temperature changes: asked digits (a one-hot code) draw the same, samples
    near a border blend differently, and the original file is left as it was."""
    from gan import io
    from gan.latent import code_temperature_of, render, sample_noise
    from gan.models import build_pair

    model = io.save_model(build_pair(STAGES["wide-map-digits"], 8)[0], tmp_path / "map.keras")
    before = STAGES["wide-map-digits"].code_temperature
    out = tmp_path / "sharp.keras"
    assert run_cli("temper", "--model", model, "--temperature", "0.1", "--out", out) == 0
    assert f"temperature 0.1 (was {before:g})" in capsys.readouterr().out
    original, sharp = load_generator(model), load_generator(out)
    assert code_temperature_of(original) == pytest.approx(before)
    assert code_temperature_of(sharp) == pytest.approx(0.1)
    noise, digits = sample_noise(50, 8, seed=2), np.arange(50) % 10
    np.testing.assert_allclose(render(sharp, noise, digits), render(original, noise, digits))
    assert np.abs(render(sharp, noise) - render(original, noise)).max() > 1e-3
    for bad in ("0", "-1", "abc", "11"):
        assert run_cli("temper", "--model", model, "--temperature", bad, "--out", out) == 2
        assert "--temperature must be a number" in capsys.readouterr().err
    assert run_cli("temper", "--model", model, "--temperature", "0.3", "--out", model) == 2
    unsoft = [trained_run / GENERATOR, "--temperature", "0.3", "--out", tmp_path / "x.keras"]
    assert run_cli("temper", "--model", *unsoft) == 2
    assert "no soft digit code" in capsys.readouterr().err
    assert not (tmp_path / "x.keras").exists()
    assert code_temperature_of(load_generator(model)) == pytest.approx(before)


@pytest.mark.system  # whole trainings through the CLI
def test_a_diverging_run_exits_3_and_keeps_the_last_good_model(tmp_path, capsys, monkeypatch):
    import gan.trainer

    out = tmp_path / "run"
    assert run_cli("train", "--epochs", 1, *TINY, "--out", out) == 0
    saved = (out / "generator.keras").read_bytes()
    real_batches = gan.trainer.batches
    monkeypatch.setattr(
        gan.trainer,
        "batches",
        lambda *args: real_batches(*args).map(lambda x, y: (x * float("nan"), y)),
    )
    assert run_cli("train", "--resume", "--epochs", 2, "--out", out) == 3
    assert "diverged: losses became NaN or infinite at step 5" in capsys.readouterr().out
    assert (out / "generator.keras").read_bytes() == saved
    assert json.loads((out / "run.json").read_text())["end"]["reason"] == "diverged"


@pytest.mark.system  # a child process
def test_ctrl_c_stops_after_the_batch_saves_and_exits_0_and_tensorflow_stays_quiet(tmp_path):
    """A user's `python -m gan train` as typed (TensorFlow's logging not set): our lines only,
    no E0000/I0000 start-up lines of TensorFlow's C++ core."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gan", "train", "--epochs", "10000", *TINY, "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        wait_until(lambda: (out / "run.json").is_file() or process.poll() is not None, 120)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "Stopping after this batch and saving" in stderr
    assert not re.search(r"^[EIW]0000|absl::InitializeLog", stderr, re.MULTILINE), stderr[:500]
    assert "Data: " in stdout  # our own first line
    assert "stopped: interrupted (Ctrl-C)" in stdout
    record = json.loads((out / "run.json").read_text())
    assert record["end"]["reason"] == "stopped"
    assert record["checkpoint"]["step"] == int(stdout.split("(step ")[1].split(",")[0])
    assert load_generator(out / "generator.keras") is not None


def test_sample_writes_npy_arrays_and_png_grids(trained_run, tmp_path):
    model = trained_run / "generator.keras"
    assert run_cli("sample", "--model", model, "-n", 12, "--out", tmp_path / "s.npy") == 0
    images = np.load(tmp_path / "s.npy")
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert run_cli("sample", "--model", model, "-n", 9, "--out", tmp_path / "s.png") == 0
    assert Image.open(tmp_path / "s.png").size == (4 * (3 * 28 + 2),) * 2


def test_sample_a_digit_from_a_conditional_model(conditional_generator, tmp_path, capsys):
    out = tmp_path / "sevens.npy"
    assert (
        run_cli("sample", "--model", conditional_generator, "--digit", 7, "-n", 5, "--out", out)
        == 0
    )
    assert np.load(out).shape == (5, 28, 28, 1)


def test_interpolate_writes_a_gif_with_k_frames(trained_run, tmp_path):
    out = tmp_path / "walk.gif"
    assert (
        run_cli(
            "interpolate",
            "--model",
            trained_run / "generator.keras",
            "--steps",
            7,
            "--method",
            "lerp",
            "--out",
            out,
        )
        == 0
    )
    assert Image.open(out).n_frames == 7


def test_interpolate_morphs_one_digit_into_another(tmp_path):
    from gan.metrics import MODELS, load_classifier, read_digits

    out = tmp_path / "morph.gif"
    model = MODELS / "conditional_generator.keras"
    assert (
        run_cli("interpolate", "--model", model, "--morph", 3, 8, "--steps", 9, "--out", out) == 0
    )
    gif = Image.open(out)
    frames = []
    for index in range(gif.n_frames):
        gif.seek(index)
        small = gif.convert("L").resize((28, 28), Image.NEAREST)
        frames.append(np.asarray(small, np.float32)[..., None] / 255.0)
    digits, _ = read_digits(load_classifier(), np.stack(frames))
    assert len(frames) == 9 and digits[0] == 3 and digits[-1] == 8


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["train", "--latent-dim", "0", "--out", "{out}"], "Latent dimension"),
        (["train", "--latent-dim", "100000", "--out", "{out}"], "Latent dimension"),
        (["train", "--latent-dim", "ten", "--out", "{out}"], "Latent dimension"),
        (["train", "--epochs", "1000000", "--out", "{out}"], "Epochs"),
        (["train", "--lr-g", "nan", "--out", "{out}"], "learning rate"),
        (["train", "--batch-size", "70000", "--out", "{out}"], "Batch size"),
        (["train", "--preset", "gpt", "--out", "{out}"], "Unknown preset"),
        (["train", "--g-loss", "wasserstein", "--out", "{out}"], "Unknown generator loss"),
        (["train", "--d-steps", "0", "--out", "{out}"], "D steps per G step"),
        (["train", "--d-steps", "2.5", "--out", "{out}"], "D steps per G step"),
        (["train", "--data", "{out}/nowhere.npz", "--out", "{out}"], "does not exist"),
        (["train", "--epochs", "2"], "required: --out"),
        (["sample", "--model", "{out}/none.keras", "--out", "{out}/x.npy"], "No model file"),
        (["sample", "--model", "{model}", "-n", "0", "--out", "{out}/x.npy"], "-n must"),
        (["sample", "--model", "{model}", "--out", "{out}/x.jpg"], ".npy or .png"),
        (
            ["sample", "--model", "{model}", "--digit", "3", "--out", "{out}/x.npy"],
            "cannot pick the digit",
        ),
        (["interpolate", "--model", "{model}", "--steps", "1", "--out", "{out}/x.gif"], "--steps"),
        (
            ["interpolate", "--model", "{model}", "--method", "cubic", "--out", "{out}/x.gif"],
            "invalid choice",
        ),
        (
            ["interpolate", "--model", "{model}", "--morph", "3", "8", "--out", "{out}/x.gif"],
            "--morph needs a generator that can be asked for a digit",
        ),
        (
            ["interpolate", "--model", "{model}", "--morph", "3", "12", "--out", "{out}/x.gif"],
            "--morph must be a whole number from 0 to 9",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    args, words, tmp_path, trained_run, capsys
):
    out = tmp_path / "out"
    model = trained_run / "generator.keras"
    args = [a.format(out=out, model=model) for a in args]
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_python_dash_m_gan_reports_a_bad_value_and_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gan", "train", "--epochs", "0", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("(got '0').")


def test_an_unwritable_output_folder_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert run_cli("train", "--epochs", 1, *TINY, "--out", blocker / "run") == 2
    assert "Cannot write to" in capsys.readouterr().err
    assert blocker.read_text() == "not a folder"


def test_resume_of_a_damaged_run_record_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "run.json").write_text('{"config": {}}')
    assert run_cli("train", "--resume", "--out", tmp_path) == 2
    assert "is not a run record" in capsys.readouterr().err


@pytest.mark.system  # whole trainings through the CLI
def test_a_full_disk_mid_run_exits_1_and_keeps_the_saved_model(tmp_path, capsys, full_disk_after):
    out = tmp_path / "run"
    full_disk_after(10)  # epoch 1: its grid, 3 networks and run.json staged, commit, 4 moves
    assert run_cli("train", "--epochs", 3, *TINY, "--out", out) == 1
    printed = capsys.readouterr().out
    assert "error: could not save to" in printed and "No space left on device" in printed
    assert "last complete checkpoint: step 4" in printed
    assert verify(out)["checkpoint"]["step"] == 4
    assert (out / "generator.keras").is_file()
