"""What every tab shares: the checkpoint chooser and turning library errors into gr.Error."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python apps/main.py` from a plain checkout
    sys.path.insert(0, str(ROOT))

import gradio as gr

from facegan import hub, jobs

DEFAULT = "default"  # the chooser's name for the manifest's default checkpoint


@functools.cache
def default_checkpoint(name: str) -> hub.Default:
    """Resolved once per process: Hub (pinned, sha256-checked) or the bundled folder."""
    return hub.default_checkpoint(name)


@functools.lru_cache(maxsize=4)
def _load(folder: str):
    return hub.load_folder(folder)


def load_model(name: str, ref: str | None):
    """The model behind a chooser value: DEFAULT, a checkpoint folder or ``repo@revision``."""
    try:
        folder = default_checkpoint(name).folder if ref in (None, "", DEFAULT) else hub.resolve(ref.strip())
        return _load(str(Path(folder).resolve()))
    except (hub.CheckpointError, ValueError, OSError) as e:
        raise gr.Error(f"Cannot load checkpoint {ref!r}: {e}") from None


def checkpoint_choices(technique: str) -> list[tuple[str, str]]:
    """(label, value) pairs: the default first, then the latest checkpoint of each training run."""
    choices = [(f"default ({default_checkpoint(technique).folder.name})", DEFAULT)]
    for ckpt in jobs.finished_checkpoints(technique=technique):
        choices.append((f"{ckpt.parent.parent.name} / {ckpt.name}", str(ckpt)))
    return choices


def checkpoint_chooser(technique: str) -> tuple[gr.Dropdown, gr.Markdown]:
    """A dropdown of checkpoints (also accepts a typed folder or ``repo@revision``) and the default's notice."""
    with gr.Row():
        dropdown = gr.Dropdown(checkpoint_choices(technique), value=DEFAULT, label="Checkpoint",
                               info="the default, a run trained in the Training tab, a folder, or <hub repo>@<revision>",
                               allow_custom_value=True, scale=4)
        refresh = gr.Button("↻ Refresh list", scale=0, min_width=120)
    notice = gr.Markdown(f"<small>{default_checkpoint(technique).notice}</small>")
    refresh.click(lambda: gr.Dropdown(choices=checkpoint_choices(technique)), outputs=dropdown,
                  api_visibility="private", queue=False)
    return dropdown, notice
