import json

import numpy as np
import pytest

from gan.cli import main
from gan.config import ConfigError
from gan.metrics import Judge, frechet_distance, largest_step_shares, pixel_diversity


@pytest.fixture(scope="module")
def judge():
    return Judge()


@pytest.fixture(scope="module")
def real(mnist):
    """1,000 real digits as a generator would return them: (n, 28, 28, 1) in [0, 1]."""
    pick = np.random.default_rng(1).choice(len(mnist), 1000, replace=False)
    return mnist.images[pick][..., None].astype(np.float32) / 255.0, mnist.labels[pick]


def test_real_digits_score_high_and_at_the_floor(judge, real):
    images, labels = real
    quality = judge.evaluate(images, labels)
    assert quality.recognizability > 0.95
    assert quality.smallest_share > 0.07 and quality.entropy > 0.99
    assert quality.frechet_distance < 2.0 * quality.frechet_floor
    assert quality.asked_digit_accuracy > 0.98  # the classifier agrees with the labels
    assert 0.9 < quality.pixel_diversity < 1.1
    assert quality.collapse_warning is None


def test_noise_scores_low_and_is_too_early_to_call_collapsed(judge):
    noise = np.random.default_rng(0).random((500, 28, 28, 1)).astype(np.float32)
    quality = judge.evaluate(noise)
    assert quality.recognizability < 0.3
    assert quality.frechet_distance > 20 * quality.frechet_floor
    assert quality.missing_digits  # blobs get arbitrary labels: some digits never come up...
    assert quality.too_early and quality.collapse_warning is None  # ...which is not collapse
    assert quality.coverage_note.startswith("Too early to tell which digits G covers")


def test_a_collapsed_set_gets_a_coverage_warning(judge, real):
    images, labels = real
    # A G that draws three images (five real ones can differ by half of MNIST's spread in
    # the offline subset).
    ones = images[labels == 1][:3]
    collapsed = np.repeat(ones, 100, axis=0)
    quality = judge.evaluate(collapsed)
    assert quality.missing_digits == [0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert "Mode collapse" in quality.collapse_warning
    assert quality.pixel_diversity < 0.5
    assert quality.frechet_distance > 5 * quality.frechet_floor


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((10, 32, 32, 3), np.float32),
        np.zeros((10, 28, 28), np.float32),
        np.full((10, 28, 28, 1), 255.0, np.float32),
        np.zeros((1, 28, 28, 1), np.float32),
    ],
)
def test_bad_input_is_a_clear_error(judge, images):
    with pytest.raises(ConfigError, match="Metrics need"):
        judge.evaluate(images)


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(16.0, rel=1e-3)  # 4 dims x 2^2
    assert pixel_diversity(np.ones((10, 28, 28, 1))) == 0.0


def digit_stamps(mnist, latent_dim: int = 16, code: bool = False):
    """A Keras generator built from ten real digits: with `code`, it draws the digit whose
    coordinate among z[0..9] is largest (an argmax: a step function of z); without, a linear
    blend of the ten digits weighted by z[0..9] (a linear map of z)."""
    import keras
    from keras import layers, ops

    stamps = np.stack([mnist.images[mnist.labels == d][0] for d in range(10)]) / 255.0
    z = keras.Input((latent_dim,))
    head = ops.split(z, [10], axis=-1)[0]
    weights = ops.one_hot(ops.argmax(head, axis=-1), 10) if code else head
    draw = layers.Dense(784, use_bias=False, trainable=False)
    flat = draw(weights)
    # the linear one draws in [-1, 1] around grey, so its frames are not clipped flat
    draw.set_weights([(stamps.reshape(10, 784) * (2.0 if code else 0.3)).astype(np.float32)])
    bias = -1.0 if code else 0.0
    image = layers.Reshape((28, 28, 1))(layers.Rescaling(1.0, offset=bias)(flat))
    return keras.Model(z, layers.Activation("tanh")(image))


def test_walks_through_an_argmax_snap_and_through_a_linear_map_do_not(judge, mnist):
    snapping = judge.path_smoothness(digit_stamps(mnist, code=True), paths=60, frames=32)
    assert snapping.snaps > 0.5 and snapping.largest_step_median > 0.25
    assert snapping.digit_changes > 0.5  # the paths do go from one digit to another
    linear = judge.path_smoothness(digit_stamps(mnist), paths=60, frames=32)
    assert linear.snaps == 0.0 and linear.largest_step_p90 < 0.07
    assert linear.paths == 60 and linear.frames == 32 and linear.perceptual_path_length > 0


def test_largest_step_share_of_even_and_of_still_walks():
    even = np.linspace(0.0, 1.0, 11)[None, :, None] * np.ones((1, 1, 4))
    assert largest_step_shares(even)[0] == pytest.approx(0.1)
    jump = np.concatenate([np.zeros((1, 5, 4)), np.ones((1, 5, 4))], axis=1)
    assert largest_step_shares(jump)[0] == pytest.approx(1.0)
    assert largest_step_shares(np.ones((1, 8, 4)))[0] == 0.0  # an image that never changes


@pytest.mark.system  # scores 1,400 samples and walks
def test_evaluate_cli_prints_metrics_and_json(trained_run, conditional_generator, capsys):
    assert (
        main(["evaluate", "--model", str(trained_run / "generator.keras"), "-n", "200", "--json"])
        == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert out[1].startswith("recognizable (classifier confidence >= 0.9): ")
    record = json.loads(out[-1])
    assert record["n"] == 200 and len(record["class_shares"]) == 10
    assert record["smoothness"]["paths"] == 200 and 0 <= record["smoothness"]["snaps"] <= 1
    assert any(line.startswith("snaps (one step >= 25% of the walk): ") for line in out)
    assert main(["evaluate", "--model", str(conditional_generator), "-n", "200"]) == 0
    assert "asked digit recognized: " in capsys.readouterr().out
    assert main(["evaluate", "--model", str(trained_run / "generator.keras"), "-n", "5"]) == 2


# What models/README.md reports for `python -m gan evaluate --model FILE -n 1000` (seed 0).
MODEL_CARDS = {
    "generator.keras": {
        "recognizability": 0.954,
        "smallest_share": 0.087,
        "fd": 5.67,
        "asked_digit_accuracy": 0.953,
        "largest_step_median": 0.0687,
        "largest_step_p90": 0.1004,
        "snaps": 0.0,
        "digit_changes": 2.01,
    },
    "conditional_generator.keras": {
        "recognizability": 0.974,
        "smallest_share": 0.096,
        "fd": 8.2,
        "asked_digit_accuracy": 0.988,
        "largest_step_median": 0.0437,
        "largest_step_p90": 0.0543,
        "snaps": 0.0,
        "digit_changes": 0.035,
    },
}


@pytest.mark.system  # 1,000 samples and 200 walks of each shipped generator
@pytest.mark.parametrize("name", list(MODEL_CARDS))
def test_the_shipped_generators_score_what_their_model_cards_say(judge, name):
    from gan.io import load_generator
    from gan.metrics import MODELS

    quality = judge.evaluate_generator(load_generator(MODELS / name), 1000, seed=0)
    card = MODEL_CARDS[name]
    # a few samples may cross the 0.9 confidence line on another CPU: 0.5 % slack
    assert quality.recognizability == pytest.approx(card["recognizability"], abs=0.005)
    assert quality.smallest_share == pytest.approx(card["smallest_share"], abs=0.005)
    assert quality.frechet_distance == pytest.approx(card["fd"], rel=0.03)
    assert quality.asked_digit_accuracy == pytest.approx(card["asked_digit_accuracy"], abs=0.005)
    walks = judge.path_smoothness(load_generator(MODELS / name), 200, 32, seed=0)
    assert walks.largest_step_median == pytest.approx(card["largest_step_median"], abs=0.002)
    assert walks.largest_step_p90 == pytest.approx(card["largest_step_p90"], abs=0.003)
    assert walks.snaps == pytest.approx(card["snaps"], abs=0.01)
    assert walks.digit_changes == pytest.approx(card["digit_changes"], abs=0.05)


def test_the_default_generator_draws_the_digit_its_code_asks_for(judge, tmp_path):
    from gan.metrics import MODELS, classify

    out = tmp_path / "threes.npy"
    model = str(MODELS / "generator.keras")
    assert main(["sample", "--model", model, "--digit", "3", "-n", "50", "--out", str(out)]) == 0
    _, probabilities = classify(judge.model, np.load(out))
    assert (probabilities.argmax(axis=1) == 3).mean() >= 0.9
