"""MNIST GAN Studio's engine: config, data, presets, one training loop, latent tools, files.

Importing `gan` is cheap (no TensorFlow); modules that need it import it themselves.
"""

__version__ = "0.1.0"

import os

USER_TF_LOGGING = "TF_CPP_MIN_LOG_LEVEL" in os.environ  # the user chose TensorFlow's logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info logs hide our output
