"""facegan: one browser app, a tab per technique.

`python apps/main.py [--port 7860] [--host 127.0.0.1] [--share] [--training on|off] [--auth USER:PASSWORD]
[--data-dir DIR ...] [--checkpoint-dir DIR ...] [--server-rendering]`; see the README's "Hosting it" for what strangers may do.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradio as gr
import torch

from apps import acgan, browser, dcgan, serving, stargan, stylegan, training, ugatit
from apps.common import checkpoint_choices

MAX_QUEUE = 64  # pending events before new ones are refused: a busy CPU never builds an endless backlog
CONCURRENCY = 2  # events computed at once (the others wait in the queue)
MAX_UPLOAD = "10mb"
# Pictures come at the model's size (64 / 128 px); gradio's image box only ever shrinks (object-fit:
# scale-down), so a result is enlarged to its box here, by the browser.
CSS = (".facegan-picture img { object-fit: contain !important; width: 100% !important; height: 100% !important; }"
       # a gallery captioned by face codes (the StyleGAN studio's variations) shows the end, where they differ
       " .facegan-codes .caption-label { direction: rtl; }")
AUTH_ENV = "FACEGAN_AUTH"  # USER:PASSWORD, for hosts where a flag would show in the process list


def build_demo(settings: serving.Settings | None = None) -> gr.Blocks:
    """The whole app; ``settings`` says what the operator allows (default: a local app with training)."""
    serving.configure(settings or serving.Settings())
    # gradio's cache of result files: checked hourly, files older than an hour removed (the example
    # pictures are kept), so a public app does not fill its disk.
    with gr.Blocks(title="facegan", delete_cache=(3600, serving.SCRATCH_AGE_S)) as demo:
        gr.Markdown("# facegan\nGenerate and edit anime faces with GANs. Every button is also a "
                    "Python API, a `facegan` command and a `gradio_client` endpoint (see the README).")
        with gr.Tabs() as tabs:
            with gr.Tab("DCGAN explorer") as dcgan_tab:
                dcgan_ckpt, first_face = dcgan.render()
            with gr.Tab("U-GAT-IT converter", id="ugatit") as ugatit_tab:
                ugatit_ckpt, ugatit_picture, ugatit_direction = ugatit.render()
            with gr.Tab("StarGAN editor", id="stargan") as stargan_tab:
                stargan_ckpt, stargan_picture = stargan.render()
            with gr.Tab("AC-GAN class grid") as acgan_tab:
                acgan_ckpt = acgan.render()
            with gr.Tab("StyleGAN studio") as stylegan_tab:
                studio = stylegan.render()
            with gr.Tab("Training"):
                attach = training.render(serving.SETTINGS.training)
        # The studio's face as the StarGAN editor's / U-GAT-IT converter's picture, that tab opened.
        stylegan.send(studio, "stargan", stargan_picture, tabs, "stargan")
        stylegan.send(studio, "ugatit", ugatit_picture, tabs, "ugatit")
        studio.send["ugatit"].click(ugatit.anime_picture_direction, ugatit_ckpt, ugatit_direction,  # an anime face
                                    api_visibility="private", queue=False)
        demo.load(*first_face, api_visibility="private")
        if browser.enabled():  # the first tab's graph when the page opens, another tab's when it is opened
            demo.load(None, dcgan_ckpt, None, js=browser.preload("dcgan"))
            for tab, chooser, technique in ((dcgan_tab, dcgan_ckpt, "dcgan"), (acgan_tab, acgan_ckpt, "acgan"),
                                            (stylegan_tab, studio.ckpt, "stylegan")):
                for event in (tab.select, chooser.change):
                    event(None, chooser, None, js=browser.preload(technique))
        if attach:
            demo.load(attach[0], outputs=attach[1], api_visibility="private")
        # A run finished in the Training tab shows up in the chooser when the tab is opened.
        for tab, chooser, technique in ((dcgan_tab, dcgan_ckpt, "dcgan"), (ugatit_tab, ugatit_ckpt, "ugatit"),
                                        (stargan_tab, stargan_ckpt, "stargan"), (acgan_tab, acgan_ckpt, "acgan"),
                                        (stylegan_tab, studio.ckpt, "stylegan")):
            tab.select(lambda t=technique: gr.Dropdown(choices=checkpoint_choices(t)), outputs=chooser,
                       api_visibility="private", queue=False)
    demo.queue(max_size=MAX_QUEUE, default_concurrency_limit=CONCURRENCY)
    demo = serving.harden(demo)
    return browser.install(demo) if browser.enabled() else demo


def parse_auth(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise SystemExit(f"facegan: error: --auth / ${AUTH_ENV} is USER:PASSWORD")
    return user, password


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="The facegan app.")
    # GRADIO_SERVER_NAME/PORT are what Hugging Face Spaces set; flags win over them.
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    p.add_argument("--share", action="store_true", help="also give a public gradio.live link")
    p.add_argument("--training", choices=["on", "off"],
                   help="let visitors start training jobs on this machine (default: on for 127.0.0.1, off when "
                        "the app listens elsewhere, shares a link or runs on a Space)")
    p.add_argument("--auth", default=os.environ.get(AUTH_ENV),
                   help=f"USER:PASSWORD asked of every visitor (or ${AUTH_ENV})")
    p.add_argument("--data-dir", action="append", default=[], dest="data_dirs", metavar="DIR",
                   help="a further folder the Training tab may read data from (besides the data root)")
    p.add_argument("--checkpoint-dir", action="append", default=[], dest="checkpoint_dirs", metavar="DIR",
                   help="a further folder of checkpoints the choosers may load (besides the bundled ones, "
                        "the runs root and the Hub cache)")
    p.add_argument("--server-rendering", action="store_true",
                   help="draw every face on the server (default: single faces of the DCGAN, AC-GAN and StyleGAN "
                        "tabs are drawn in the visitor's browser with onnxruntime-web)")
    args = p.parse_args(argv)
    training_on = (args.training == "on") if args.training else serving.training_default(args.host, args.share)
    settings = serving.Settings(training=training_on, data_dirs=args.data_dirs, checkpoint_dirs=args.checkpoint_dirs,
                                browser_rendering=not args.server_rendering)
    print(f"facegan: training {'on' if training_on else 'off'}"
          f"{'' if args.training else ' (default for this host; --training on|off to choose)'}", file=sys.stderr)
    # The cores shared by the events that run at once: on 2 cores, 2 events of 1 thread each answer
    # 13 % more requests under load than 2 of 2 threads fighting (one StarGAN grid alone: 122 vs 97 ms).
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // CONCURRENCY))
    build_demo(settings).launch(server_name=args.host, server_port=args.port, share=args.share,
                                max_file_size=MAX_UPLOAD, auth=parse_auth(args.auth), css=CSS)


if __name__ == "__main__":
    main()
