"""The failure lab's detectors and mid-run changes: constructed failures and healthy cases,
on real digits, real quality figures and a real training."""

from __future__ import annotations

import numpy as np
import pytest

from gan.config import ConfigError, RunConfig
from gan.control import Control
from gan.detectors import FAILURES, collapse, diagnose, oscillation, vanishing_gradient
from gan.events import Callback
from gan.metrics import Judge
from gan.runfolder import RunState
from gan.trainer import Trainer


@pytest.fixture(scope="module")
def judge():
    return Judge()


def conditional_copier(images: np.ndarray, latent_dim: int = 8):
    """A conditional generator that ignores its noise: one fixed image per digit, in [-1, 1]
    (what a G collapsed inside every digit draws)."""
    import keras

    noise, digits = keras.Input((latent_dim,)), keras.Input((), dtype="int32")
    table = keras.layers.Embedding(10, 784, trainable=False)
    ignored = keras.layers.Dense(784, use_bias=False, kernel_initializer="zeros")(noise)
    image = keras.layers.Reshape((28, 28, 1))(keras.layers.Add()([table(digits), ignored]))
    model = keras.Model([noise, digits], image)
    table.set_weights([images.reshape(10, 784) * 2.0 - 1.0])
    return model


def steps_of(d_real, d_fake, g_gradient) -> dict[str, list[float]]:
    n = len(d_real)
    return {
        "step": list(range(1, n + 1)),
        "d_real": list(d_real),
        "d_fake": list(d_fake),
        "g_gradient": list(g_gradient),
    }


def healthy_steps(n: int = 1000) -> dict[str, list[float]]:
    rng = np.random.default_rng(0)
    return steps_of(
        0.65 + 0.05 * rng.standard_normal(n),
        0.3 + 0.05 * rng.standard_normal(n),
        np.abs(1.0 + 0.2 * rng.standard_normal(n)),
    )


def quality_curves(judge, image_sets) -> dict:
    """The quality curves of a run whose measurements saw these sets of images."""
    state = RunState()
    for step, images in enumerate(image_sets, start=1):
        state.record_quality(step * 100, judge.evaluate(images))
    return state.quality


def test_a_generator_collapsed_inside_every_digit_is_named_and_a_healthy_one_is_not(judge, mnist):
    from gan.io import MODELS, load_model

    firsts = np.stack([mnist.images[mnist.labels == d][0] for d in range(10)]) / 255.0
    collapsed = judge.evaluate_generator(conditional_copier(firsts.astype(np.float32)), 500)
    assert collapsed.recognizability > 0.9 and not collapsed.missing_digits  # coverage is fine
    assert collapsed.collapsed_digits == list(range(10))
    assert collapsed.collapse_warning.startswith("Mode collapse within digit 0, 1, 2")
    healthy = judge.evaluate_generator(load_model(MODELS / "conditional_generator.keras"), 500)
    assert healthy.collapsed_digits == [] and healthy.collapse_warning is None
    assert min(healthy.digit_diversity) > 0.6
    assert "within-digit diversity" in "\n".join(healthy.report())


def test_the_collapse_detector_names_a_generator_that_draws_one_digit_or_one_image_a_digit(
    judge, mnist
):
    rng = np.random.default_rng(0)
    real = mnist.images[rng.choice(len(mnist), 300, replace=False)][..., None] / 255.0
    ones = np.repeat(mnist.images[mnist.labels == 1][:3][..., None] / 255.0, 100, axis=0)
    steps = healthy_steps()
    one_digit = collapse(steps, quality_curves(judge, [ones] * 3))
    assert one_digit.state == "firing" and "G draws few of the ten digits" in one_digit.evidence
    assert collapse(steps, quality_curves(judge, [real] * 3)).state == "clear"
    assert collapse(steps, quality_curves(judge, [ones] * 2)).state == "too early"
    short = steps_of([0.5] * 100, [0.5] * 100, [1] * 100)
    assert collapse(short, quality_curves(judge, [ones] * 3)).state == "too early"
    firsts = np.stack([mnist.images[mnist.labels == d][0] for d in range(10)]) / 255.0
    copier = conditional_copier(firsts.astype(np.float32))
    state = RunState()
    for step in (100, 200, 300):
        state.record_quality(step, judge.evaluate_generator(copier, 300))
    inside = collapse(steps, state.quality)
    assert inside.state == "firing" and "Inside one digit" in inside.evidence


def test_an_untrained_generators_smudges_are_no_collapse_though_they_read_as_eights(judge, mnist):
    """Early in a healthy run most samples are smudges that the classifier calls 8 without
    confidence: the spread is judged on the samples that read as digits, once enough do."""
    rng = np.random.default_rng(0)
    smudges = mnist.images[rng.choice(len(mnist), (300, 16))].mean(axis=1)[..., None] / 255.0
    real = mnist.images[rng.choice(len(mnist), 100, replace=False)][..., None] / 255.0
    untrained = quality_curves(judge, [smudges] * 3)
    assert max(untrained["class_shares"][-1]) > 0.5  # most samples "are" one digit
    assert collapse(healthy_steps(), untrained).state == "too early"
    learning = quality_curves(judge, [np.concatenate([smudges[:200], real])] * 3)
    assert collapse(healthy_steps(), learning).state == "clear"


def test_the_vanishing_gradient_detector_needs_a_rejected_fake_and_no_gradient():
    n = 300
    won = steps_of([0.99] * n, [0.001] * n, [1e-6] * n)
    assert vanishing_gradient(won, {}).state == "firing"
    still_learning = steps_of([0.99] * n, [0.001] * n, [0.5] * n)  # D wins, G learns on
    assert vanishing_gradient(still_learning, {}).state == "clear"
    assert vanishing_gradient(healthy_steps(), {}).state == "clear"
    assert vanishing_gradient(steps_of([0.9] * 60, [0.0] * 60, [0.0] * 60), {}).state == "too early"


def test_the_oscillation_detector_names_swinging_verdicts_and_swinging_digits():
    n = 1000
    swinging = [0.9 if (step // 60) % 2 else 0.1 for step in range(n)]
    quiet_quality = {"class_shares": [[0.1] * 10] * 4}
    assert oscillation(steps_of(swinging, [0.3] * n, [1] * n), quiet_quality).state == "firing"
    assert oscillation(healthy_steps(), quiet_quality).state == "clear"
    hopping = {"class_shares": [np.eye(10)[d].tolist() for d in (3, 5, 3, 8)]}
    finding = oscillation(healthy_steps(), hopping)
    assert finding.state == "firing" and "100%" in finding.evidence
    assert oscillation(healthy_steps(500), quiet_quality).state == "too early"


def test_every_detector_is_too_early_on_an_empty_run_and_every_fix_is_a_live_setting():
    findings = diagnose({}, {})
    assert [f.state for f in findings] == ["too early"] * 3
    config = RunConfig.create("oscillation-demo").to_dict()
    for failure in FAILURES.values():
        RunConfig.from_dict({**config, **failure.fix.settings(config)})  # valid values
        assert failure.fix.why.count(". ") == 1  # two sentences


def test_a_running_training_takes_new_learning_rates_loss_and_d_steps(small, tmp_path):
    config = RunConfig.create("fast", max_steps=6, batch_size=32, out_dir=str(tmp_path / "run"))
    trainer, control = Trainer.create(config, small), Control()
    answers = {}

    class ChangeAtStep3(Callback):
        def on_step(self, event):
            if event.step == 3:
                answers["good"] = control.change(lr_g=2e-3, g_loss="minimax", d_steps=3)
                answers["bad"] = control.change(d_steps=0)
                answers["other"] = control.change(latent_dim=3)

    assert trainer.run([ChangeAtStep3()], control).reason == "finished"
    assert answers["good"].result() == {
        "lr_g": 2e-3,
        "lr_d": config.lr_d,
        "g_loss": "minimax",
        "d_steps": 3,
    }
    with pytest.raises(ConfigError, match="D steps per G step must be"):
        answers["bad"].result()
    with pytest.raises(ConfigError, match="cannot change latent_dim"):
        answers["other"].result()
    nets = trainer.nets
    assert int(nets.g_optimizer.iterations) == 6
    assert int(nets.d_optimizer.iterations) == 3 + 3 * 3  # 1 per step, then 3 per step
    assert float(nets.g_optimizer.learning_rate) == pytest.approx(2e-3)
    assert float(nets.minimax) == 1.0
    saved, _ = __import__("gan.runfolder", fromlist=["read_record"]).read_record(tmp_path / "run")
    assert (saved["lr_g"], saved["g_loss"], saved["d_steps"]) == (2e-3, "minimax", 3)


def test_with_minimax_loss_a_d_that_rejects_every_fake_leaves_g_no_gradient(small):
    """A D that outputs ~0 for every image: under the minimax loss G's gradient vanishes and
    the detector fires; the non-saturating loss gives G its gradient back."""

    def run(g_loss: str):
        config = RunConfig.create("fast", max_steps=100, batch_size=16, lr_d=1e-9, g_loss=g_loss)
        trainer = Trainer.create(config, small)
        last = trainer.discriminator.layers[-1]
        kernel, bias = last.get_weights()
        last.set_weights([kernel, bias - 30.0])  # D(anything) ~ 1e-13, still read from the image
        trainer.run()
        return trainer.state.steps

    assert vanishing_gradient(run("minimax"), {}).state == "firing"
    assert vanishing_gradient(run("non-saturating"), {}).state == "clear"
