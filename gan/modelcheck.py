"""Checks on a `.keras` file before Keras builds anything from it.

Keras builds every layer a file's config declares (allocating its weights) before it reads a
single weight, so a 1 KB upload declaring `Dense(2**24)` costs gigabytes. `check_model_file`
reads only the archive's directory and its config: member sizes, the classes it names (Keras
built-in layers and operations this project uses), depth, and the shapes, weights and
activations that config implies, worked out from each layer's config without building it.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

from gan.config import ConfigError

MAX_PARAMS = 20_000_000  # weights a model may declare (the shipped ones: under 2 M)
MAX_ACTIVATIONS = 20_000_000  # values per sample summed over every layer's output
MAX_LAYERS = 500
MAX_NESTING = 40  # JSON nesting of config.json (the shipped models: 9)
MAX_CONFIG_BYTES = 2 * 2**20
MAX_WEIGHTS_BYTES = 4 * MAX_PARAMS + 16 * 2**20  # float32 weights and HDF5's bookkeeping
MEMBERS = {"config.json": MAX_CONFIG_BYTES, "metadata.json": 64 * 2**10}
WEIGHTS = "model.weights.h5"

WEIGHTLESS = {
    "InputLayer", "Activation", "LeakyReLU", "ReLU", "Softmax", "Dropout", "GaussianNoise",
    "Flatten", "Reshape", "Rescaling", "CategoryEncoding", "Concatenate", "Add", "Multiply", "Dot",
    "MaxPooling2D", "AveragePooling2D", "UpSampling2D", "ZeroPadding2D", "Identity",
}  # fmt: skip
WEIGHTED = {"Dense", "Conv2D", "Conv2DTranspose", "BatchNormalization", "LayerNormalization"}
OPS = {  # the Keras operations the project's networks use: codes, sparsemax, digit spread
    **dict.fromkeys(
        ("Split", "Argmax", "ExpandDims", "GreaterEqual", "Greater", "Sum", "Add", "Subtract",
         "Multiply", "TrueDivide", "Matmul", "Einsum", "Maximum", "Power", "Sqrt", "Mean"),
        "keras.src.ops.numpy",
    ),
    "OneHot": "keras.src.ops.nn",
    "Relu": "keras.src.ops.nn",
    "Cast": "keras.src.ops.core",
}  # fmt: skip
SETTINGS_MODULES = ("keras.initializers", "keras.regularizers", "keras.constraints")
MODELS = {"Functional", "Sequential"}


class ModelFileError(ConfigError):
    """A model file is missing, not a Keras model, unsafe, too big or of the wrong shape."""


def check_model_file(path: str | Path, name: str | None = None) -> None:
    """Raise ModelFileError unless the `.keras` file at `path` is one this app may load.
    `name` is what messages call it (default: the file's name)."""
    path = Path(path)
    name = name or path.name
    config = read_config(path, name)
    if nesting(config) > MAX_NESTING:
        raise ModelFileError(f"{name} was refused: its configuration is nested too deeply.")
    if config.get("class_name") not in MODELS:
        raise ModelFileError(f"{name} is not a Keras model file (it holds no model).")
    check_classes(config, name, top=True)
    _, activations = ModelShapes(config["config"], config["class_name"], name).measure()
    if activations > MAX_ACTIVATIONS:
        raise ModelFileError(
            f"{name} was refused: its layers would produce {activations:,} values per image "
            f"(the limit is {MAX_ACTIVATIONS:,})."
        )


def read_config(path: Path, name: str) -> dict:
    """config.json of the archive, after checking what the archive holds and how big it is."""
    not_keras = ModelFileError(f"{name} is not a Keras model file.")
    if not zipfile.is_zipfile(path):
        raise not_keras
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                limit = MEMBERS.get(member.filename)
                if member.filename == WEIGHTS:
                    limit = MAX_WEIGHTS_BYTES
                if limit is None:
                    raise ModelFileError(
                        f"{name} was refused: it holds a file a Keras model file does not "
                        f"({member.filename[:60]!r})."
                    )
                if member.file_size > limit:
                    size, most = member.file_size / 2**20, limit / 2**20
                    raise ModelFileError(
                        f"{name} was refused: its {member.filename} unpacks to "
                        f"{size:,.0f} MB (the limit is {most:,.0f} MB)."
                    )
            with archive.open("config.json") as file:
                text = file.read(MAX_CONFIG_BYTES + 1)  # the header's size could lie
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as error:
        raise not_keras from error
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{name} was refused: its config.json is too large.")
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise not_keras from error
    if not isinstance(config, dict):
        raise not_keras
    return config


def nesting(value: Any) -> int:
    """How deeply lists and dicts nest in `value` (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
    return deepest


def check_classes(config: Any, name: str, top: bool = False) -> None:
    """Every object the config names must be one this app knows; models may not nest."""
    stack = [(config, top)]
    while stack:
        item, is_top = stack.pop()
        if isinstance(item, list):
            stack.extend((child, False) for child in item)
            continue
        if not isinstance(item, dict):
            continue
        if "class_name" in item:
            allowed_class(item, name, is_top)
        stack.extend((child, False) for child in item.values())


def allowed_class(item: dict, name: str, top: bool) -> None:
    """Raise ModelFileError unless `item` names a class this app may build."""
    module, cls = item.get("module"), item.get("class_name")
    if cls == "__keras_tensor__" and module is None:
        return
    if cls in MODELS:
        if top:
            return
        raise ModelFileError(f"{name} was refused: it nests a model inside the model.")
    known = (
        (module == "keras.layers" and cls in WEIGHTLESS | WEIGHTED)
        or OPS.get(cls) == module
        or (module == "keras" and cls in ("DTypePolicy", "FloatDTypePolicy"))
        or (module in SETTINGS_MODULES and isinstance(cls, str) and _keras_has(module, cls))
    )
    if not known:
        raise ModelFileError(
            f"{name} was refused: it uses {str(cls)[:60]!r}, which is not a layer this app accepts."
        )


def _keras_has(module: str, cls: str) -> bool:
    """True if `cls` is a public class of Keras's initializers, regularizers or constraints."""
    import importlib

    return cls.isidentifier() and hasattr(importlib.import_module(module), cls)


class ModelShapes:
    """Each layer's output shape worked out from the configs alone (no weights built); the
    shapes the file states for each layer's inputs must match."""

    def __init__(self, config: dict, kind: str, name: str) -> None:
        self.config, self.kind, self.name = config, kind, name
        self.outputs: dict[tuple[str, int], list] = {}  # (layer, node) -> output tensors
        self.params = self.activations = 0

    def refuse(self, why: str) -> ModelFileError:
        return ModelFileError(f"{self.name} was refused: {why}.")

    def measure(self) -> tuple[int, int]:
        """(weights, output values per sample) over every layer."""
        layers = self.config.get("layers")
        if not isinstance(layers, list) or not layers:
            raise self.refuse("it declares no layers")
        if len(layers) > MAX_LAYERS:
            raise self.refuse(f"it has {len(layers):,} layers (the limit is {MAX_LAYERS})")
        try:
            if self.kind == "Sequential":
                self._sequential(layers)
            else:
                for layer in layers:
                    self._functional(layer)
        except ModelFileError:
            raise
        except Exception as error:  # a config Keras itself would reject
            raise self.refuse(f"its layers do not fit together ({type(error).__name__})") from error
        return self.params, self.activations

    def _sequential(self, layers: list) -> None:
        first = layers[0]
        if first.get("class_name") != "InputLayer":
            raise self.refuse("its first layer is not an input")
        tensors = self._input(first)
        for layer in layers[1:]:
            tensors = self._apply(layer, [tensors[0]], {})

    def _functional(self, layer: dict) -> None:
        name = layer.get("name") or layer.get("config", {}).get("name")
        if layer.get("class_name") == "InputLayer":
            self.outputs[(name, 0)] = self._input(layer)
            return
        nodes = layer.get("inbound_nodes") or []
        for index, node in enumerate(nodes):
            args = self._tensors(node.get("args", []))
            kwargs = self._tensors(node.get("kwargs", {}))
            self.outputs[(name, index)] = self._apply(layer, args, kwargs)

    def _input(self, layer: dict) -> list:
        from keras import KerasTensor

        config = layer.get("config", {})
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        self._check_shape(shape)
        return [KerasTensor(tuple(shape), dtype=config.get("dtype") or "float32")]

    def _check_shape(self, shape: Any) -> None:
        if not isinstance(shape, list | tuple) or not all(
            d is None or (isinstance(d, int) and 0 < d < 2**31) for d in shape
        ):
            raise self.refuse(f"a layer has an unusable shape ({str(shape)[:60]})")
        if any(d is None for d in shape[1:]):
            raise self.refuse("a layer's shape is not fixed")

    def _tensors(self, value: Any) -> Any:
        """The config's node arguments with each stated tensor replaced by the computed one
        (after checking that the stated shape is the computed one)."""
        if isinstance(value, list):
            return [self._tensors(item) for item in value]
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            config = value["config"]
            layer, node, index = config["keras_history"]
            computed = self.outputs.get((layer, node))
            if computed is None or not 0 <= index < len(computed):
                raise self.refuse("a layer reads from a layer that comes later or does not exist")
            tensor = computed[index]
            if list(tensor.shape) != list(config["shape"]):
                raise self.refuse("a layer's stated input shape is not what feeds it")
            return tensor
        if isinstance(value, dict):
            return {key: self._tensors(item) for key, item in value.items()}
        return value

    def _apply(self, layer: dict, args: list, kwargs: dict) -> list:
        """Instantiate the layer from its config (no build), count its weights, return its
        output tensors."""
        import keras

        cls, config = layer["class_name"], dict(layer.get("config") or {})
        config.pop("build_config", None)
        if OPS.get(cls) == layer.get("module"):  # an operation; Add is also a layer's name
            operation = keras.saving.deserialize_keras_object(
                {
                    "module": OPS[cls],
                    "class_name": cls,
                    "config": config,
                    "registered_name": cls,
                }  # fmt: skip
            )
        else:
            operation = getattr(keras.layers, cls).from_config(config)
        kwargs = {k: v for k, v in kwargs.items() if k not in ("mask", "training")}
        first = args[0] if args else None
        inputs = first if isinstance(first, list) else [first]
        shapes = [tuple(t.shape) for t in inputs if hasattr(t, "shape")]  # not constants
        self.params += weights_of(cls, config, shapes)
        if self.params > MAX_PARAMS:  # before any large output shape is worked out
            raise self.refuse(
                f"it declares at least {self.params:,} weights (the limit is {MAX_PARAMS:,})"
            )
        spec = operation.compute_output_spec(*args, **kwargs)
        outputs = list(spec) if isinstance(spec, list | tuple) else [spec]
        for tensor in outputs:
            self._check_shape(list(tensor.shape))
            self.activations += math.prod(tensor.shape[1:])
        return outputs


def weights_of(cls: str, config: dict, shapes: list[tuple]) -> int:
    """How many weights a layer of class `cls` with `config` builds for inputs of `shapes`."""
    if cls not in WEIGHTED:
        return 0
    shape = shapes[0]
    channels_first = config.get("data_format") == "channels_first"
    last = shape[1] if channels_first else shape[-1]
    if cls == "Dense":
        units = int(config["units"])
        return last * units + (units if config.get("use_bias", True) else 0)
    if cls in ("Conv2D", "Conv2DTranspose"):
        filters, kernel = int(config["filters"]), config["kernel_size"]
        kernel = kernel if isinstance(kernel, list | tuple) else (kernel, kernel)
        bias = filters if config.get("use_bias", True) else 0
        return math.prod(int(k) for k in kernel) * last * filters + bias
    axis = config.get("axis", -1)
    axes = axis if isinstance(axis, list | tuple) else [axis]
    size = math.prod(shape[a] for a in axes)
    per_value = 4 if cls == "BatchNormalization" else 2  # gamma, beta (+ moving mean, var)
    return per_value * size
