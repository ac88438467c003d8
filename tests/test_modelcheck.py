"""Crafted `.keras` uploads are refused before Keras builds anything: huge layers, zip bombs,
unknown or file-reading classes, nested models. The page's loader (`gan.io.load_generator`)
is what is called, as the Latent explorer calls it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gan import io
from gan.modelcheck import MAX_PARAMS, ModelFileError, ModelShapes, check_model_file
from gan.presets import PRESETS, STAGES, find_preset

ROOT = Path(__file__).resolve().parents[1]


def small_model():
    import keras

    inputs = keras.Input((64,), name="noise")
    x = keras.layers.Dense(8, name="wide")(inputs)
    x = keras.layers.Dense(784)(x)
    return keras.Model(inputs, keras.layers.Reshape((28, 28, 1))(x))


def rewrite(source: Path, target: Path, edit=None, extra: dict | None = None, weights=True):
    """A copy of the `.keras` archive `source` with its config edited (and members added)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    if edit:
        edit(config)
    members["config.json"] = json.dumps(config).encode()
    if not weights:
        members.pop("model.weights.h5")
    members.update(extra or {})
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def layer(config: dict, name: str) -> dict:
    return next(item for item in config["config"]["layers"] if item["name"] == name)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> dict[str, Path]:
    """Hostile files, each as a student could upload it."""
    import keras

    folder = tmp_path_factory.mktemp("crafted")
    base = folder / "base.keras"
    small_model().save(base)
    files = {}

    def huge_dense(config):
        layer(config, "wide")["config"]["units"] = 2**24
        for item in config["config"]["layers"]:  # the stated shapes agree, as Keras wrote them
            for node in item.get("inbound_nodes", []):
                for arg in node["args"]:
                    if arg["config"]["keras_history"][0] == "wide":
                        arg["config"]["shape"] = [None, 2**24]

    files["huge-dense.keras"] = rewrite(
        base, folder / "huge-dense.keras", huge_dense, weights=False
    )

    conv = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, padding="same", name="conv")]
    )
    conv.save(folder / "conv.keras")

    def huge_conv(config):
        for item in config["config"]["layers"]:
            if item["class_name"] == "Conv2D":
                item["config"].update(filters=2**16, kernel_size=[64, 64])

    files["huge-conv.keras"] = rewrite(
        folder / "conv.keras", folder / "huge-conv.keras", huge_conv, weights=False
    )
    files["zip-bomb.keras"] = rewrite(
        base, folder / "zip-bomb.keras", extra={"model.weights.h5": bytes(200 * 2**20)}
    )

    def string_lookup(config):
        item = layer(config, "wide")
        item.update(
            class_name="StringLookup",
            config={"name": "wide", "vocabulary": "/etc/passwd", "output_mode": "int"},
        )

    files["lookup.keras"] = rewrite(base, folder / "lookup.keras", string_lookup)

    def unknown(config):
        layer(config, "wide").update(module="my_package.layers", class_name="Backdoor")

    files["unknown.keras"] = rewrite(base, folder / "unknown.keras", unknown)

    inner = keras.Sequential([keras.Input((64,)), keras.layers.Dense(784)], name="inner")
    outer_in = keras.Input((64,))
    outer = keras.Model(outer_in, keras.layers.Reshape((28, 28, 1))(inner(outer_in)))
    outer.save(folder / "nested.keras")
    files["nested.keras"] = folder / "nested.keras"
    return files


REFUSALS = {
    "huge-dense.keras": "declares at least 1,090,519,040 weights",
    "huge-conv.keras": "weights",
    "zip-bomb.keras": "unpacks to 200 MB",
    "lookup.keras": "'StringLookup', which is not a layer this app accepts",
    "unknown.keras": "'Backdoor', which is not a layer this app accepts",
    "nested.keras": "nests a model",
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_crafted_upload_is_refused_with_one_sentence_naming_it(crafted, name):
    with pytest.raises(ModelFileError) as refused:
        io.load_generator(crafted[name], name="my model.keras")
    message = str(refused.value)
    assert message.startswith("my model.keras "), message
    assert REFUSALS[name] in message, message
    assert "/" not in message and message.count(".") >= 1 and not message.endswith("..")


def test_refusals_happen_before_keras_builds_anything(crafted):
    """In a fresh process, with Keras imported: loading every crafted file grows the process
    by less than 200 MB (the huge Dense alone would take gigabytes once built)."""
    files = json.dumps([str(crafted[name]) for name in REFUSALS])
    script = f"""
import json, time
import keras
from gan import io
def status(field):
    line = next(l for l in open('/proc/self/status') if l.startswith(field))
    return int(line.split()[1]) * 1024
before = status('VmRSS:')
open('/proc/self/clear_refs', 'w').write('5')  # reset the peak to now
for path in json.loads({files!r}):
    started = time.monotonic()
    try:
        io.load_generator(path)
    except io.ModelFileError as error:
        print(f"{{time.monotonic() - started:.3f}} s: {{error}}")
    else:
        raise SystemExit('loaded ' + path)
print('grew', status('VmHWM:') - before)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    print(result.stdout)
    grew = int(result.stdout.split("grew")[-1])
    assert grew < 200 * 2**20, f"the process grew by {grew / 2**20:.0f} MB"


def test_the_limits_are_generous_for_the_models_this_app_makes(tmp_path):
    """Every shipped file passes; a model just under the weight budget passes, just over fails."""
    import keras

    for path in io.MODELS.glob("*.keras"):
        check_model_file(path)
    units = MAX_PARAMS // 65 - 1  # 64 inputs and a bias each
    for size, ok in ((units, True), (units + 2, False)):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(size)])
        path = rewrite(
            _saved(model, tmp_path / "model.keras"), tmp_path / f"{size}.keras", weights=False
        )
        if ok:
            check_model_file(path)
        else:
            with pytest.raises(ModelFileError, match="weights"):
                check_model_file(path)


def _saved(model, path: Path) -> Path:
    model.save(path)
    return path


def test_stated_shapes_that_lie_are_refused(tmp_path):
    """A file may not claim a small input for a layer fed a large one."""
    base = tmp_path / "base.keras"
    small_model().save(base)

    def lie(config):
        layer(config, "wide")["config"]["units"] = 4096  # the next Dense still claims 8 inputs

    with pytest.raises(ModelFileError, match="stated input shape"):
        check_model_file(rewrite(base, tmp_path / "lie.keras", lie, weights=False))


def test_text_renamed_keras_is_not_a_keras_model_file(tmp_path):
    path = tmp_path / "abc123.keras"
    path.write_text("hello")
    with pytest.raises(ModelFileError) as refused:
        io.load_generator(path, name="notamodel.keras")
    assert str(refused.value) == "notamodel.keras is not a Keras model file."


@pytest.mark.parametrize("name", [*PRESETS, *STAGES])
def test_every_presets_networks_pass_the_check_which_counts_their_weights_as_keras_does(
    name, tmp_path, small
):
    from gan.models import build_pair

    preset = find_preset(name)
    for network in build_pair(preset, 16 if preset.digit_code else 8, small.images):
        path = _saved(network, tmp_path / f"{network.name}.keras")
        check_model_file(path)
        config = json.loads(zipfile.ZipFile(path).read("config.json"))
        weights, _ = ModelShapes(config["config"], config["class_name"], path.name).measure()
        assert weights == network.count_params(), network.name
