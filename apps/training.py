"""Training tab: start, watch, stop and resume `facegan train` jobs on this machine.

The job runs in its own process (facegan.jobs); this tab only reads its folder, so a
page reload or an app restart re-attaches to a running job.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

import gradio as gr
import pandas as pd
from PIL import Image

from apps import serving
from apps.common import DEFAULT, checkpoint_choices, default_checkpoint
from facegan import checks, jobs, models
from facegan import data as data_lib
from facegan.models import acgan
from facegan.train import latest_checkpoint, read_json, read_jsonl


def default_data(technique: str = "dcgan") -> str:
    """The technique's usual data set when this machine has it (its name under the data root), else empty."""
    name = models.spec(technique).default_data
    return name if name and data_lib.data_set(name) else ""


def new_out(technique: str) -> str:
    """A new run's name, ``<technique>-<date>-<time>``, whose folder under the runs root does not
    exist yet (a job started within the same second took the plain one: then -2, -3, ...)."""
    name = f"{technique}-{time.strftime('%Y%m%d-%H%M%S')}"
    root, k = jobs.runs_dir(), 1
    while (root / (name if k == 1 else f"{name}-{k}")).exists():
        k += 1
    return name if k == 1 else f"{name}-{k}"


def _fmt_eta(seconds) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return "–"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def _number(value, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def describe(st: dict) -> str:
    """The status JSON (the page's, which a client may send anything as) -> the summary shown."""
    if not isinstance(st, dict) or st.get("state") in (None, "none"):
        return "No job yet."
    if st.get("state") == "starting":  # the seconds before step 0: which phase it is in
        phase = serving.clean(st["phase"], 200) if isinstance(st.get("phase"), str) else "starting Python and PyTorch"
        return (f"**starting** · {phase}…\n\n"
                f"<small>{serving.clean(str(st.get('run', '')), 200)} · {serving.clean(str(st.get('hardware', '')), 200)}</small>")
    losses = st.get("losses") if isinstance(st.get("losses"), dict) else {}
    losses = " · ".join(f"{k} {_number(v, '.3f')}" for k, v in losses.items())
    st = {k: (serving.clean(v, 200) if isinstance(v, str) else v) for k, v in st.items()}
    lines = [(f"**{st['state']}** · step {st.get('step', 0)} / {st.get('steps', '?')} · "
              f"{_number(st.get('images_per_s') or 0, '.0f')} images/s · ETA {_fmt_eta(st.get('eta_s'))}"),
             f"{losses or 'waiting for the first log step…'}",
             f"<small>{st.get('run', '')} · {st.get('hardware', '')}</small>"]
    if st.get("checkpoint"):
        lines.append(f"<small>latest checkpoint: `{st['checkpoint']}`</small>")
    if st.get("error"):
        lines.append(f"⚠️ {st['error']}")
    return "\n\n".join(lines)


def loss_table(out) -> pd.DataFrame:
    """metrics.jsonl in long form (step, loss, value), the shape gr.LinePlot draws one line per loss
    from; numeric columns even while empty (an empty frame's object columns would make the plot's
    y axis categories, which it then keeps) and for a value a log line has as text."""
    rows = [(rec["step"], k, v) for rec in jobs.metrics(out) for k, v in rec.items() if k.startswith("loss")]
    table = pd.DataFrame(rows, columns=["step", "loss", "value"])
    table["step"] = pd.to_numeric(table["step"], errors="coerce")
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    table = table.dropna(subset=["step", "value"])
    return table.astype({"step": "int64", "value": "float64", "loss": "str"})


def quality_table(out) -> pd.DataFrame:
    """quality.jsonl (a run with --eval-every / the form's "quick figure every") in long form:
    (images seen, figure, value), Inception FID and anime-FD, numeric from the first update."""
    rows = [(r.get("images_seen"), name, r.get(key)) for r in read_jsonl(Path(out) / "quality.jsonl")
            for key, name in (("fid", "FID"), ("anime_fd", "anime-FD"))]
    table = pd.DataFrame(rows, columns=["images_seen", "figure", "value"])
    for col in ("images_seen", "value"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    return table.dropna().astype({"images_seen": "int64", "value": "float64", "figure": "str"})


def quality_of(out: str):
    """The watched run's quality curve (private: the page's timer)."""
    try:
        return plot_value(quality_table(serving.run_folder(out))) if (out or "").strip() else None
    except checks.InputError:
        return gr.skip()


# -- endpoints ------------------------------------------------------------------


def default_model_config(technique: str) -> str:
    """The technique's Config as JSON, less the fields read from the data (StarGAN's labels) and
    those a preset fills (StyleGAN's sizes, None by default): a form that pinned the CPU preset's
    widths would quietly keep them when the user changes "preset"."""
    spec = models.spec(technique)
    from_preset = {f.name for f in dataclasses.fields(spec.Config) if f.default is None}
    fields = dataclasses.asdict(spec.Config())
    skip = set(spec.data_fields) | from_preset
    return json.dumps({k: v for k, v in fields.items() if k not in skip})


def start_from_choices(technique: str) -> list[tuple[str, str]]:
    """"Start from": nothing (random weights), the technique's bundled models, finished runs."""
    return [("nothing (random weights)", ""), *checkpoint_choices(technique)]


def init_folder(technique: str, ref) -> Path | None:
    """A "Start from" value -> the exported model's folder (None: random weights); only what the
    chooser offers (the default, a bundled model, a run's checkpoint), of this technique."""
    ref = (checks.text(ref, "start from", serving.MAX_REF_CHARS) or "").strip()
    if not ref:
        return None
    try:
        folder = default_checkpoint(technique).folder if ref == DEFAULT else serving.resolve_checkpoint(ref)
        found = read_json(Path(folder) / "config.json") or {}
    except (checks.InputError, OSError, ValueError) as e:
        raise serving.refuse(f"start from: {e}") from None
    if found.get("technique") != technique:
        raise serving.refuse(f"start from: {checks.quote(ref)} is not a {technique} checkpoint")
    return Path(folder)


def start(technique: str, data: str, steps: float, batch_size: float, out: str, resume: bool,
          model_config: str = "", gpus: float = 1, init: str = "", eval_every: float = 0):
    """train_start: validate and start a job -> its run name. ``data``: a data set under the data
    root (or the operator's data folders); ``out``: a run name under the runs root; ``model_config``:
    JSON overrides of the technique's Config (ignored on resume, which keeps the run's own);
    ``gpus``: how many of the machine's GPUs the job trains on (DDP; at most those visible);
    ``init``: start from this exported model (``start_from_choices``; "" random weights, ignored on
    resume); ``eval_every``: images between quick quality figures (0: none)."""
    if technique not in models.TECHNIQUES:
        raise serving.refuse(f"technique is one of {', '.join(models.TECHNIQUES)}, not {checks.quote(technique)}")
    name = (checks.text(out, "run", 200) or "").strip() or new_out(technique)
    folder = serving.run_folder(name)
    steps = checks.whole(steps, "steps", 1, checks.MAX_STEPS)
    batch_size = checks.whole(batch_size, "batch size", 1, checks.MAX_BATCH)
    resume = checks.yes_no(resume, "resume")
    gpus = checks.whole(gpus, "GPUs", 1, 1024)  # more than the machine has: refused by jobs.start
    eval_every = checks.whole(eval_every, "quick figure every", 0, 10**12)
    extra, data_path = (["--eval-every", str(eval_every)] if eval_every else []), None
    if not resume:
        spec = models.spec(technique)
        overrides = checks.json_object(model_config, "model config")
        data_path = serving.resolve_data(data, spec.data_separator)
        read = models.read_from_data(technique, data_path, overrides)
        try:
            cfg = models.make_config(technique, {**read, **overrides})  # refused here, not in the job
        except (ValueError, TypeError) as e:
            raise serving.refuse(f"model config is not valid for {technique}: {e}") from None
        if overrides:
            extra += ["--model", json.dumps(overrides)]
        if (folder_init := init_folder(technique, init)) is not None:
            extra += ["--init", str(folder_init)]
        check_folders(technique, data_path, cfg)
    jobs.start(technique, data_path, folder, steps, batch_size, resume, extra_args=extra, gpus=gpus)
    return folder.name


def form_notice(technique: str, out: str, resume: bool) -> str:
    """One line under the form saying what Start will do with it: a new run in which folder, or
    which run it continues from which checkpoint (or why it cannot)."""
    try:
        folder = serving.run_folder(out)
    except checks.InputError as e:
        return f"⚠️ {serving.clean(str(e))}"
    run = read_json(folder / "run.json")
    if resume:
        if not run:
            return f"⚠️ There is no run `runs/{folder.name}` to resume: untick Resume to start a new one."
        if run.get("technique") != technique:
            return (f"⚠️ `runs/{folder.name}` is a {serving.clean(str(run.get('technique')))} run, not {technique}: "
                    "choose it under *Continue a run*, or untick Resume.")
        last = latest_checkpoint(folder)
        return (f"Start continues `runs/{folder.name}` ({technique}) from its checkpoint `{last.name}`." if last else
                f"Start continues `runs/{folder.name}` ({technique}) from step 0: it has no checkpoint yet.")
    if run:
        return (f"⚠️ `runs/{folder.name}` already holds a run: choose it under *Continue a run* to resume it, "
                "or give a new run name.")
    return f"Start trains a new {technique} run in `runs/{folder.name}`."


def existing_runs() -> list[str]:
    """The runs under the runs root that can be continued (they have a run.json), newest first."""
    root = jobs.runs_dir()
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and (p / "run.json").is_file()]
    return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]


def visible_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def class_fields(technique: str, data: str, group: str, top_k, model_config: str):
    """The AC-GAN form fields (label group, top-k) -> the model config JSON with them written in,
    the group choices the data offers, and a line naming the classes the run will have (read from
    the data's labels, nothing decoded). Other techniques: nothing changes."""
    if technique != "acgan":
        return gr.skip(), gr.skip(), ""
    fields = checks.json_object(model_config, "model config")
    top_k = checks.whole(top_k, "top-k", 0, acgan.MAX_CLASSES)
    try:
        path = serving.resolve_data(data)
        groups = acgan.TAG_GROUPS if data_lib.is_tag_set(path) else \
            tuple(g.name for g in data_lib.labels_of(path).groups)
    except (checks.InputError, ValueError, OSError) as e:
        return gr.skip(), gr.skip(), f"Classes: choose a labelled data set ({serving.clean(str(e))})."
    group = group if group in groups else groups[0]
    fields.update(group=group, top_k=top_k)
    names = acgan.data_config(path, {"group": group, "top_k": top_k})["classes"]
    if len(names) < 2:
        return json.dumps(fields), gr.update(choices=list(groups), value=group), \
            f"Classes: this data has {len(names)} {group} class ({', '.join(names)}); AC-GAN needs at least 2."
    shown = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
    return (json.dumps(fields), gr.update(choices=list(groups), value=group),
            f"**{len(names)} classes** of {group}: {shown}")


def check_folders(technique: str, data: str, cfg) -> None:
    """A technique that takes one folder per data set (StarGAN: joined by os.pathsep) gets as many
    as its label spec names; refused here rather than in the job."""
    sep = models.spec(technique).data_separator
    spec = getattr(cfg, "labels", None)
    if not (sep and spec is not None and (data or "").strip()):
        return
    n = len([p for p in data.split(sep) if p.strip()])
    if n != spec.n_datasets:
        names = ", ".join(d.name for d in spec.datasets)
        raise gr.Error(f"the model config's labels name {spec.n_datasets} data set(s) ({names}) but {n} data "
                       f"folder(s) were given: one folder per data set, joined with {sep!r}")


def public_status(st: dict) -> dict:
    """A job's status as a stranger may see it: the run's name, public paths, no server paths."""
    st = dict(st)
    st["run"] = Path(st.pop("out", "")).name
    if st.get("checkpoint"):
        st["checkpoint"] = serving.public(st["checkpoint"])
    return {k: serving.clean(v) if isinstance(v, str) else v for k, v in st.items()}


def status(out: str):
    """train_status: the job's state (JSON), the latest sample grid and the loss table."""
    if not (out or "").strip():
        return {}, None, None
    folder = serving.run_folder(out)
    return public_status(jobs.status(folder)), latest_sample(folder), plot_value(loss_table(folder))


def plot_value(table: pd.DataFrame) -> pd.DataFrame | None:
    """What a plot is sent: None until there is a row. The browser's chart takes its series (the
    colours) from the first table it draws; an empty one leaves it without lines for good."""
    return table if len(table) else None


def latest_sample(out) -> Image.Image | None:
    """The run's latest grid, read here: runs may live outside the folders gradio serves files from."""
    try:
        with Image.open(Path(out) / "samples" / "latest.png") as im:
            return im.convert("RGB")
    except OSError:
        return None


def stop(out: str):
    """train_stop: stop the job after its current step (it writes a checkpoint) -> its state."""
    return public_status(jobs.stop(serving.run_folder(out)))


def attach():
    """On page load: the running job, if any (re-attach after a reload or restart), and the form filled from it."""
    runs = gr.update(choices=existing_runs(), value=None)  # the runs as they are now, not at start-up
    running = jobs.active()
    if not running:
        return "", *[gr.skip()] * 6, runs
    return running.name, *form_of(running.name, resume=False), runs


def form_of(out: str, resume: bool = True):
    """The form as the run ``out`` was started: technique, data, steps, batch, run name, resume."""
    folder = serving.run_folder(out)
    run = read_json(folder / "run.json")
    if not run:
        return [gr.skip()] * 4 + [folder.name, resume]
    tc = run["train_config"]
    sep = models.spec(run["technique"]).data_separator or "\n"
    data = sep.join(serving.public(p) for p in str(run["data"]).split(sep) if p)
    return (run["technique"], data, tc["steps"], tc["batch_size"], folder.name, resume)


# -- layout ---------------------------------------------------------------------


OFF_MESSAGE = ("**Training is turned off on this server.** Its operator leaves it off so that visitors cannot "
               "start long jobs on a shared machine (the default when the app can be reached from other machines).\n\n"
               "To train, run facegan on a machine you own and start the app with training on: "
               "`python apps/main.py --training on`. Or train in a terminal with `facegan train` (see the README).")


def render(enabled: bool = True):
    """The tab's widgets and events. Returns (attach, outputs) for main's page-load event, or None
    when the operator turned training off (then the tab only says so and has no endpoints)."""
    if not enabled:
        gr.Markdown(OFF_MESSAGE)
        return None
    gr.Markdown("Train on a folder of face images (jpg/png/webp, any size: they are resized); U-GAT-IT "
                "takes a folder with trainA/ and trainB/ (and testA/, testB/ for its sample grids); StarGAN a "
                "labelled folder (a tags.csv of hair and eye colours, or one folder per class), or one per data "
                f"set of its labels joined with `{os.pathsep}` (e.g. anime faces and FER2013 expressions). "
                "The job runs in its own process: you can reload the page or restart the app, it goes on. "
                "Finished runs appear in the technique's checkpoint list.")
    with gr.Row():
        technique = gr.Dropdown(list(models.TECHNIQUES), value="dcgan", label="Technique")
        data = gr.Dropdown(serving.data_sets(), value=default_data(), label="Data set", allow_custom_value=True,
                           info="a folder under the data root (or the operator's data folders), e.g. selfie2anime/128; "
                                f"StarGAN: several joined with {os.pathsep!r}")
        out = gr.Textbox(lambda: new_out("dcgan"), label="Run name",  # a fresh name on every page load
                         info="a new run's name (runs live under the runs root); to continue a run, choose it "
                              "under Continue a run")
        continue_run = gr.Dropdown(existing_runs(), value=None, label="Continue a run",
                                   info="an existing run: fills the form and ticks Resume")
    with gr.Row():
        steps = gr.Number(5000, label="Steps", precision=0, minimum=1)
        batch = gr.Number(models.spec("dcgan").batch_size, label="Batch size", precision=0, minimum=1)
        gpus = gr.Number(max(1, visible_gpus()), label="GPUs (the batch size is split over them)", precision=0, minimum=1,
                         maximum=max(1, visible_gpus()), visible=visible_gpus() > 1)
        resume = gr.Checkbox(False, label="Resume the run from its last checkpoint")
    with gr.Row():
        start_from = gr.Dropdown(start_from_choices("dcgan"), value="", label="Start from", allow_custom_value=True,
                                 info="random weights, or an exported model (a bundled one, a run's checkpoint): "
                                      "its G, EMA and D with fresh optimisers; training adds up over days")
        eval_every = gr.Number(0, label="Quick figure every (images)", precision=0, minimum=0,
                               info="FID and anime-FD of 2,000 faces, drawn below as the run trains "
                                    "(dcgan, acgan, stylegan; about 5 min each on one CPU core); 0: none")
    with gr.Row(visible=False) as class_row:  # AC-GAN: which labels are the classes
        group = gr.Dropdown(list(acgan.TAG_GROUPS), value="hair", label="Classes from",
                            info="the label group whose values are the classes (class folders: their group)")
        top_k = gr.Number(0, label="Top-k classes", precision=0, minimum=0,
                          info="0: every class of the group; k: its k most frequent (the article: top 10 vs all)")
        classes_info = gr.Markdown()
    with gr.Accordion("Model config", open=False):
        model_config = gr.Code(default_model_config("dcgan"), language="json", label="JSON (the technique's Config)")
    notice = gr.Markdown(lambda: form_notice("dcgan", new_out("dcgan"), False))
    with gr.Row():
        start_btn = gr.Button("▶ Start", variant="primary")
        stop_btn = gr.Button("■ Stop")
    job_out = gr.Textbox(label="Watching", max_lines=1,
                         info="the run shown below; type a run's name to watch one started with `facegan train` "
                              "under the runs root")
    state = gr.JSON(visible=False)
    summary = gr.Markdown("No job yet.")
    with gr.Row():
        sample = gr.Image(label="Latest samples (EMA generator, fixed inputs)", type="pil", format="png",
                          interactive=False)
        plot = gr.LinePlot(x="step", y="value", color="loss", label="Losses", height=420)
    curve = gr.LinePlot(x="images_seen", y="value", color="figure", height=300,
                        label="Quality while it trains: quick FID and anime-FD (runs started with --eval-every; "
                              "benchmarks/quality_curve.py compares runs)")
    timer = gr.Timer(2.0)

    form = [technique, data, steps, batch, out, resume]
    start_btn.click(start, [technique, data, steps, batch, out, resume, model_config, gpus, start_from, eval_every],
                    job_out,
                    api_name="train_start").success(  # the next job gets a fresh name, not this one's folder
        lambda t: (new_out(t), False, gr.update(choices=existing_runs(), value=None)), technique,
        [out, resume, continue_run], api_visibility="private", queue=False)
    stop_btn.click(stop, [job_out], state, api_name="train_stop").success(  # it can now be continued
        lambda: gr.update(choices=existing_runs()), None, continue_run, api_visibility="private", queue=False)
    continue_run.input(lambda name: form_of(name, resume=True) if name else [gr.skip()] * 6, continue_run, form,
                       api_visibility="private", queue=False)
    for field in (technique, out, resume):  # the notice follows the form
        field.change(form_notice, [technique, out, resume], notice, api_visibility="private", queue=False,
                     show_progress="hidden")
    job_out.change(status, [job_out], [state, sample, plot], api_name="train_status")
    timer.tick(status, [job_out], [state, sample, plot], api_visibility="private", show_progress="hidden")
    timer.tick(quality_of, [job_out], curve, api_visibility="private", show_progress="hidden")
    state.change(describe, state, summary, api_visibility="private", queue=False, show_progress="hidden")
    technique.input(lambda t: (new_out(t), False, default_model_config(t), default_data(t), models.spec(t).batch_size,
                               gr.update(visible=t == "acgan"), None,
                               gr.Dropdown(choices=start_from_choices(t), value="")),
                    technique, [out, resume, model_config, data, batch, class_row, continue_run, start_from],
                    api_visibility="private", queue=False).then(
        class_fields, [technique, data, group, top_k, model_config], [model_config, group, classes_info],
        api_visibility="private", queue=False)
    for field in (group, top_k, data):
        field.input(class_fields, [technique, data, group, top_k, model_config], [model_config, group, classes_info],
                    api_visibility="private", queue=False)
    return attach, [job_out, *form, continue_run]
