"""`python -m gan make-default`: the default generator, made from scratch by one seeded command.

Stage 1 trains a conditional generator (`wide-conditional`). Stage 2 recodes it, so that the
first two noise values pick the digit on the digit map, and fine-tunes it (`wide-map-digits`).
Stage 3 writes `generator.keras`, reading its code at `READ_TEMPERATURE`, and its explorer
directions. Each stage keeps its run folder in the output folder, so a command that was
stopped goes on from where it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from gan import io, runfolder
from gan.config import RunConfig
from gan.control import Control
from gan.events import Callback, EndEvent
from gan.latent import latent_dim_of, recode, set_code_temperature
from gan.presets import STAGES
from gan.trainer import Trainer

SEED = 1
READ_TEMPERATURE = 0.26  # trained at 0.3; read a little colder, fewer shapes between digits
CONDITIONAL, RECODED, FINE_TUNED = "1-conditional", "2-recoded", "3-map"


def make_default(
    out: Path,
    seed: int = SEED,
    data_path: str | None = None,
    callbacks: Callable[[Trainer], Iterable[Callback]] = lambda trainer: (),
    control: Control | None = None,
    **overrides,
) -> EndEvent:
    """Run the three stages into `out`; the end of the last stage run (or of the one that
    stopped). `callbacks(trainer)` gives each stage's listeners; `overrides` change both
    stages' settings (tests make a small one)."""
    out = Path(out)
    settings = {"seed": seed, "data_path": data_path, **overrides}
    end = train_stage(
        RunConfig.create("wide-conditional", out_dir=str(out / CONDITIONAL), **settings),
        callbacks,
        control,
    )
    if end.reason != "finished":
        return end
    if not (out / RECODED / runfolder.GENERATOR).is_file():
        write_recoded(out / CONDITIONAL / runfolder.GENERATOR, out / RECODED, seed)
    fine_tune = RunConfig.create(
        "wide-map-digits",
        init_from=str(out / RECODED),
        out_dir=str(out / FINE_TUNED),
        **settings,
    )
    end = train_stage(fine_tune, callbacks, control)
    if end.reason == "finished" and not (out / runfolder.GENERATOR).is_file():
        write_shipped(out / FINE_TUNED / runfolder.GENERATOR, out / runfolder.GENERATOR)
    return end


def train_stage(config: RunConfig, callbacks, control: Control | None) -> EndEvent:
    """Train one stage into its run folder: from scratch, on from where it stopped, or not
    at all when it has finished."""
    folder = Path(config.out_dir)
    if (folder / runfolder.RECORD).is_file():
        values, state = runfolder.read_record(folder)
        if state.epoch >= values["epochs"]:
            return EndEvent("finished", "made before", state.step, state.epoch)
        trainer = Trainer.resume(folder, data_path=config.data_path)
    else:
        trainer = Trainer.create(config)
    return trainer.run(callbacks(trainer), control)


def write_recoded(conditional_file: Path, folder: Path, seed: int) -> None:
    """The conditional generator recoded into a map-coded one, beside a fresh discriminator:
    the run folder stage 2 starts from."""
    import keras

    from gan.models import build_pair

    conditional = io.load_generator(conditional_file)
    keras.utils.set_random_seed(seed)
    generator, discriminator = build_pair(STAGES["wide-map-digits"], latent_dim_of(conditional) + 2)
    recode(conditional, generator)
    io.save_model(discriminator, folder / runfolder.DISCRIMINATOR)
    io.save_model(generator, folder / runfolder.GENERATOR)  # last: it marks the stage done


def write_shipped(fine_tuned: Path, out: Path) -> None:
    """The fine-tuned generator reading its code at READ_TEMPERATURE, and its directions."""
    from gan.models import latent_directions

    generator = io.load_generator(fine_tuned)
    set_code_temperature(generator, READ_TEMPERATURE)
    io.save_model(generator, out)
    directions = latent_directions(generator)
    io.atomic_write(io.directions_path(out), lambda temp: np.save(temp, directions))
