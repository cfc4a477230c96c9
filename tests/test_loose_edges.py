"""The last unclear messages and loose edges of the CLI and API (each says what is wrong, in the
user's terms, and refuses before anything is written)."""

from __future__ import annotations

import pytest
from conftest import one_line_error

from facegan import cli, models


def test_an_unknown_model_setting_is_named_with_the_known_ones(capsys, face_folder, tmp_path):
    line = one_line_error(capsys, "train", "dcgan", "--data", face_folder, "--out", tmp_path / "run",
                          "--model", '{"unknown": 1, "ngf": 8}')
    assert "dcgan has no setting 'unknown'" in line and "ngf" in line and "unexpected keyword" not in line
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match=r"stylegan has no setting 'ngf'; its settings are .*z_dim"):
        models.make_config("stylegan", {"ngf": 8})


def test_the_training_tab_names_an_unknown_setting_too(face_folder, tmp_path, monkeypatch):
    import gradio as gr

    from apps import training

    monkeypatch.setenv("FACEGAN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("FACEGAN_DATA", str(face_folder.parent))
    with pytest.raises(gr.Error, match="dcgan has no setting 'unknown'"):
        training.start("dcgan", face_folder.name, 2, 4, "r", False, '{"unknown": 1}')


@pytest.fixture
def exported_run(tmp_path):
    """A run folder (run.json, a sample grid) with a tiny DCGAN checkpoint in it."""
    import json

    import torch

    from facegan import hub
    from facegan.models import dcgan

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"technique": "dcgan"}))
    (run / "samples" / "latest.png").write_bytes(b"png")
    torch.manual_seed(0)
    return hub.save_pretrained(dcgan.Model(dcgan.Config(ngf=8, ndf=8)), run / "checkpoints" / "step-000001")


def test_export_includes_only_files_of_the_run_unless_asked(capsys, exported_run, tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the Hub")
    line = one_line_error(capsys, "export", exported_run, "--out", out, "--include", outside)
    assert "is outside" in line and "--include-outside" in line and not out.exists()
    line = one_line_error(capsys, "export", exported_run, "--out", out, "--include", tmp_path / "missing.png")
    assert "no such file" in line and not out.exists()  # refused before the folder is made
    assert cli.main(["export", str(exported_run), "--out", str(out), "--include",
                     str(exported_run.parent.parent / "samples" / "latest.png")]) == 0
    assert (out / "latest.png").read_bytes() == b"png"
    assert cli.main(["export", str(exported_run), "--out", str(tmp_path / "out2"), "--include", str(outside),
                     "--include-outside"]) == 0
    assert (tmp_path / "out2" / "secret.txt").is_file()


def test_export_manifest_takes_a_name_and_a_folder_under_checkpoints(capsys, exported_run, tmp_path):
    line = one_line_error(capsys, "export", exported_run, "--out", tmp_path / "o", "--manifest", "../../etc")
    assert "an entry is a name of letters" in line and "subpath" not in line
    line = one_line_error(capsys, "export", exported_run, "--out", tmp_path / "o", "--manifest", "dcgan-x")
    assert "must be under" in line and not (tmp_path / "o").exists()


@pytest.mark.parametrize(("out", "says"), [
    ("FOLDER", "is a folder: give a file name in it, such as"),
    ("", "--out is empty: give a file name such as face.png"),
    ("FOLDER/noext", "written as .png, .jpg, .jpeg or .webp"),
    ("/proc/version", "written as .png, .jpg, .jpeg or .webp"),
])
def test_an_out_file_is_checked_before_anything_runs(capsys, tmp_path, out, says):
    out = out.replace("FOLDER", str(tmp_path))
    with pytest.raises(SystemExit) as e:
        cli.main(["generate", "dcgan", "--seed", "1", "--out", out])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "unknown file extension" not in err


def test_a_device_that_does_not_exist_is_named(capsys, face_folder, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["train", "dcgan", "--data", str(face_folder), "--out", str(tmp_path / "run"), "--device", "bogus"])
    err = capsys.readouterr().err
    assert "--device is auto, cpu, cuda or cuda:N" in err and "xla" not in err and not (tmp_path / "run").exists()
    from facegan.train import TrainConfig, Trainer

    with pytest.raises(ValueError, match="device is auto, cpu, cuda or cuda:N"):  # the API says the same
        Trainer("dcgan", face_folder, tmp_path / "api", cfg=TrainConfig(device="tpu", steps=1))


def test_the_training_api_takes_only_a_listed_data_set(tmp_path, monkeypatch):
    """/train_start with data "." trained on the whole data root (detectors/ too)."""
    import gradio as gr
    from PIL import Image

    from apps import serving, training

    root = tmp_path / "data"
    (root / "faces").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(root / "faces" / "a.png")
    (root / "detectors").mkdir()
    (root / "detectors" / "model.xml").write_text("<x/>")
    monkeypatch.setenv("FACEGAN_DATA", str(root))
    monkeypatch.setenv("FACEGAN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(serving, "SETTINGS", serving.Settings())  # no operator folders (another test's app may set some)
    assert serving.data_sets() == ["faces"]
    for data in (".", "detectors", "./", "faces/.."):
        with pytest.raises((gr.Error, ValueError), match="is not one of this app's data sets"):  # gr.Error at the API
            training.start("dcgan", data, 2, 1, "r", False)
    assert serving.resolve_data("faces") == str((root / "faces").resolve())


def test_a_json_object_that_repeats_a_key_is_refused(capsys, face_folder, tmp_path):
    """/stargan_edit's target labels (and every JSON object a user gives): json keeps the last of a
    repeated key; facegan refuses it, as the CLI refuses --set twice."""
    from facegan import checks
    from facegan.editor import parse_target

    with pytest.raises(checks.InputError, match="target labels gives 'hair' twice"):
        parse_target('{"hair": "blue", "hair": "red"}')
    assert parse_target('{"hair": "blue", "eyes": "red"}') == {"hair": "blue", "eyes": "red"}
    with pytest.raises(SystemExit):  # an argument error, before anything runs
        cli.main(["train", "dcgan", "--data", str(face_folder), "--out", str(tmp_path / "run"),
                  "--model", '{"ngf": 8, "ngf": 16}'])
    assert "argument --model: the model config gives 'ngf' twice" in capsys.readouterr().err


def test_studio_messages_use_the_fields_name_and_the_bound_broken():
    from facegan import checks
    from facegan.pipelines import StyleGANPipeline

    st = StyleGANPipeline.from_pretrained(dtype="float32")
    with pytest.raises(checks.InputError, match="face: a seed must be between 0 and"):
        st.face(-1)
    with pytest.raises(checks.InputError, match="faces: 16 to 32 faces .*at least 2 for each of the 8 walking side "
                                                "by side.*got 1,000"):
        st.interpolate(list(range(1000)), 4, "lerp-w", False, 8, 10, 64)
    with pytest.raises(checks.InputError, match="faces: 16 to 32 faces .*got 3"):
        st.interpolate([1, 2, 3], 4, "lerp-w", False, 8, 10, 64)


def test_checkbox_and_text_values_of_the_wrong_type_are_refused():
    from facegan import checks

    assert checks.yes_no(True, "loop") is True
    for bad in ("yes", 1, None, [True]):
        with pytest.raises(checks.InputError, match="loop is true or false"):
            checks.yes_no(bad, "loop")


def test_the_largest_ranking_shows_at_most_32_best_and_worst():
    """/dcgan_rank at 4,096 faces with k 4,096 wrote 8,192 thumbnails (past 60 s on 2 cores); k is
    bounded by what the tab shows (the largest request left: about 6 s, measured in the README)."""
    import gradio as gr

    from apps import dcgan

    with pytest.raises(gr.Error, match="k must be between 1 and 32, got 4096"):
        dcgan.rank("default", 4096, 4096, 0)
    best, worst = dcgan.rank("default", 256, 32, 0)
    assert len(best) == len(worst) == 32
    scores = [float(label.rsplit("D ", 1)[1]) for _, label in best + worst[::-1]]
    assert scores == sorted(scores, reverse=True)


def test_a_picture_or_junk_given_as_weights_says_what_it_is(capsys, tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint at all")
    (tmp_path / "empty.pth").write_bytes(b"")
    for name, says in (("a.png", "it is a PNG picture"), ("junk.pth", "neither a zip archive's nor a pickle's"),
                       ("empty.pth", "it is empty")):
        line = one_line_error(capsys, "convert", "dcgan", "--from", "pytorch-examples", "--netg", tmp_path / name,
                              "--out", tmp_path / "out")
        assert "is not a readable PyTorch state_dict file" in line and says in line and "operand" not in line
    assert not (tmp_path / "out").exists()


def test_a_rendering_is_one_checked_value():
    from facegan import checks
    from facegan.pipelines import StyleGANPipeline
    from facegan.studio import Rendering

    st = StyleGANPipeline.from_pretrained(dtype="float32")
    r = st.rendering(0.7, "", "random", 3)
    assert r == Rendering(psi=0.7, cutoff=None, noise="random", noise_seed=3)
    assert st.face(5, render=r).picture.tobytes() == st.face(5, psi=0.7, noise="random", noise_seed=3).picture.tobytes()
    with pytest.raises(checks.InputError, match="not both"):
        st.face(5, psi=0.5, render=r)
    with pytest.raises(checks.InputError, match=f"cutoff .* between 0 and {st.num_ws}"):
        st.rendering(cutoff=st.num_ws + 1)
    with pytest.raises(checks.InputError, match="psi must be between -2.0 and 2.0"):
        st.face(5, render=Rendering(psi=3))  # a value made elsewhere is checked for this checkpoint too
