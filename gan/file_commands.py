"""The commands that read or write one generator file: sample, interpolate, evaluate,
directions, recode and temper (`gan.cli` parses their arguments)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gan import io
from gan.config import ConfigError, parse_float, parse_int
from gan.io import check_writable, load_generator
from gan.latent import (
    code_temperature_of,
    digit_mixes,
    interpolate,
    is_conditional,
    latent_dim_of,
    render,
    render_mixed,
    sample_noise,
    set_code_temperature,
    takes_digit,
    tile,
)
from gan.metrics import Judge
from gan.presets import find_preset
from gan.runfolder import DISCRIMINATOR, GENERATOR

MAX_SAMPLES = 10_000
MAX_FRAMES = 500
MAX_PATHS = 2_000
MAX_TEMPERATURE = 10.0


def _load(args: argparse.Namespace):
    """The generator named by --model, and the digit argument checked against it."""
    generator = load_generator(args.model)
    digit = None if args.digit is None else parse_int("--digit", args.digit, 0, 9)
    if digit is not None and not takes_digit(generator):
        raise ConfigError(
            f"{args.model} cannot pick the digit: --digit needs a conditional or "
            "coded-digits model."
        )
    return generator, digit


def cmd_sample(args: argparse.Namespace, started_at: float) -> int:
    n = parse_int("-n", args.n, 1, MAX_SAMPLES)
    seed = parse_int("--seed", args.seed, 0, 2**31 - 1)
    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise ConfigError(f"--out must end in .npy or .png, got {out.name!r}.")
    generator, digit = _load(args)
    noise = sample_noise(n, latent_dim_of(generator), seed)
    digits = None
    if digit is not None:
        digits = np.full(n, digit)
    elif is_conditional(generator):
        digits = np.arange(n) % 10
    images = render(generator, noise, digits)
    if out.suffix == ".npy":
        io.atomic_write(out, lambda temp: np.save(temp, images))
    else:
        io.save_png(tile(images, 10 if digits is not None and digit is None else None), out, 4)
    print(f"wrote {n} samples to {out}")
    return 0


def cmd_interpolate(args: argparse.Namespace, started_at: float) -> int:
    steps = parse_int("--steps", args.steps, 2, MAX_FRAMES)
    seeds = [
        parse_int(name, value, 0, 2**31 - 1)
        for name, value in (("--seed", args.seed), ("--seed-end", args.seed_end))
    ]
    fps = parse_float("--fps", args.fps, 0.0, 60.0)
    out = Path(args.out)
    if out.suffix != ".gif":
        raise ConfigError(f"--out must end in .gif, got {out.name!r}.")
    morph = None if args.morph is None else [parse_int("--morph", d, 0, 9) for d in args.morph]
    if morph is not None and args.digit is not None:
        raise ConfigError("--morph and --digit cannot be combined: a morph sets the digits.")
    generator, digit = _load(args)
    dim = latent_dim_of(generator)
    start, end = (sample_noise(1, dim, seed)[0] for seed in seeds)
    if morph is not None:
        frames = _morph(generator, start, morph, steps)
        what = f"{morph[0]} into {morph[1]}"
    else:
        path = interpolate(start, end, steps, args.method)
        if digit is None and is_conditional(generator):
            digit = 0
        frames = render(generator, path, None if digit is None else np.full(steps, digit))
        what = args.method
    io.save_gif(list(frames[..., 0]), out, fps)
    print(f"wrote {steps} frames ({what}) to {out}")
    return 0


def _morph(generator, noise: np.ndarray, digits: list[int], steps: int) -> np.ndarray:
    """Frames `(steps, 28, 28, 1)` in which digits[0] becomes digits[1], the noise held."""
    from gan.models import digit_mixer

    mixer = digit_mixer(generator)
    if mixer is None:
        raise ConfigError(
            "--morph needs a generator that can be asked for a digit (conditional or coded)."
        )
    path = np.repeat(noise[None], steps, axis=0)
    return render_mixed(mixer, generator, path, digit_mixes(*digits, steps))


def cmd_evaluate(args: argparse.Namespace, started_at: float) -> int:
    n = parse_int("-n", args.n, 100, MAX_SAMPLES)
    seed = parse_int("--seed", args.seed, 0, 2**31 - 1)
    paths = parse_int("--paths", args.paths, 0, MAX_PATHS)
    frames = parse_int("--frames", args.frames, 3, MAX_FRAMES)
    judge, generator = Judge(), load_generator(args.model)
    quality = judge.evaluate_generator(generator, n, seed)
    smoothness = judge.path_smoothness(generator, paths, frames, seed) if paths else None
    for line in quality.report() + (smoothness.report() if smoothness else []):
        print(line)
    if args.json:
        smooth = smoothness.to_dict() if smoothness else None
        print(json.dumps({**quality.to_dict(), "smoothness": smooth}))
    return 0


def cmd_directions(args: argparse.Namespace, started_at: float) -> int:
    from gan.models import latent_directions

    k = parse_int("-k", args.k, 1, 32)
    generator = io.load_generator(args.model)
    out = io.directions_path(args.model)
    io.atomic_write(out, lambda temp: np.save(temp, latent_directions(generator, k)))
    print(f"wrote {k} directions to {out}")
    return 0


def cmd_recode(args: argparse.Namespace, started_at: float) -> int:
    from gan.latent import recode
    from gan.models import build_pair

    recipe = find_preset(args.preset)
    if recipe is None or not recipe.digit_code:
        raise ConfigError("--preset must be one with a digit code: coded-digits, wide-map-digits.")
    out = Path(args.out)
    if (out / GENERATOR).exists():
        raise ConfigError(f"{out} already holds a generator; choose another --out.")
    conditional = load_generator(args.model)
    latent_dim = latent_dim_of(conditional) + recipe.digit_code
    generator, discriminator = build_pair(recipe, latent_dim)
    recode(conditional, generator)
    check_writable(out)
    io.save_model(generator, out / GENERATOR)
    io.save_model(discriminator, out / DISCRIMINATOR)
    size = "" if latent_dim == recipe.latent_dim else f" --latent-dim {latent_dim}"
    print(
        f"Wrote {out / GENERATOR} (the digit code is the first {recipe.digit_code} of its "
        f"{latent_dim} noise values) and a fresh {out / DISCRIMINATOR}. Fine-tune with: "
        f"python -m gan train --preset {args.preset}{size} --init-from {out} --out RUN"
    )
    return 0


def cmd_temper(args: argparse.Namespace, started_at: float) -> int:
    temperature = parse_float("--temperature", args.temperature, 0.0, MAX_TEMPERATURE)
    out = Path(args.out)
    if out.suffix != ".keras":
        raise ConfigError(f"--out must be a .keras file, got {out}.")
    if out.resolve() == Path(args.model).resolve():
        raise ConfigError("--out must not overwrite --model; write a copy.")
    generator = load_generator(args.model)
    before = code_temperature_of(generator)
    set_code_temperature(generator, temperature)
    check_writable(out.parent)
    io.save_model(generator, out)
    print(f"Wrote {out}: its digit code is read at temperature {temperature:g} (was {before:g}).")
    return 0
