"""Converters: other implementations' checkpoints -> facegan models (then ``hub.save_pretrained``).

Each converter reads its source as data only (``torch.load(..., weights_only=True)``: tensors
and containers, never code) and raises ``facegan.hub.CheckpointError`` with a clear message
for anything it does not recognise.

- ``pytorch_examples_dcgan``: ``netG_epoch_N.pth`` / ``netD_epoch_N.pth`` of pytorch/examples
  ``dcgan/main.py`` -> a DCGAN with the normal prior.
"""

from __future__ import annotations

SOURCES = {
    "pytorch-examples": "facegan.convert.pytorch_examples_dcgan",
}
