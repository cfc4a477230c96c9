"""What every converter does first: read a foreign checkpoint as data, and check a state_dict."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from facegan.files import CheckpointError, sha256_of

_PICKLED = re.compile(r"GLOBAL ([\w.]+)")  # torch names the first refused global in a few wordings


MAGIC = [(b"\x89PNG", "a PNG picture"), (b"\xff\xd8\xff", "a JPEG picture"), (b"GIF8", "a GIF picture"),
         (b"RIFF", "a RIFF file (a WebP picture or a sound)"), (b"%PDF", "a PDF document"),
         (b"\x1f\x8b", "a gzip archive"), (b"{", "JSON or text")]


def not_pytorch(path: str | Path) -> str | None:
    """What a file is when its first bytes show it is not torch.save's (a zip archive, ``PK``, or a
    pickle, protocol 2 and later ``\\x80``; old ones start with another opcode): None when it may be."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        return "empty"
    if head.startswith(b"PK") or head[:1] == b"\x80":
        return None
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    return None if head[:1] in b"(}]cq" else "a file whose first bytes are neither a zip archive's nor a pickle's"


def load_data_only(path: str | Path, label: str, how_to_save: str, kind: str = "checkpoint"):
    """``torch.load(weights_only=True)`` (torch's restricted unpickler: tensors and containers,
    never code), every failure a CheckpointError that starts with ``label`` and says why.
    ``how_to_save``: how the source saves a state_dict, for files that pickle whole modules."""
    if not Path(path).is_file():
        raise CheckpointError(f"{label}: no such file")
    if (other := not_pytorch(path)) is not None:
        raise CheckpointError(f"{label} is not a readable PyTorch {kind}: it is {other} (torch.save writes a zip "
                              "archive or a pickle)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError (damaged zip), EOFError, ...
        text = str(e)
        found = _PICKLED.search(text)
        if found:
            # torch's own text goes on to suggest weights_only=False: never passed on
            module = " (it looks like torch.save of a whole module)" if found.group(1).startswith("torch.nn.") else ""
            raise CheckpointError(
                f"{label} was refused: it pickles Python objects ({found.group(1)}), not just tensors and plain "
                f"data{module}, and facegan refuses to unpickle objects (they could run code); {how_to_save}") from None
        # torch's lines that say why, without its advice on weights_only or its documentation link
        why = [line.strip() for line in text.splitlines() if line.strip() and "weights_only" not in line
               and "documentation" not in line and "pytorch.org" not in line]
        reason = " ".join(" ".join(why).split())[:200] or type(e).__name__
        raise CheckpointError(f"{label} is not a readable PyTorch {kind}: {reason}") from None


def state_dict_of(obj, label: str, verb: str = "holds") -> dict[str, torch.Tensor]:
    """``obj`` as a non-empty dict of named tensors, without nn.DataParallel's ``module.`` prefix.
    ``verb``: "holds" for a file, "is" for an entry of one."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{label} {verb} a {type(obj).__name__}, not a state_dict (a dict of tensors)")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{label} is not a state_dict: entries that are not named tensors: "
                              f"{', '.join(map(repr, bad[:5]))}")
    state = dict(obj)
    if state and all(k.startswith("module.") for k in state):  # saved from an nn.DataParallel wrapper
        state = {k.removeprefix("module."): v for k, v in state.items()}
    if not state:
        raise CheckpointError(f"{label} is an empty state_dict")
    return state


def provenance(source: str, g_path: str | Path, d_path: str | Path | None, untrained: str,
               names: tuple[str, str] = ("netG", "netD")) -> dict:
    """What ``config.json`` records about a converted source (``hub.save_pretrained(extra_config=...)``):
    the file names and sha256 of G and D (``names``: the keys), and whether D was converted;
    ``untrained`` says what a freshly initialised D's readings are worth."""
    g, d = names
    return {"converted_from": {
        "source": source,
        g: Path(g_path).name, f"{g}_sha256": sha256_of(g_path),
        d: Path(d_path).name if d_path else None,
        f"{d}_sha256": sha256_of(d_path) if d_path else None,
        "discriminator": "converted" if d_path else f"untrained (freshly initialised: {untrained})",
    }}


def listed(names, n: int = 5) -> str:
    """The first ``n`` of ``names``, and how many more: messages name a few, never hundreds."""
    names = list(names)
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def load_checked(net: torch.nn.Module, state: Mapping[str, torch.Tensor], label: str, layout: str) -> None:
    """Load ``state`` into ``net`` after checking that every tensor of ``layout`` (its names: e.g.
    "the official StarGAN Generator (...)") is there, no other, each of its shape and finite;
    ``label`` starts each message (the file, and which net of it)."""
    own = net.state_dict()
    state = dict(state)
    for k in own:  # PyTorch < 0.4.1 saved no num_batches_tracked
        if k.endswith(".num_batches_tracked") and k not in state and k.rsplit(".", 1)[0] + ".running_mean" in state:
            state[k] = torch.zeros((), dtype=torch.long)
    if unexpected := [k for k in state if k not in own]:
        raise CheckpointError(f"{label} has tensors {layout} does not: {listed(unexpected)}")
    if missing := [k for k in own if k not in state]:
        raise CheckpointError(f"{label} lacks tensors of {layout}: {listed(missing)}")
    if wrong := [f"{k} {tuple(v.shape)} (expected {tuple(own[k].shape)})" for k, v in state.items()
                 if v.shape != own[k].shape]:
        raise CheckpointError(f"{label}: tensor shapes do not fit {layout}: {listed(wrong, 3)}")
    if broken := [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]:
        raise CheckpointError(f"{label} has NaN/inf values in {listed(broken, 3)} (a diverged run?)")
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)
