import math
import re
from dataclasses import replace

import pytest

from gan.config import ConfigError, RunConfig
from gan.presets import PRESETS, STAGES


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("latent_dim", 0, "Latent dimension"),
        ("latent_dim", -3, "Latent dimension"),
        ("latent_dim", 100_000, "Latent dimension"),
        ("latent_dim", "abc", "Latent dimension"),
        ("latent_dim", 2.5, "Latent dimension"),
        ("latent_dim", True, "Latent dimension"),
        ("epochs", 0, "Epochs"),
        ("epochs", 10**6, "Epochs"),
        ("batch_size", 0, "Batch size"),
        ("lr_g", 0, "Generator learning rate"),
        ("lr_d", math.nan, "Discriminator learning rate"),
        ("lr_d", "fast", "Discriminator learning rate"),
        ("beta_1", 1.0, "beta_1"),
        ("seed", -1, "Seed"),
        ("max_seconds", -5, "Time budget"),
        ("dataset", "cifar", "Unknown dataset"),
        ("xla", "yes", "XLA"),
    ],
)
def test_bad_values_get_a_clear_message(field, value, words):
    with pytest.raises(ConfigError, match=words) as caught:
        RunConfig.create("fast", **{field: value})
    assert repr(value) in str(caught.value) or field == "dataset"


def test_a_digit_code_needs_noise_beyond_the_code():
    with pytest.raises(ConfigError, match="at least 11 .* got 10"):
        RunConfig.create("coded-digits", latent_dim=10)
    assert RunConfig.create("coded-digits", latent_dim=11).latent_dim == 11


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ConfigError, match=", ".join(PRESETS)):
        RunConfig.create("nope")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"update": "sometimes"}, "update is simultaneous or alternating"),
        ({"digit_code": 10}, "a digit code needs a digit head"),
        ({"digit_code": 4, "digit_head": 1.0}, "digit_code is 0, 2 or 10"),
        ({"digit_code": 2, "digit_head": 1.0}, "only a map code has a temperature"),
        ({"code_temperature": 0.2}, "only a map code has a temperature"),
        ({"digit_head": 1.0}, "a digit head checks the digit G was asked for"),
        ({"group": "misc"}, "group is ours, classic or demo"),
        ({"conditional": True, "digit_code": 10, "digit_head": 1.0}, "takes no label"),
        ({"principal_components": 64}, "goes with the principal_generator"),
        ({"noise_by_digit": True}, "are the principal networks' options"),
        ({"ema": 1.0}, "ema is in [0, 1)"),
    ],
)
def test_a_preset_whose_flags_do_not_fit_together_is_refused_when_defined(changes, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        replace(PRESETS["fast"], **changes)


def test_noise_by_digit_without_labels_is_refused_when_defined():
    with pytest.raises(ValueError, match="noise by digit needs the digit"):
        replace(PRESETS["quick-digits"], conditional=False)


def test_text_numbers_from_forms_and_cli_are_parsed():
    config = RunConfig.create("mlp", latent_dim="32", epochs=" 3 ", lr_g="0.001")
    assert (config.latent_dim, config.epochs, config.lr_g) == (32, 3, 0.001)


def test_preset_defaults_fill_what_is_not_given():
    config = RunConfig.create("dcgan", epochs=2)
    preset = PRESETS["dcgan"]
    assert (config.latent_dim, config.batch_size, config.lr_g) == (100, 256, preset.lr_g)
    assert config.epochs == 2


def test_batch_size_larger_than_the_data_is_refused():
    config = RunConfig.create("fast", batch_size=600)
    with pytest.raises(ConfigError, match="larger than the training data"):
        config.check_data_size(512)


def test_round_trip_through_a_dict():
    config = RunConfig.create("conv-sigmoid", epochs=3, out_dir="/tmp/x")
    assert RunConfig.from_dict(config.to_dict()) == config


def test_a_bare_config_is_the_default_presets():
    assert RunConfig() == RunConfig.create()


def test_the_presets_list_is_short_and_grouped_and_hides_the_make_default_stages():
    """At most 11 presets, each in a group of the picker; the stages of make-default are not
    offered, though a run of one can be resumed by name."""
    assert len(PRESETS) <= 11 and {p.group for p in PRESETS.values()} <= {"ours", "classic", "demo"}
    assert not set(STAGES) & set(PRESETS)
    assert RunConfig.create("wide-map-digits").latent_dim == 66
