"""facegan: generate and edit anime / illustration faces with GANs."""

__version__ = "0.1.0"
