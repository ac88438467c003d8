"""`python -m gan train|sample|interpolate|evaluate|directions|recode|temper|make-default|presets`
— a public contract scripts rely on.

Bad arguments print one line on stderr and exit with code 2, writing nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

import gan
from gan.config import DATASETS, ConfigError, RunConfig, parse_int
from gan.control import Control
from gan.default_model import SEED
from gan.events import ProgressPrinter
from gan.file_commands import (
    MAX_FRAMES,
    MAX_PATHS,
    MAX_SAMPLES,
    MAX_TEMPERATURE,
    cmd_directions,
    cmd_evaluate,
    cmd_interpolate,
    cmd_recode,
    cmd_sample,
    cmd_temper,
)
from gan.io import check_writable
from gan.presets import DEFAULT_PRESET, PRESETS
from gan.recipe import G_LOSSES, MAX_D_STEPS
from gan.runfolder import GENERATOR, RECORD
from gan.trainer import Trainer


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> None:
        raise ConfigError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gan", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a GAN and write a run folder")
    train.add_argument("--preset", default=DEFAULT_PRESET, help=f"one of {', '.join(PRESETS)}")
    train.add_argument("--latent-dim", help="noise vector length, 1..1024 (preset default)")
    train.add_argument("--epochs", help="passes over the data (preset default)")
    train.add_argument("--batch-size", help="images per step (preset default)")
    train.add_argument("--lr-g", help="generator learning rate (preset default)")
    train.add_argument("--lr-d", help="discriminator learning rate (preset default)")
    train.add_argument("--beta-1", help="Adam beta_1 (preset default)")
    train.add_argument("--g-loss", help=f"G's loss: {' or '.join(G_LOSSES)} (preset default)")
    train.add_argument(
        "--d-steps", help=f"D updates per G update, 1..{MAX_D_STEPS} (preset default)"
    )
    train.add_argument("--seed", default=0, help="seed for noise, shuffling and the grid")
    train.add_argument("--max-seconds", help="wall-clock budget, loading and tracing included")
    train.add_argument("--max-steps", help="stop after this many steps")
    train.add_argument("--train-size", help="train on the first N images only")
    train.add_argument(
        "--checkpoint-every", help="seconds between checkpoints while training (default 30)"
    )
    train.add_argument(
        "--checkpoint-floor", help="least seconds between epoch-end checkpoints (default 5)"
    )
    train.add_argument("--dataset", default="mnist", help=f"one of {', '.join(DATASETS)}")
    train.add_argument("--data", help="a Keras-layout .npz or a folder with the IDX files")
    train.add_argument("--out", required=True, help="run folder to write")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument(
        "--init-from", help="start from another run folder's networks (same shapes): fine-tuning"
    )
    train.add_argument(
        "--xla", action="store_true", help="compile the step with XLA (faster for the conv presets)"
    )

    sample = commands.add_parser("sample", help="draw images from a saved generator")
    sample.add_argument("--model", required=True, help="a generator .keras file")
    sample.add_argument("-n", default="16", help=f"how many images, 1..{MAX_SAMPLES:,}")
    sample.add_argument("--digit", help="0..9, for a conditional or coded-digits generator")
    sample.add_argument("--seed", default="0")
    sample.add_argument("--out", required=True, help=".npy (float32 in [0,1]) or .png (a grid)")

    interpolate = commands.add_parser("interpolate", help="an animated GIF between two latents")
    interpolate.add_argument("--model", required=True, help="a generator .keras file")
    interpolate.add_argument("--steps", default="24", help=f"frames, 2..{MAX_FRAMES}")
    interpolate.add_argument("--method", default="slerp", choices=("slerp", "lerp"))
    interpolate.add_argument("--seed", default="0", help="seed of the start point")
    interpolate.add_argument("--seed-end", default="1", help="seed of the end point")
    interpolate.add_argument("--digit", help="0..9, for a conditional or coded-digits generator")
    interpolate.add_argument(
        "--morph",
        nargs=2,
        metavar=("FROM", "TO"),
        help="morph digit FROM into digit TO (noise from --seed), for a generator that can be "
        "asked for a digit",
    )
    interpolate.add_argument("--fps", default="12", help="frames per second")
    interpolate.add_argument("--out", required=True, help="a .gif file")

    evaluate = commands.add_parser("evaluate", help="sample-quality metrics of a generator")
    evaluate.add_argument("--model", required=True, help="a generator .keras file")
    evaluate.add_argument("-n", default="1000", help=f"how many samples, 100..{MAX_SAMPLES:,}")
    evaluate.add_argument("--seed", default="0")
    evaluate.add_argument(
        "--paths", default="200", help=f"slerp walks for the smoothness figures, 0..{MAX_PATHS:,}"
    )
    evaluate.add_argument("--frames", default="32", help=f"frames per walk, 3..{MAX_FRAMES}")
    evaluate.add_argument("--json", action="store_true", help="end with one JSON line")

    directions = commands.add_parser(
        "directions", help="precompute a generator's principal latent directions (sidecar .npy)"
    )
    directions.add_argument("--model", required=True, help="a generator .keras file")
    directions.add_argument("-k", default="6", help="how many directions, 1..32")

    recode = commands.add_parser(
        "recode",
        help="turn a conditional generator into one whose noise carries the digit: a run "
        "folder to fine-tune with train --init-from",
    )
    recode.add_argument("--model", required=True, help="a conditional generator .keras file")
    recode.add_argument(
        "--preset", default="wide-map-digits", help="coded-digits, or wide-map-digits (a map)"
    )
    recode.add_argument("--out", required=True, help="run folder to write")

    temper = commands.add_parser(
        "temper", help="copy a soft-coded generator to read its digit code at a new temperature"
    )
    temper.add_argument("--model", required=True, help="a generator .keras file with a soft code")
    temper.add_argument(
        "--temperature", required=True, help=f"the code's new temperature, 0..{MAX_TEMPERATURE:g}"
    )
    temper.add_argument("--out", required=True, help="the .keras file to write")

    make = commands.add_parser(
        "make-default", help="make the default generator from scratch (over an hour on 2 cores)"
    )
    make.add_argument("--out", required=True, help="folder for the stages and generator.keras")
    make.add_argument("--seed", default=str(SEED), help=f"seed of every stage (default {SEED})")
    make.add_argument("--data", help="a Keras-layout .npz or a folder with the IDX files")

    commands.add_parser("presets", help="list the presets")
    for command in commands.choices.values():
        command.add_argument(
            "--verbose", action="store_true", help="show TensorFlow's start-up logging"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    started_at = time.monotonic()
    try:
        args = build_parser().parse_args(argv)
        if args.command != "presets" and not (args.verbose or gan.USER_TF_LOGGING):
            quiet_tensorflow()
        return COMMANDS[args.command](args, started_at)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up lines (such as the CUDA probe's "E0000 ...
    failed call to cuInit" on every machine without a GPU) sent to /dev/null, so our own lines
    come first. Python errors still surface: they are raised after stderr is back."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the device probe logs once, here
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def cmd_presets(args: argparse.Namespace, started_at: float) -> int:
    width = max(map(len, PRESETS))
    for name, preset in PRESETS.items():
        default = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name:<{width}}  {preset.summary}{default}")
    return 0


def cmd_train(args: argparse.Namespace, started_at: float) -> int:
    out = Path(args.out)
    overrides = {
        "latent_dim": args.latent_dim,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr_g": args.lr_g,
        "lr_d": args.lr_d,
        "beta_1": args.beta_1,
        "g_loss": args.g_loss,
        "d_steps": args.d_steps,
        "seed": args.seed,
        "max_seconds": args.max_seconds,
        "max_steps": args.max_steps,
        "train_size": args.train_size,
        "checkpoint_every": args.checkpoint_every,
        "checkpoint_floor": args.checkpoint_floor,
        "data_path": args.data,
        "out_dir": str(out),
        "xla": args.xla or None,
        "init_from": args.init_from,
    }
    if args.resume and args.init_from:
        raise ConfigError("--init-from starts a new run from another one; drop --resume.")
    if args.resume:
        if not (out / RECORD).is_file():
            raise ConfigError(f"--resume: {out} holds no run (no run.json).")
        trainer = Trainer.resume(  # what a continued run may change, e.g. to anneal
            out,
            epochs=args.epochs,
            lr_g=args.lr_g,
            lr_d=args.lr_d,
            g_loss=args.g_loss,
            d_steps=args.d_steps,
            max_seconds=args.max_seconds,
            max_steps=args.max_steps,
            checkpoint_every=args.checkpoint_every,
            checkpoint_floor=args.checkpoint_floor,
            data_path=args.data,
            xla=args.xla or None,
        )
    else:
        config = RunConfig.create(args.preset, dataset=args.dataset, **overrides)
        if (out / GENERATOR).exists() or (out / RECORD).exists():
            raise ConfigError(
                f"{out} already holds a run; continue it with --resume or choose another --out."
            )
        trainer = Trainer.create(config)
    check_writable(out)  # after the settings and data are known good: bad input writes nothing
    control = Control()
    signal.signal(signal.SIGINT, lambda *_: _interrupt(control))
    printer = ProgressPrinter(
        trainer.total_steps, trainer.state.step, trainer.preset.reports_accuracy
    )
    end = trainer.run([printer], control, started_at)
    print(f"{end.reason}: {end.message} (step {end.step}, epoch {end.epoch}); run folder: {out}")
    if end.reason == "error":
        return 1
    return 3 if end.reason == "diverged" else 0


def cmd_make_default(args: argparse.Namespace, started_at: float) -> int:
    from gan.default_model import make_default
    from gan.machine import describe

    seed = parse_int("--seed", args.seed, 0, 2**31 - 1)
    out = Path(args.out)
    check_writable(out)
    control = Control()
    signal.signal(signal.SIGINT, lambda *_: _interrupt(control))

    def printer(trainer: Trainer):
        print(f"Stage {trainer.config.preset} into {trainer.config.out_dir}", file=sys.stderr)
        accuracy = trainer.preset.reports_accuracy
        return [ProgressPrinter(trainer.total_steps, trainer.state.step, accuracy)]

    end = make_default(out, seed, args.data, printer, control)
    if end.reason != "finished":
        print(f"{end.reason}: {end.message}; run the same command again to go on.")
        return 1
    minutes = (time.monotonic() - started_at) / 60
    print(f"Made {out / GENERATOR} in {minutes:.0f} min on {describe()}.")
    return 0


def _interrupt(control: Control) -> None:
    """First Ctrl-C: stop after this batch and save. Second: the default abrupt exit."""
    print("\nStopping after this batch and saving; Ctrl-C again to abort.", file=sys.stderr)
    control.stop("interrupted (Ctrl-C)")
    signal.signal(signal.SIGINT, signal.default_int_handler)


COMMANDS = {
    "train": cmd_train,
    "sample": cmd_sample,
    "interpolate": cmd_interpolate,
    "evaluate": cmd_evaluate,
    "directions": cmd_directions,
    "recode": cmd_recode,
    "temper": cmd_temper,
    "make-default": cmd_make_default,
    "presets": cmd_presets,
}
