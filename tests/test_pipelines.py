"""facegan.pipelines: each technique's pipeline from the default, a bundled name, a folder; the CLI on them."""

from __future__ import annotations

import pytest
import torch
from conftest import one_line_error

from facegan import cli, hub, pipelines
from facegan.models import dcgan
from facegan.studio import Studio


@pytest.mark.parametrize("technique", list(pipelines.PIPELINES))
def test_each_pipeline_loads_the_default_and_is_its_wrapper(technique):
    pipe = pipelines.PIPELINES[technique].from_pretrained(dtype="float32")
    manifest = hub.read_manifest(hub.MANIFEST)
    assert pipe.folder == (hub.MANIFEST.parent / manifest[technique]["bundled"]).resolve()
    assert pipe.precision.dtype == torch.float32 and pipe.model.training is False
    assert "bundled" in pipe.notice or "Hub" in pipe.notice


def test_a_bundled_name_a_folder_and_the_wrong_technique(tmp_path):
    by_entry = pipelines.StarGANPipeline.from_pretrained("stargan-anime-fer-64", dtype="float32")
    assert by_entry.folder.name == "stargan-anime-fer-64" and by_entry.groups == ["hair", "eyes", "expression"]
    by_folder_name = pipelines.StyleGANPipeline.from_pretrained("stylegan-anime-64", dtype="float32")
    assert isinstance(by_folder_name, Studio) and by_folder_name.labelled is not None  # its shipped directions
    torch.manual_seed(0)
    folder = hub.save_pretrained(dcgan.Model(dcgan.Config(ngf=8, ndf=8)), tmp_path / "tiny")
    tiny = pipelines.DCGANPipeline.from_pretrained(folder, dtype="float32")
    assert tiny.folder == folder and tiny.model.config.ngf == 8
    assert tiny.face(tiny.random_codes(1, 0)[0]).size == (64, 64)
    with pytest.raises(hub.CheckpointError, match="is a bundled stylegan model, not dcgan"):
        pipelines.DCGANPipeline.from_pretrained("stylegan-anime-64")
    with pytest.raises(hub.CheckpointError, match="is a dcgan checkpoint, not stylegan"):
        pipelines.StyleGANPipeline.from_pretrained(folder)


def test_generate_says_what_to_do_for_a_picture_technique_and_for_no_code(capsys, tmp_path):
    """Two messages that were internal errors: 'Model' object has no attribute 'latent_dim' and
    'stack expects a non-empty TensorList'."""
    line = one_line_error(capsys, "generate", "ugatit", "--out", tmp_path / "g.png")
    assert "ugatit changes a picture you give it" in line and "facegan translate ugatit PICTURE" in line
    line = one_line_error(capsys, "generate", "stargan", "--out", tmp_path / "g.png")
    assert "facegan edit stargan PICTURE" in line
    line = one_line_error(capsys, "generate", "dcgan", "--code", ",", "--out", tmp_path / "g.png")
    assert "--code gives no code" in line
    assert not (tmp_path / "g.png").exists()


def test_the_default_models_notice_is_not_printed_for_every_command(capsys, tmp_path):
    assert cli.main(["generate", "dcgan", "--seed", "1", "--out", str(tmp_path / "g.png")]) == 0
    assert capsys.readouterr().err == ""


def test_a_bad_option_is_refused_before_torch_is_imported():
    """Argument errors come at once (parsing imports no torch: about 0.3 s, not 2 to 20 s)."""
    import subprocess
    import sys

    code = ("import sys\nfrom facegan import cli\n"
            "for argv in (['train', 'dcgan', '--out', 'x', '--steps', '0'], ['generate', 'dcgan', '--count', '0']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit as e:\n        assert e.code == 2\n"
            "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
    assert "steps must be between 1 and" in done.stderr and "count must be between 1 and" in done.stderr
