"""The last unclear messages and loose edges of the CLI and API (each says what is wrong, in the
user's terms, and refuses before anything is written)."""

from __future__ import annotations

import pytest

from facegan import cli, models


def one_line_error(capsys, *args) -> str:
    assert cli.main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facegan: error: "), err
    return err[0]


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
