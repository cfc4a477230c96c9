"""facegan: one browser app, a tab per technique. `python apps/main.py [--port 7860] [--host 127.0.0.1] [--share]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradio as gr

from apps import dcgan, stargan, training, ugatit
from apps.common import checkpoint_choices

MAX_QUEUE = 32  # pending events before new ones are refused: a busy CPU never builds an endless backlog
MAX_UPLOAD = "10mb"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="facegan") as demo:
        gr.Markdown("# facegan\nGenerate and edit anime faces with GANs. Every button is also a "
                    "Python API, a `facegan` command and a `gradio_client` endpoint (see the README).")
        with gr.Tabs():
            with gr.Tab("DCGAN explorer") as dcgan_tab:
                dcgan_ckpt, first_face = dcgan.render()
            with gr.Tab("U-GAT-IT converter") as ugatit_tab:
                ugatit_ckpt = ugatit.render()
            with gr.Tab("StarGAN editor") as stargan_tab:
                stargan_ckpt = stargan.render()
            with gr.Tab("Training"):
                attach, attach_outputs = training.render()
        demo.load(*first_face, api_visibility="private")
        demo.load(attach, outputs=attach_outputs, api_visibility="private")
        # A run finished in the Training tab shows up in the chooser when the tab is opened.
        for tab, chooser, technique in ((dcgan_tab, dcgan_ckpt, "dcgan"), (ugatit_tab, ugatit_ckpt, "ugatit"),
                                        (stargan_tab, stargan_ckpt, "stargan")):
            tab.select(lambda t=technique: gr.Dropdown(choices=checkpoint_choices(t)), outputs=chooser,
                       api_visibility="private", queue=False)
    demo.queue(max_size=MAX_QUEUE, default_concurrency_limit=2)
    return demo


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="The facegan app.")
    # GRADIO_SERVER_NAME/PORT are what Hugging Face Spaces set; flags win over them.
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    p.add_argument("--share", action="store_true", help="also give a public gradio.live link")
    args = p.parse_args(argv)
    build_demo().launch(server_name=args.host, server_port=args.port, share=args.share,
                        max_file_size=MAX_UPLOAD)


if __name__ == "__main__":
    main()
