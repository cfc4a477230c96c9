"""``<repo>@<revision>:<file>``: a foreign StyleGAN2 file (rosinality ``.pt``, stylegan2-ada-pytorch
``.pkl``) on a fake Hugging Face Hub served on 127.0.0.1, downloaded, converted once into the HF cache
and used as a facegan folder, through the library, the CLI and the StyleGAN tab (gradio_client).

The fake Hub and the tmp HF cache are tests/test_hub.py's; the files are built as
tests/test_convert_stylegan.py builds them, the pickle carrying code that an ordinary
``pickle.load`` would run (it would write MARKER).
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_convert_stylegan import NETS, network_pickle, random_model, rosinality_state
from test_hub import FakeHub, hf_cache, point_hf_at  # noqa: F401  (hf_cache: a fixture)

from facegan import cli, hub
from facegan.convert import stylegan as conv
from facegan.studio import Studio

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `apps` is not an installed package
    sys.path.insert(0, str(ROOT))

REPO, REV = "someone/anime-stylegan", "v1"
PT, PKL, DEEP = "010000.pt", "network-snapshot-000100.pkl", "nets/deep/network.pkl"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """The repo's files: a rosinality train.py checkpoint (16 px, with D), a network pickle, junk."""
    folder = tmp_path_factory.mktemp("foreign")
    z, n_mlp, chans = NETS[16]
    g, d = rosinality_state(16, z, n_mlp, chans, seed=1)
    torch.save({"g_ema": g, "d": d}, folder / PT)
    torch.save({"g_ema": g}, folder / "g-only.pt")
    marker = folder / "MARKER"
    (folder / PKL).write_bytes(network_pickle(random_model(7), f"open({str(marker)!r}, 'w').write('ran')\n"))
    (folder / "junk.pt").write_bytes(b"\x00not a checkpoint" * 64)
    (folder / "README.md").write_text("# not a checkpoint\n")
    return folder


@pytest.fixture
def fake(files, hf_cache, monkeypatch):  # noqa: F811
    fake = FakeHub(files, repo_id=REPO, revision=REV)
    fake.files.pop("MARKER", None)
    fake.files[DEEP] = fake.files[PKL]
    point_hf_at(monkeypatch, fake.endpoint)
    yield fake
    fake.stop()


def converted_root(cache: Path, fake: FakeHub) -> Path:
    return cache / "models--someone--anime-stylegan" / hub.CONVERTED_DIR / fake.commit


def pixels(picture) -> np.ndarray:
    with Image.open(picture) if isinstance(picture, (str, Path)) else picture as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def assert_same_model(a, b) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def gets(fake: FakeHub, name: str) -> list:
    return [r for r in fake.file_requests if r[0] == "GET" and r[1].endswith("/" + name)]


# ----------------------------------------------------------------------------- the library


def test_a_rosinality_file_is_converted_once_and_draws_its_faces(fake, files, hf_cache, monkeypatch):  # noqa: F811
    spec = f"{REPO}@{REV}:{PT}"
    sha = hub.sha256_of(files / PT)
    folder = hub.resolve(spec)
    assert folder == converted_root(hf_cache, fake) / f"{sha}-stylegan"  # keyed by commit and sha256
    model = hub.load_folder(folder)
    direct = conv.convert(files / PT)
    assert_same_model(model, direct)
    want = Studio(direct, dtype="float32").face(1, psi=0.7)
    got = Studio(model, dtype="float32").face(1, psi=0.7)
    assert got.code == want.code and (pixels(got.picture) == pixels(want.picture)).all()
    meta = hub.read_config(folder)["converted_from"]
    assert meta["hub"] == {"repo": REPO, "revision": REV, "commit": fake.commit, "file": PT}
    assert meta["file_sha256"] == sha and meta["source"] == conv.ROSINALITY
    assert f"`{REPO}@{fake.commit}:{PT}`" in (folder / hub.CARD_NAME).read_text()
    # nothing half-written beside it: the folder and its lock
    assert sorted(p.name for p in folder.parent.iterdir()) == [f".{sha}.lock", folder.name]

    # Later calls (this process, or a new one that must hash the file again) use that folder: the
    # file is not fetched again and the folder not rewritten; with the Hub gone too.
    config = folder / hub.CONFIG_NAME
    before = (config.stat().st_mtime_ns, config.stat().st_ino, (folder / hub.WEIGHTS_NAME).stat().st_ino)
    n = len(fake.file_requests)
    assert hub.resolve(spec) == folder
    monkeypatch.setattr(hub, "_SHA256_SEEN", {})  # what a new process knows
    assert hub.resolve(spec, technique="stylegan") == folder
    fake.stop()
    assert_same_model(hub.load(spec), direct)
    assert len(fake.file_requests) == n
    assert (config.stat().st_mtime_ns, config.stat().st_ino, (folder / hub.WEIGHTS_NAME).stat().st_ino) == before


def test_a_network_pickle_in_a_subfolder_converts_without_running_its_code(fake, files, hf_cache):  # noqa: F811
    model = hub.load(f"{REPO}@{fake.commit}:{DEEP}", technique="stylegan")  # pinned to the commit this time
    assert not (files / "MARKER").exists()  # the pickle's code never ran ...
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules  # ... nor were its modules imported
    direct = conv.convert(files / PKL)
    assert_same_model(model, direct)
    z = torch.randn(3, model.config.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.generate(z, psi=0.7), direct.generate(z, psi=0.7))
    assert hub.read_config(hub.resolve(f"{REPO}@{fake.commit}:{DEEP}"))["converted_from"]["source"] == conv.NVLABS


def test_the_converters_warnings_name_the_reference_not_the_cache(fake, hf_cache):  # noqa: F811
    spec = f"{REPO}@{REV}:g-only.pt"
    with pytest.warns(conv.UntrainedDiscriminatorWarning) as caught:
        hub.resolve(spec)
    assert all(str(w.message).startswith(spec) and str(hf_cache) not in str(w.message) for w in caught)


def test_concurrent_calls_never_see_half_a_folder(fake, files, hf_cache):  # noqa: F811
    """Four calls at once and a reader watching for the folder: everyone gets the one whole folder."""
    spec = f"{REPO}@{REV}:{PKL}"
    folder = converted_root(hf_cache, fake) / f"{hub.sha256_of(files / PKL)}-stylegan"
    start, done = threading.Barrier(5), threading.Event()
    got, errors, seen = [], [], []

    def call():
        start.wait()
        try:
            got.append(hub.resolve(spec))
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    def watch():
        start.wait()
        while not done.is_set():
            if folder.is_dir():  # the moment it appears it is whole
                seen.append(hub.load_folder(folder).config.image_size)
                return

    threads = [threading.Thread(target=call) for _ in range(4)] + [threading.Thread(target=watch)]
    for t in threads:
        t.start()
    for t in threads[:4]:
        t.join(60)
    done.set()
    threads[4].join(10)
    assert not errors and got == [folder] * 4 and seen == [16]
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([folder.name, f".{folder.name[:64]}.lock"])


def test_a_file_no_converter_reads_is_one_line_naming_it(fake, files, hf_cache):  # noqa: F811
    spec = f"{REPO}@{REV}:junk.pt"
    with pytest.raises(hub.CheckpointError) as e:
        hub.resolve(spec)
    message = str(e.value)
    assert message.startswith(f"{spec} is neither a PyTorch file (torch.save) nor a readable network pickle"), message
    assert "\n" not in message and str(hf_cache) not in message
    assert [p.name for p in converted_root(hf_cache, fake).iterdir()] == [f".{hub.sha256_of(files / 'junk.pt')}.lock"]
    # a suffix no converter reads is refused before anything is downloaded
    with pytest.raises(hub.CheckpointError, match=r"someone/anime-stylegan@v1:README.md: facegan has no converter "
                                                  r"for \.md files \(stylegan from \.pt, \.pth, \.pkl, \.bin\)"):
        hub.resolve(f"{REPO}@{REV}:README.md")
    assert not gets(fake, "README.md")


@pytest.mark.parametrize(("spec", "says"), [
    ("x@y:../../etc/passwd", r"'x' is not a Hub repo id"),
    (f"{REPO}@{REV}:../../etc/passwd", r"'../../etc/passwd' of someone/anime-stylegan@v1 is refused: .* '\.\.'"),
    (f"{REPO}@{REV}:nets/../../x.pkl", r"may not contain '\.\.'"),
    (f"{REPO}@{REV}:/etc/passwd", r"'/etc/passwd' of someone/anime-stylegan@v1 is not a path in the repo"),
    (f"{REPO}@{REV}:nets\\x.pkl", r"is not a path in the repo"),
    (f"{REPO}@{REV}:.git/config", r"not starting with '\.'"),
    (f"{REPO}@{REV}:{'a/' * 9}x.pkl", r"at most 8 parts"),
    (f"{REPO}@{REV}:{'a' * 300}.pkl", r"more than 256 characters"),
    (f"{REPO}@{REV}:net work.pkl", r"each of letters, digits"),
    (f"{REPO}@:{PKL}", r"the revision '' of someone/anime-stylegan is not a branch, tag or commit hash"),
    (f"{REPO}@v1/../main:{PKL}", r"is not a branch, tag or commit hash"),
    (f"{REPO}@{REV}:", r"names no file after the ':'"),
    (f"{REPO}@{REV}:notes.txt", r"no converter for \.txt files"),
])
def test_bad_references_are_refused_before_any_request(fake, spec, says):
    with pytest.raises(hub.CheckpointError, match=says) as e:
        hub.resolve(spec)
    assert "\n" not in str(e.value)
    assert fake.requests == []


def test_a_file_over_the_size_limit_is_not_downloaded(fake, files):
    size = (files / PT).stat().st_size
    with pytest.raises(hub.CheckpointError, match=rf"{REPO}@{REV}:{PT} is .* MB: at most .* MB are downloaded here"):
        hub.download_foreign(REPO, REV, PT, max_bytes=size - 1)
    assert not gets(fake, PT)
    assert hub.download_foreign(REPO, REV, PT, max_bytes=size).is_dir()


@pytest.mark.parametrize(("spec", "says"), [
    (f"{REPO}@{REV}:missing.pt", r"download someone/anime-stylegan@v1:missing.pt: the repo has no such file at .*'v1'"),
    (f"{REPO}@v9:{PT}", r"could not download .*: the repo has no revision 'v9'"),
    (f"nobody/nothing@v1:{PT}", r"could not download nobody/nothing@v1:010000.pt: no such repo on the Hub"),
])
def test_what_the_hub_does_not_have_is_one_line(fake, spec, says):
    with pytest.raises(hub.CheckpointError, match=says) as e:
        hub.resolve(spec)
    assert "\n" not in str(e.value)


def test_offline_without_the_file_says_so(fake, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(hub.CheckpointError, match="not in the HF cache and HF_HUB_OFFLINE is set"):
        hub.resolve(f"{REPO}@{REV}:{PT}")
    assert fake.requests == []


def test_a_technique_without_a_file_converter_is_refused_before_any_request(fake):
    with pytest.raises(hub.CheckpointError, match=r"facegan converts no dcgan checkpoint from a single file"):
        hub.resolve(f"{REPO}@{REV}:{PT}", technique="dcgan")
    assert fake.requests == []


def test_folder_references_are_not_file_references():
    assert hub.parse_ref(f"{REPO}@{REV}:{PT}") is None  # no git revision has a ':'
    assert hub.parse_file_ref(f"{REPO}@{REV}") is None and hub.parse_file_ref("checkpoints/dcgan-anime-64") is None
    assert hub.parse_file_ref(f"{REPO}@refs/pr/1:{DEEP}") == (REPO, "refs/pr/1", DEEP)


# ----------------------------------------------------------------------------- the CLI and the app


def test_cli_generate_from_a_hub_file(fake, files, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert cli.main(["generate", "stylegan", "--checkpoint", f"{REPO}@{REV}:{PT}", "--seed", "1", "--out",
                     str(out)]) == 0
    direct = hub.save_pretrained(conv.convert(files / PT), tmp_path / "direct")
    assert cli.main(["generate", "stylegan", "--checkpoint", str(direct), "--seed", "1", "--out",
                     str(tmp_path / "want.png")]) == 0
    assert pixels(out).shape == (16, 16, 3) and (pixels(out) == pixels(tmp_path / "want.png")).all()
    capsys.readouterr()
    assert cli.main(["generate", "stylegan", "--checkpoint", "x@y:../../etc/passwd", "--seed", "1", "--out",
                     str(tmp_path / "no.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a Hub repo id" in err and not (tmp_path / "no.png").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_stylegan_tab_draws_from_a_hub_file(fake, files, tmp_path):
    """Through the app's API (gradio_client), as a visitor would: the face of the converted file;
    malformed references, local paths and a DCGAN tab asking for a StyleGAN file are refused."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from apps import common
    from apps import stylegan as tab

    spec = f"{REPO}@{REV}:{PT}"
    demo = tab.build_demo()
    for attempt in range(3):  # gradio's launch gives up if its first self-check takes > 3 s (a busy CPU)
        try:
            demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
            break
        except Exception:  # re-raised on the last attempt
            demo.close()
            if attempt == 2:
                raise
    try:
        client = Client(demo.local_url, verbose=False)
        pic, code = client.predict(spec, "3", 0.7, None, "const", 0, api_name="/stylegan_generate")
        want = Studio(hub.load_folder(hub.save_pretrained(conv.convert(files / PT), tmp_path / "direct"))).face(3, 0.7)
        assert code == want.code and (pixels(pic) == pixels(want.picture)).all()
        n = len(fake.requests)
        for bad, says in [("x@y:../../etc/passwd", "is not a Hub repo id"),
                          (f"{REPO}@{REV}:../../../etc/passwd", r"may not contain '\.\.'"),
                          (f"{REPO}@{REV}:/etc/passwd", "is not a path in the repo")]:
            with pytest.raises(AppError, match=says):
                client.predict(bad, "3", 0.7, None, "const", 0, api_name="/stylegan_generate")
        assert len(fake.requests) == n
    finally:
        demo.close()
    with pytest.raises(Exception, match="facegan converts no dcgan checkpoint from a single file"):
        common.load_model("dcgan", spec)
    assert len(fake.requests) == n


def test_the_app_never_reads_a_local_path_written_as_a_hub_file(fake, files, tmp_path, monkeypatch):
    """A folder that happens to be named like the reference, where the app runs: the app downloads
    from the Hub all the same (the CLI, run by the machine's owner, takes the local folder first)."""
    from apps import common
    from facegan.models import stylegan

    spec = f"{REPO}@{REV}:{PT}"
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    local = stylegan.Model(stylegan.Config(image_size=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8,
                                           mbstd_group=2))
    hub.save_pretrained(local, tmp_path / spec)
    assert_same_model(common.load_model("stylegan", spec), conv.convert(files / PT))
    assert gets(fake, PT)
    assert hub.resolve(spec) == Path(spec)
