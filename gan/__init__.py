"""MNIST GAN Studio's engine: config, data, presets, one training loop, latent tools, files.

Importing `gan` is cheap (no TensorFlow); modules that need it import it themselves.
"""

__version__ = "0.1.0"
