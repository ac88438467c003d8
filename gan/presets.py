"""Presets as data: each classic Keras/TF MNIST GAN recipe is one `Preset` row
(`gan.recipe`).

A preset names its builders (resolved in `gan.models`), the data range its generator
produces, how its loss reads the discriminator, and the recipe's default settings. The
project's own variants of the fast preset are `replace(FAST, ...)`: only what differs.
This module is numpy-free and TensorFlow-free so that forms and `--help` load fast.
"""

from __future__ import annotations

from dataclasses import replace

from gan.recipe import DIGITS, Preset

FAST = Preset(
    name="fast",
    summary="Slim DCGAN for a laptop CPU: digit shapes in a few minutes, no labels.",
    source="this project; a narrow DCGAN with two-timescale Adam and label smoothing",
    generator="fast_generator",
    discriminator="fast_discriminator",
    data_range="tanh",
    d_output="logits",
    update="simultaneous",
    latent_dim=64,
    epochs=5,
    batch_size=64,
    lr_g=5e-4,
    lr_d=5e-4,
    beta_1=0.5,
    real_label=0.9,
    grid=6,
)

FAST_CONDITIONAL = replace(
    FAST,
    name="fast-conditional",
    summary="The fast preset with a class label: pick the digit to draw.",
    source="this project; conditional GAN (Mirza & Osindero 2014) on the fast networks",
    grid=10,
    conditional=True,
)

CODED_DIGITS = replace(
    FAST,
    name="coded-digits",
    summary="A teaching example: the digit is a hard code inside the noise, so walks snap "
    "from one digit to the next (the shipped generator's walks morph). No label input.",
    source="this project, kept from the making of the shipped generator; AC-GAN (Odena et al. "
    "2017) with the class drawn inside G from Gaussian noise, like InfoGAN's categorical code "
    "(Chen et al. 2016): the largest of the first 10 values picks the digit, and D's digit "
    "head (trained on the labels) checks that G drew it",
    grid=10,
    digit_head=1.0,
    digit_code=DIGITS,
    ema=0.999,
)


def by_name(*presets: Preset) -> dict[str, Preset]:
    return {preset.name: preset for preset in presets}


QUICK_DIGITS = replace(
    FAST,
    name="quick-digits",
    summary="Mostly readable digits after 30 s on 2 CPU cores, better with each epoch: G "
    "draws with the training digits' 128 principal components; uses the labels.",
    source="this project; a conditional GAN with a projection discriminator (Miyato & Koyama "
    "2018). G (two Dense layers of 512, the first reading each digit's noise with its own "
    "weights, and a linear shortcut from its noise) draws a "
    "weighted sum of the 128 principal components of 10,000 training digits, computed "
    "without labels when the run starts; D judges every image through that same fixed lens "
    "(a frozen linear feature, as in Projected GANs, Sauer et al. 2021), sees how much the "
    "batch's images of each digit differ (a minibatch standard deviation per digit, after "
    "Karras et al. 2018) and scores each image for its label by projecting its features on "
    "the digit's learned embedding; G's loss adds a mode-seeking term (MSGAN, Mao et al. "
    "2019, weight 0.2) so that two fakes asked for one digit differ as much as their noises "
    "do; both against collapse within a digit. G learns 4 times as fast as D (4e-3 against "
    "1e-3), both rates falling as 1 / (1 + step / 1500); G's moving average is shown and "
    "saved. Measured to improve over 10 epochs "
    "(docs/time_to_digits.md)",
    generator="principal_generator",
    discriminator="principal_discriminator",
    epochs=3,  # 2,811 steps (1-2.5 min here, docs/time_to_digits.md); more epochs are better
    lr_g=4e-3,
    lr_d=1e-3,
    grid=10,
    conditional=True,
    ema=0.995,
    principal_components=128,
    g_width=512,
    d_width=32,
    lr_decay_steps=1500,
    mode_seeking=0.2,
    noise_shortcut=True,
    noise_by_digit=True,
    digit_spread=20.0,
)

# The failure lab's demos (docs/failure_lab.md): unconditional, so that nothing but the game
# keeps G drawing every digit; each fails one classic way, and `gan.detectors` names the
# failure and the one setting that cures it.
PRINCIPAL_UNCONDITIONAL = replace(
    QUICK_DIGITS,
    conditional=False,
    principal_components=64,  # as the demos were measured
    lr_g=1e-3,
    ema=0.0,
    mode_seeking=0.0,
    noise_shortcut=False,
    noise_by_digit=False,
    digit_spread=0.0,
    g_width=0,  # the builder's 256, as the demos were measured
    lr_decay_steps=0,
    grid=6,
    epochs=10,  # about 3.5 min here: time to fail, to be fixed and to recover
)
DEMOS = (
    replace(
        PRINCIPAL_UNCONDITIONAL,
        name="collapse-demo",
        summary="Mode collapse: D learns 70x slower than G, so G settles on the few digits "
        "D likes best. The fix: D's learning rate up to G's.",
        source="this project; quick-digits' networks without labels, lr_d 3e-5 against "
        "lr_g 2e-3: G chases what a nearly still D believes, and nothing tells it that it "
        "repeats itself (the 'Helvetica scenario' of Goodfellow et al. 2014, section 6)",
        lr_g=2e-3,
        lr_d=3e-5,
        group="demo",
        demonstrates="collapse",
    ),
    replace(
        FAST,
        name="strong-d-demo",
        summary="D wins: the original minimax loss and a D that trains 5 times per G step "
        "at 10x G's rate; D rejects every fake, G's gradient vanishes, the grid stays noise. "
        "The fix: the non-saturating loss.",
        source="this project; the fast networks with G minimising log(1 - D(G(z))) as in "
        "Goodfellow et al. 2014, whose gradient vanishes when D is sure (their section 3)",
        g_loss="minimax",
        d_steps=5,
        lr_g=2e-4,
        lr_d=2e-3,
        real_label=1.0,
        epochs=3,
        group="demo",
        demonstrates="vanishing",
    ),
    replace(
        PRINCIPAL_UNCONDITIONAL,
        name="oscillation-demo",
        summary="No settling: learning rates 30x too high with Adam's full momentum; what "
        "G draws swings from digit to digit. The fix: lower learning rates.",
        source="this project; quick-digits' networks without labels at lr 3e-2 and "
        "beta_1 0.9: each step overshoots the other network's last one",
        lr_g=3e-2,
        lr_d=3e-2,
        beta_1=0.9,
        group="demo",
        demonstrates="oscillation",
    ),
)

PRESETS = by_name(
    QUICK_DIGITS,
    FAST,
    FAST_CONDITIONAL,
    CODED_DIGITS,
    Preset(
        name="dcgan",
        summary="TensorFlow tutorial DCGAN: 100-d noise, Conv2DTranspose x3, tanh, BCE.",
        source="tensorflow.org/tutorials/generative/dcgan (same network as the "
        "'DCGAN-100' Keras recipe: Dense/BN/LeakyReLU/Conv2DTranspose G, "
        "Conv/LeakyReLU/Dropout/Dense D)",
        generator="dcgan_generator",
        discriminator="dcgan_discriminator",
        data_range="tanh",
        d_output="logits",
        update="simultaneous",
        latent_dim=100,
        epochs=50,
        batch_size=256,
        lr_g=1e-4,
        lr_d=1e-4,
        beta_1=0.9,
        group="classic",
        grid=4,
    ),
    Preset(
        name="mlp",
        summary="MLP GAN: Dense + LeakyReLU + BatchNorm, data in [-1, 1].",
        source="Keras-GAN gan.py (eriklindernoren), Adam(2e-4, 0.5)",
        generator="mlp_generator",
        discriminator="mlp_discriminator",
        data_range="tanh",
        d_output="probability",
        update="alternating",
        latent_dim=100,
        epochs=30,
        batch_size=32,
        lr_g=2e-4,
        lr_d=2e-4,
        beta_1=0.5,
        group="classic",
        grid=5,
    ),
    Preset(
        name="conv-sigmoid",
        summary="Conv GAN on [0, 1] data with a sigmoid D; reports D accuracy on "
        "real and fake, keeps a generator every 10 epochs.",
        source="Brownlee, 'How to develop a GAN for MNIST' (Keras), Adam(2e-4, 0.5)",
        generator="conv_sigmoid_generator",
        discriminator="conv_sigmoid_discriminator",
        data_range="sigmoid",
        d_output="probability",
        update="alternating",
        latent_dim=100,
        epochs=100,
        batch_size=256,
        lr_g=2e-4,
        lr_d=2e-4,
        beta_1=0.5,
        group="classic",
        grid=5,
        reports_accuracy=True,
        keep_every=10,
    ),
    Preset(
        name="conv-frozen-d",
        summary="Conv GAN, tanh and [-1, 1], generator trained through a combined "
        "model with the discriminator frozen.",
        source="Keras-GAN dcgan.py (eriklindernoren), Adam(2e-4, 0.5)",
        generator="upsampling_generator",
        discriminator="deep_conv_discriminator",
        data_range="tanh",
        d_output="probability",
        update="alternating",
        latent_dim=100,
        epochs=30,
        batch_size=32,
        lr_g=2e-4,
        lr_d=2e-4,
        beta_1=0.5,
        group="classic",
        grid=5,
    ),
    *DEMOS,
)

DEFAULT_PRESET = "quick-digits"

# The two stages of `python -m gan make-default` (gan.default_model), which makes the shipped
# generator: not offered on the Train page (the second starts from the first's generator).
STAGES = by_name(
    replace(
        FAST_CONDITIONAL,
        name="wide-conditional",
        summary="The shipped generator's first stage: fast-conditional on wide networks.",
        source="this project; conditional GAN (Mirza & Osindero 2014): Dense 256 -> "
        "7x7x128 -> 14x14x64 -> 28x28 G, a D of 64 and 128 filters",
        generator="wide_generator",
        discriminator="wide_discriminator",
        epochs=12,
    ),
    replace(
        FAST,
        name="wide-map-digits",
        summary="The shipped generator's second stage: the first stage's generator "
        "recoded so its first two noise values pick the digit on a map, fine-tuned.",
        source="this project; the first stage's label input fed by a code read from where "
        "(z0, z1) lies on a digit map (5 in a central 9-gon, 0 2 8 3 1 7 9 4 6 around it, "
        "each a tenth of the noise), a sparsemax (Martins & Astudillo 2016) of the map's "
        "scores at temperature 0.3 blending two neighbours across a border; an AC-GAN "
        "digit head checks the code's digit",
        generator="wide_generator",
        discriminator="wide_discriminator",
        latent_dim=66,  # the conditional G's 64 noise values and the 2-value map point
        epochs=20,
        lr_g=1e-4,  # fine-tuning: G moves slowly while the fresh D catches up
        grid=10,
        digit_head=3.0,
        digit_code=2,
        code_temperature=0.3,
        ema=0.999,
    ),
)


def find_preset(name: str) -> Preset | None:
    """The preset or `make-default` stage called `name`, or None."""
    return PRESETS.get(name) or STAGES.get(name)
