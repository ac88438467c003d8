import numpy as np
import pytest

from gan.config import RunConfig
from gan.events import Callback
from gan.latent import (
    CODE_LAYER,
    code_digits,
    digit_code_of,
    is_conditional,
    output_range,
    render,
    sample_noise,
    takes_digit,
    with_digit_code,
)
from gan.presets import DEFAULT_PRESET, PRESETS, STAGES
from gan.trainer import Trainer


class Steps(Callback):
    def __init__(self):
        self.events = []

    def on_step(self, event):
        self.events.append(event)


def test_the_default_preset_builds_from_the_data_and_trains_a_few_steps(small, tmp_path):
    """quick-digits on 512 digits: its fixed principal components come from the data, its G
    draws in [-1, 1] in their span, and the saved G reloads with them; its D scores an image
    for the digit it is said to be (a projection head)."""
    from gan import io
    from gan.modelcheck import check_model_file
    from gan.models import principal_basis
    from gan.presets import DEFAULT_PRESET

    assert DEFAULT_PRESET == "quick-digits"
    config = RunConfig.create(DEFAULT_PRESET, batch_size=32, max_steps=4, out_dir=str(tmp_path))
    trainer = Trainer.create(config, small)
    steps = Steps()
    assert trainer.run([steps]).reason == "finished" and len(steps.events) == 4
    k = PRESETS[DEFAULT_PRESET].principal_components
    mean, components = principal_basis(small.images, k, "tanh")
    fixed = trainer.generator.get_layer("principal_components").get_weights()
    np.testing.assert_allclose(fixed[0], components, atol=1e-5)
    np.testing.assert_allclose(fixed[1], mean, atol=1e-5)
    check_model_file(tmp_path / "generator.keras")  # a student's download uploads back
    saved = io.load_generator(tmp_path / "generator.keras")
    noise, digits = sample_noise(20, 64, seed=0), np.arange(20) % 10
    images = np.asarray(saved([noise, digits], training=False)).reshape(20, -1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    inside = np.clip(mean + (images - mean) @ np.linalg.pinv(components) @ components, -1, 1)
    assert np.abs(inside - images).mean() < 0.03  # drawn in the components' span (clipped)
    reals = small.images[:5, ..., None].astype("float32") / 127.5 - 1
    as_zeros, as_sevens = (
        np.asarray(trainer.discriminator([reals, np.full(5, digit, "int32")])) for digit in (0, 7)
    )
    assert as_zeros.shape == (5, 1) and not np.allclose(as_zeros, as_sevens)


def test_the_defaults_g_reads_each_digits_noise_with_its_own_weights(small):
    """Noise by digit: the first layer's weights for one digit's noise change that digit's
    images and no other's; a soft mix of two digits (the explorer's digit morph) reads both
    digits' weights, half each."""
    import keras

    from gan.models import digit_mixer

    assert PRESETS[DEFAULT_PRESET].noise_by_digit
    generator = Trainer.create(RunConfig.create(DEFAULT_PRESET, max_steps=1), small).generator
    first = next(layer for layer in generator.layers if isinstance(layer, keras.layers.Dense))
    noise, digits = sample_noise(20, 64, seed=0), np.arange(20) % 10
    before = np.asarray(generator([noise, digits], training=False))
    kernel = first.get_weights()[0]
    slots = np.arange(64) * 10 + 3  # the rows that read digit 3's noise
    kernel[slots] = 0.0
    first.set_weights([kernel])
    after = np.asarray(generator([noise, digits], training=False))
    changed = np.abs(after - before).reshape(20, -1).max(axis=1) > 1e-4
    np.testing.assert_array_equal(changed, digits == 3)
    assert digit_mixer(generator) is not None
    one_hot = generator.get_layer("digit_one_hot").output
    read = keras.Model([generator.inputs[0], one_hot], first.output)
    mixes = np.eye(10, dtype="float32")[[3, 8, 3]]
    mixes[2] = 0.5 * (mixes[0] + mixes[1])
    three, eight, halfway = np.asarray(read([np.repeat(noise[:1], 3, axis=0), mixes]))
    np.testing.assert_allclose(halfway, (three + eight) / 2, atol=1e-5)


def test_the_default_seeks_modes_fakes_paired_by_digit_and_a_g_ignoring_its_noise_pays(
    small,
):
    """Mode seeking (MSGAN): fakes i and half + i are asked for the same digit, and the term G
    minimises grows as the pair's images get closer than their noises."""
    from gan.losses import mode_seeking
    from gan.steps import draw_noise

    assert PRESETS[DEFAULT_PRESET].mode_seeking > 0
    trainer = Trainer.create(RunConfig.create(DEFAULT_PRESET, max_steps=1), small)
    (z, asked), digits = draw_noise(trainer.nets, 9)
    np.testing.assert_array_equal(digits[:4], digits[4:8])
    np.testing.assert_array_equal(asked, digits)
    apart = np.asarray(trainer.generator([z, asked], training=False))
    same = np.repeat(apart[:1], 9, axis=0)  # one image whatever the noise
    assert float(mode_seeking(same, z)) > 1000 * float(mode_seeking(apart, z)) > 0


def test_the_defaults_d_sees_how_alike_each_digits_images_are_in_the_batch(small, tmp_path):
    """Digit spread (a per-digit minibatch standard deviation): an image's score depends on
    the other images of its digit in the batch, not on other digits'; the D file saved for
    resuming reloads with the same scores; the D view judges real digits in company; the
    default's G has its noise shortcut."""
    from gan import io
    from gan.blocks import with_digit_spread
    from gan.d_view import SHOWN_OF, score
    from gan.data import scale

    preset = PRESETS[DEFAULT_PRESET]
    assert preset.digit_spread > 0 and preset.noise_shortcut
    features = np.array([[0, 0], [2, 0], [5, 5], [5, 5], [9, 9]], "float32")
    one_hot = np.eye(10, dtype="float32")[[3, 3, 5, 5, 7]]
    spread = np.asarray(with_digit_spread(features, one_hot, 10.0))[:, -1]
    np.testing.assert_allclose(spread, [10 * (2**0.5 + 0) / 2] * 2 + [0, 0, 0], atol=1e-2)

    config = RunConfig.create(DEFAULT_PRESET, max_steps=1, out_dir=str(tmp_path))
    trainer = Trainer.create(config, small)
    assert trainer.generator.get_layer("noise_shortcut").trainable
    trainer.run([])
    d = trainer.discriminator
    reals = scale(small.images[:40], "tanh")  # digits mixed, as in a batch
    digits = small.labels[:40].astype("int32")
    five = int(np.flatnonzero(digits == 5)[0])
    scores = np.asarray(d([reals, digits])).ravel()
    alike = reals.copy()
    alike[digits == 5] = reals[five]  # every five the same image
    others = reals.copy()
    others[digits != 5] = reals[digits != 5][::-1]  # the other digits' images changed
    assert not np.isclose(np.asarray(d([alike, digits])).ravel()[five], scores[five])
    assert np.isclose(np.asarray(d([others, digits])).ravel()[five], scores[five], atol=1e-5)
    reloaded = io.load_model(tmp_path / "discriminator.keras")
    np.testing.assert_allclose(np.asarray(reloaded([reals, digits])).ravel(), scores, atol=1e-5)
    # The Train page's "What D sees" judges its ten real digits among others of their digit,
    # as the grid's rows of ten fakes are judged, not each alone.
    view = trainer.d_viewer(trainer.grid_images(), trainer.fixed_digits)
    shown, among = trainer.d_viewer.real_images, trainer.d_viewer.real_digits
    assert view.real_scores.shape == (10,) and list(among[::SHOWN_OF]) == list(range(10))
    in_company = np.asarray(score(trainer.nets, shown, among))
    alone = np.asarray(score(trainer.nets, shown[::SHOWN_OF], among[::SHOWN_OF]))
    np.testing.assert_allclose(view.real_scores, in_company[::SHOWN_OF], atol=1e-5)
    assert not np.allclose(view.real_scores, alone, atol=1e-3)


@pytest.mark.parametrize(
    "name",  # the default preset in the fast tier, every preset in the full suite
    [
        name if name == DEFAULT_PRESET else pytest.param(name, marks=pytest.mark.system)
        for name in PRESETS
    ],
)
def test_every_preset_trains_a_few_steps(name, small):
    config = RunConfig.create(name, batch_size=16, latent_dim=12, max_steps=3)
    trainer = Trainer.create(config, small)
    steps = Steps()
    end = trainer.run([steps])
    assert end.reason == "finished"
    assert [e.step for e in steps.events] == [1, 2, 3]
    for event in steps.events:
        values = [event.g_loss, event.d_loss, event.d_real, event.d_fake]
        assert np.all(np.isfinite(values))
        assert 0.0 <= event.d_real <= 1.0 and 0.0 <= event.d_fake <= 1.0
    generator = trainer.generator
    digits = np.arange(5) if PRESETS[name].conditional else None
    raw = np.asarray(
        generator(
            [sample_noise(5, 12), digits] if digits is not None else sample_noise(5, 12),
            training=False,
        )
    )
    assert raw.shape == (5, 28, 28, 1)
    low = -1.0 if PRESETS[name].data_range == "tanh" else 0.0
    assert raw.min() >= low and raw.max() <= 1.0
    assert output_range(generator) == PRESETS[name].data_range
    images = render(generator, sample_noise(5, 12), digits)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_dcgan_is_the_tensorflow_tutorial_network():
    from gan.models import build_pair

    generator, discriminator = build_pair(PRESETS["dcgan"], 100)
    kinds = [type(layer).__name__ for layer in generator.layers[1:]]
    assert kinds == [
        "Dense",
        "BatchNormalization",
        "LeakyReLU",
        "Reshape",
        "Conv2DTranspose",
        "BatchNormalization",
        "LeakyReLU",
        "Conv2DTranspose",
        "BatchNormalization",
        "LeakyReLU",
        "Conv2DTranspose",
    ]
    assert generator.count_params() == 2_330_944  # the tutorial's summary
    kinds = [type(layer).__name__ for layer in discriminator.layers[1:]]
    assert kinds == [
        "Conv2D",
        "LeakyReLU",
        "Dropout",
        "Conv2D",
        "LeakyReLU",
        "Dropout",
        "Flatten",
        "Dense",
    ]
    assert discriminator.count_params() == 212_865


def test_the_digit_code_is_the_largest_of_the_first_ten_noise_values(tmp_path):
    from gan import io
    from gan.models import build_pair

    generator, _ = build_pair(PRESETS["coded-digits"], 16)
    noise = sample_noise(4, 16, seed=0)
    halved = noise.copy()
    halved[:, :10] *= 0.5  # the same largest value, so the same code
    moved = noise.copy()
    moved[:, :10] = np.roll(noise[:, :10], 1, axis=1)  # the code moves by one

    def draw(model, z):
        return np.asarray(model(z, training=False))

    np.testing.assert_allclose(draw(generator, halved), draw(generator, noise), atol=1e-6)
    assert np.abs(draw(generator, moved) - draw(generator, noise)).max() > 1e-3
    loaded = io.load_generator(io.save_model(generator, tmp_path / "coded.keras"))
    np.testing.assert_allclose(draw(loaded, noise), draw(generator, noise), atol=1e-6)
    assert digit_code_of(loaded) == 10 and takes_digit(loaded) and not is_conditional(loaded)
    assert digit_code_of(build_pair(PRESETS["fast"], 16)[0]) == 0
    asked = np.array([3, 3, 7, 7])  # render asks by code: the same as swapping it in by hand
    np.testing.assert_allclose(
        render(loaded, noise, asked), render(loaded, with_digit_code(noise, asked, 10)), atol=1e-6
    )


def test_a_map_coded_generator_reads_its_digit_where_the_first_two_values_lie(tmp_path):
    """The shipped generator's map code: it favours the digit `code_digits` reads from the
    map, is one-hot at each digit's place, and survives a save and load."""
    import keras

    from gan import io
    from gan.models import build_pair

    generator, _ = build_pair(STAGES["wide-map-digits"], 8)
    loaded = io.load_generator(io.save_model(generator, tmp_path / "map.keras"))
    assert digit_code_of(loaded) == 2 and takes_digit(loaded) and not is_conditional(loaded)
    code = keras.Model(loaded.inputs, loaded.get_layer(CODE_LAYER).output)
    noise = sample_noise(500, 8, seed=4)
    codes = np.asarray(code(noise))[:, :10]
    np.testing.assert_allclose(codes.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(codes.argmax(axis=1), code_digits(noise, 2))
    assert 0 < (codes.max(axis=1) < 1).mean() < 1  # near a border two digits blend
    asked = with_digit_code(noise[:10], np.arange(10), 2)
    np.testing.assert_allclose(np.asarray(code(asked))[:, :10], np.eye(10), atol=1e-6)
    np.testing.assert_allclose(
        render(loaded, noise[:10], np.arange(10)), render(loaded, asked), atol=1e-6
    )


def test_recoding_a_wide_conditional_generator_onto_the_map_keeps_what_it_draws():
    """make-default's second stage: a wide-conditional G recoded with wide-map-digits draws,
    where the map asks for a digit, what the conditional G draws for it."""
    from gan.latent import recode
    from gan.models import build_pair

    conditional, _ = build_pair(STAGES["wide-conditional"], 64)
    coded, _ = build_pair(STAGES["wide-map-digits"], 66)
    recode(conditional, coded)
    noise, digits = sample_noise(10, 66, seed=3), np.arange(10)
    np.testing.assert_allclose(
        render(coded, noise, digits), render(conditional, noise[:, 2:], digits), atol=1e-5
    )


def test_a_sparsemax_code_is_one_hot_until_two_values_come_within_one():
    """Sparsemax: a clear leader gets all of the code, two close values share it linearly,
    it always sums to 1, and it never moves faster than its input (no jumps)."""
    from gan.blocks import sparsemax

    values = np.array([[10 / 3, 3.0, 2 / 3, -10 / 3], [3.0, 1.0, 0.5, 0.0], [0.5] * 4], "float32")
    code = np.asarray(sparsemax(values))
    expected = [[2 / 3, 1 / 3, 0, 0], [1, 0, 0, 0], [0.25] * 4]
    np.testing.assert_allclose(code, expected, atol=1e-6)
    leads = np.linspace(-2.0, 2.0, 401, dtype="float32")  # the first two values cross
    sweep = np.stack([leads, np.zeros_like(leads), np.full_like(leads, -3), -leads - 5], axis=1)
    code = np.asarray(sparsemax(sweep))
    np.testing.assert_allclose(code.sum(axis=1), 1.0, atol=1e-6)
    assert np.abs(np.diff(code, axis=0)).max() <= (leads[1] - leads[0]) / 2 + 1e-6
    np.testing.assert_allclose(code[leads >= 1.0, 0], 1.0)  # one-hot once one value leads by 1


SWEEP_STEP_SHARE = 0.1  # the explorer's promise: no slider step is 10 % of the sweep's change


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_explorer_direction_sliders_morph_the_default_generator(seed):
    """Each direction slider of the explorer, moved across its range in its own steps, on the
    default model: no single step changes the image by SWEEP_STEP_SHARE of the whole sweep."""
    from gan.io import directions_path, load_generator
    from gan.latent import direction_sweep, latent_dim_of
    from gan.metrics import MODELS, largest_step_shares

    path = MODELS / "generator.keras"
    generator = load_generator(path)
    start = sample_noise(1, latent_dim_of(generator), seed)[0]  # the explorer's seed box
    for direction in np.load(directions_path(path)):
        images = render(generator, direction_sweep(start, direction))
        share = largest_step_shares(images.reshape(1, len(images), -1))[0]
        assert share < SWEEP_STEP_SHARE, (seed, share)
