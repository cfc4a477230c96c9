"""facegan.hub: checkpoint folders, and downloads from a fake Hugging Face Hub served on 127.0.0.1.

Nothing here touches the network or the real HF cache: the fake Hub is a thread running
``http.server`` that answers ``HEAD``/``GET /{repo}/resolve/{revision}/{filename}`` the way the
Hub does for huggingface_hub's ``hf_hub_download``, and the HF cache is a tmp folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import huggingface_hub
import pytest
import torch
from huggingface_hub import constants as hf_constants
from conftest import ROOT
from safetensors.torch import load_file, save_file

from facegan import hub
from facegan.labels import LabelSpec, anime_labels
from facegan.models import dcgan, stargan

REPO = "facegan/tiny-dcgan"
REV = "v1"


# ----------------------------------------------------------------------------- helpers


def tiny_model(seed: int = 0) -> dcgan.Model:
    """A tiny DCGAN whose BatchNorm buffers are not the defaults, so a round trip must carry them."""
    torch.manual_seed(seed)
    model = dcgan.Model(dcgan.Config(ngf=8, ndf=8))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(123 + seed)
    return model


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        assert torch.equal(sa[k], sb[k]), k


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def point_hf_at(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """huggingface_hub reads HF_ENDPOINT once, at import, into ``constants.ENDPOINT`` and the URL
    template ``hf_hub_url`` formats; set all three."""
    endpoint = endpoint.rstrip("/")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(hf_constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        endpoint + "/{repo_id}/resolve/{revision}/{filename}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _fail(self, code: int, error_code: str, commit: str | None = None) -> None:
        self.send_response(code)
        self.send_header("X-Error-Code", error_code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, body: bool) -> None:
        fake = self.server.fake
        fake.requests.append((self.command, self.path))
        # urlsplit: a request through a forward proxy carries the absolute URL
        parts = urlsplit(self.path).path.lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self._fail(404, "RepoNotFound")
        repo, revision, filename = "/".join(parts[:2]), unquote(parts[3]), unquote("/".join(parts[4:]))
        if repo != fake.repo_id:
            return self._fail(404, "RepoNotFound")
        commit = fake.refs.get(revision)
        if commit is None:
            return self._fail(404, "RevisionNotFound")
        data = fake.files.get(filename)
        if data is None:
            return self._fail(404, "EntryNotFound", commit)
        self.send_response(200)
        self.send_header("X-Repo-Commit", commit)
        if filename.endswith(".safetensors"):  # an LFS file: the Hub names the blob by its sha256
            sha = hashlib.sha256(data).hexdigest()
            self.send_header("ETag", f'"{sha}"')
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Linked-Size", str(len(data)))
        else:  # a plain git file: its git blob sha1
            self.send_header("ETag", f'"{hashlib.sha1(b"blob %d" % len(data) + bytes(1) + data).hexdigest()}"')
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeHub


class FakeHub:
    """One repo at one revision (a tag, and its commit hash), its files copied from a checkpoint folder."""

    def __init__(self, folder: Path, repo_id: str = REPO, revision: str = REV):
        self.repo_id = repo_id
        self.commit = hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()
        self.refs = {revision: self.commit, self.commit: self.commit}
        self.files = {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}
        self.requests: list[tuple[str, str]] = []  # every request, huggingface_hub's own API calls too
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.running = False

    @property
    def file_requests(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.requests if "/resolve/" in path]

    @property
    def weights_sha256(self) -> str:
        return hashlib.sha256(self.files[hub.WEIGHTS_NAME]).hexdigest()


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty HF cache in tmp, online mode, no token, and a fresh huggingface_hub HTTP client."""
    home = tmp_path / "hf_home"
    cache = home / "hub"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HOME", str(home))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_XET_CACHE", str(home / "xet"))
    monkeypatch.setattr(hf_constants, "AGENT_HARNESSES_PATH", str(home / ".agent_harnesses.json"))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN",
                "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    huggingface_hub.close_session()  # its client reads proxy settings when it is created
    yield cache
    huggingface_hub.close_session()


@pytest.fixture
def model() -> dcgan.Model:
    return tiny_model()


@pytest.fixture
def saved(tmp_path, model) -> Path:
    return hub.save_pretrained(model, tmp_path / "ckpt", card="# tiny dcgan\n")


@pytest.fixture
def fake_hub(saved, hf_cache, monkeypatch):
    fake = FakeHub(saved)
    point_hf_at(monkeypatch, fake.endpoint)
    yield fake
    fake.stop()


def write_manifest(folder: Path, bundled_from: Path, **entry) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if bundled_from is not None:
        shutil.copytree(bundled_from, folder / "dcgan-anime-64")
    path = folder / "manifest.json"
    path.write_text(json.dumps({"dcgan": {"bundled": "dcgan-anime-64", **entry}}))
    return path


# ----------------------------------------------------------------------------- save / load


def test_round_trip_is_exact(tmp_path, model, saved):
    assert sorted(p.name for p in saved.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (saved / "README.md").read_text() == "# tiny dcgan\n"
    config = json.loads((saved / "config.json").read_text())
    assert config["technique"] == "dcgan" and config["ngf"] == 8 and config["ndf"] == 8

    loaded = hub.load_folder(saved)
    assert isinstance(loaded, dcgan.Model)
    assert loaded.config == model.config
    assert not loaded.training
    assert_same_state(loaded, model)
    z = model.sample_latent(2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.generate(z), model.eval().generate(z))
    # hub.load takes a folder too; nothing but the checkpoint is left beside it
    assert_same_state(hub.load(str(saved)), model)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_save_replaces_an_existing_checkpoint(tmp_path, saved):
    other = tiny_model(seed=1)
    hub.save_pretrained(other, saved)  # no card this time
    assert_same_state(hub.load_folder(saved), other)
    assert not (saved / "README.md").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_saved_folder_is_not_private(saved):
    # written through a mkdtemp folder (mode 0700), but a checkpoint is meant to be shared
    assert saved.stat().st_mode & 0o755 == 0o755


def test_extra_config_is_kept_and_ignored_by_the_model(tmp_path, model):
    folder = hub.save_pretrained(model, tmp_path / "c", extra_config={"dataset": "anime-faces", "step": 7})
    assert hub.read_config(folder)["dataset"] == "anime-faces"
    assert_same_state(hub.load_folder(folder), model)


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_strict_loading_refuses_other_tensors(saved, change):
    weights = saved / hub.WEIGHTS_NAME
    state = load_file(weights)
    if change == "missing":
        name = "generator.net.1.running_mean"
        del state[name]
    else:
        name = "generator.extra_head.weight"
        state[name] = torch.zeros(3)
    save_file(state, weights)
    with pytest.raises(hub.CheckpointError, match={"missing": "missing", "extra": "unexpected"}[change]) as e:
        hub.load_folder(saved)
    assert name in str(e.value)


def test_weights_of_another_size_are_refused_clearly(saved):
    config = json.loads((saved / "config.json").read_text())
    config["ngf"] = 16  # the tensors were saved with ngf=8
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(hub.CheckpointError, match="shape"):
        hub.load_folder(saved)


@pytest.mark.parametrize("damage", ["no config", "no weights", "bad weights", "bad config", "unknown technique"])
def test_broken_folders_raise_checkpoint_error(saved, damage):
    if damage == "no config":
        (saved / "config.json").unlink()
    elif damage == "no weights":
        (saved / "model.safetensors").unlink()
    elif damage == "bad weights":
        (saved / "model.safetensors").write_bytes(b"not a safetensors file")
    elif damage == "bad config":
        (saved / "config.json").write_text("{not json")
    else:
        (saved / "config.json").write_text(json.dumps({"technique": "stylegan9"}))
    with pytest.raises(hub.CheckpointError, match=re.escape(str(saved))):
        hub.load_folder(saved)


def test_fp16_save_loads_into_fp32(tmp_path, model):
    full = hub.save_pretrained(model, tmp_path / "fp32")
    half = hub.save_pretrained(model, tmp_path / "fp16", dtype=torch.float16)
    raw = load_file(half / hub.WEIGHTS_NAME)
    assert raw["generator.net.0.weight"].dtype == torch.float16
    assert raw["generator.net.1.num_batches_tracked"].dtype == torch.int64  # counters stay integer
    assert (half / hub.WEIGHTS_NAME).stat().st_size < 0.6 * (full / hub.WEIGHTS_NAME).stat().st_size

    loaded = hub.load_folder(half)
    for k, v in model.state_dict().items():
        got = loaded.state_dict()[k]
        assert got.dtype == v.dtype, k
        if v.is_floating_point():
            assert torch.equal(got, v.half().float()), k  # exactly the fp16 rounding, nothing worse
            torch.testing.assert_close(got, v, rtol=1e-3, atol=1e-4)
        else:
            assert torch.equal(got, v), k


# ----------------------------------------------------------------------------- the Hub


def test_load_from_hub_then_from_cache(fake_hub, hf_cache, model):
    loaded = hub.load(f"{REPO}@{REV}")
    assert_same_state(loaded, model)
    assert loaded.config == model.config

    files = fake_hub.file_requests
    assert {(method, path.split("/")[-1]) for method, path in files} == {
        ("HEAD", "config.json"), ("GET", "config.json"), ("HEAD", "model.safetensors"), ("GET", "model.safetensors")}
    assert all(path.startswith(f"/{REPO}/resolve/{REV}/") for _, path in files), files

    folder = hub.resolve(f"{REPO}@{REV}")
    repo_cache = hf_cache / "models--facegan--tiny-dcgan"
    assert folder == repo_cache / "snapshots" / fake_hub.commit
    assert (repo_cache / "refs" / REV).read_text() == fake_hub.commit
    assert hub.sha256_of(folder / hub.WEIGHTS_NAME) == fake_hub.weights_sha256
    assert (folder / "config.json").read_bytes() == fake_hub.files["config.json"]

    # a cached revision is used without asking the Hub again
    n = len(fake_hub.file_requests)
    assert_same_state(hub.load(f"{REPO}@{REV}"), model)
    assert len(fake_hub.file_requests) == n

    # and still loads with the Hub gone
    fake_hub.stop()
    assert not hub.endpoint_reachable(timeout=1)
    assert_same_state(hub.load(f"{REPO}@{REV}"), model)
    assert hub.download(REPO, REV, sha256=fake_hub.weights_sha256) == folder


def test_weights_over_the_size_limit_are_not_downloaded(fake_hub, hf_cache):
    """The app's cap (a visitor may name any repo): refused from the size the Hub declares, before
    any byte of the weights is fetched; under the cap the same call downloads."""
    size = len(fake_hub.files[hub.WEIGHTS_NAME])
    with pytest.raises(hub.CheckpointError, match=r"MB: at most .* MB are downloaded here"):
        hub.download(REPO, REV, max_bytes=size - 1)
    assert not [r for r in fake_hub.file_requests if r[0] == "GET" and r[1].endswith(hub.WEIGHTS_NAME)]
    folder = hub.download(REPO, REV, max_bytes=size)
    assert hub.sha256_of(folder / hub.WEIGHTS_NAME) == fake_hub.weights_sha256


def test_load_by_commit_hash(fake_hub, model):
    assert_same_state(hub.load(f"{REPO}@{fake_hub.commit}"), model)


def test_download_refuses_a_wrong_sha256(fake_hub):
    with pytest.raises(hub.CheckpointError, match="sha256") as e:
        hub.download(REPO, REV, sha256="0" * 64)
    assert "refus" in str(e.value)
    # the cached copy is refused too, and the right sha is accepted
    with pytest.raises(hub.CheckpointError, match="sha256"):
        hub.download(REPO, REV, sha256="0" * 64)
    assert hub.download(REPO, REV, sha256=fake_hub.weights_sha256).is_dir()


def test_unknown_revision_or_repo_is_a_checkpoint_error(fake_hub):
    with pytest.raises(hub.CheckpointError, match="v2"):
        hub.load(f"{REPO}@v2")
    with pytest.raises(hub.CheckpointError, match="nobody/nothing"):
        hub.load("nobody/nothing@v1")


def test_unreachable_hub_is_a_checkpoint_error(hf_cache, monkeypatch):
    point_hf_at(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    t = time.perf_counter()
    with pytest.raises(hub.CheckpointError, match="cannot be reached"):
        hub.load(f"{REPO}@{REV}")
    assert time.perf_counter() - t < 5


def test_offline_mode_does_not_touch_the_network(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(hub.CheckpointError, match="HF_HUB_OFFLINE"):
        hub.download(REPO, REV)
    assert fake_hub.requests == []


def test_hub_reached_through_a_proxy(fake_hub, monkeypatch, model):
    # The Hub's name does not resolve here: only the proxy (the fake Hub, which also answers
    # absolute-URL proxy requests) can reach it, as on a machine that must go through a proxy.
    point_hf_at(monkeypatch, "http://hub.facegan.invalid")
    monkeypatch.setenv("HTTP_PROXY", fake_hub.endpoint)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    huggingface_hub.close_session()
    assert hub.endpoint_reachable(timeout=1)
    assert_same_state(hub.load(f"{REPO}@{REV}"), model)
    assert any(path.startswith(f"http://hub.facegan.invalid/{REPO}/resolve/") for _, path in fake_hub.requests)


def test_default_checkpoint_falls_back_to_bundled_when_hub_unreachable(tmp_path, saved, hf_cache, monkeypatch):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    point_hf_at(monkeypatch, endpoint)
    manifest = write_manifest(tmp_path / "checkpoints", saved, repo=REPO, revision="a" * 40,
                              sha256=hub.sha256_of(saved / hub.WEIGHTS_NAME))
    t = time.perf_counter()
    default = hub.default_checkpoint("dcgan", manifest=manifest)
    assert time.perf_counter() - t < 5
    assert default.source == "bundled"
    assert default.folder == (tmp_path / "checkpoints" / "dcgan-anime-64").resolve()
    assert "bundled" in default.notice and "cannot be reached" in default.notice and endpoint in default.notice
    assert_same_state(hub.load_folder(default.folder), hub.load_folder(saved))


def test_default_checkpoint_from_hub(tmp_path, fake_hub, hf_cache, model):
    bundled_model = tiny_model(seed=5)  # a different bundled model, to tell them apart
    bundled = hub.save_pretrained(bundled_model, tmp_path / "bundled-src")
    manifest = write_manifest(tmp_path / "checkpoints", bundled, repo=REPO, revision=fake_hub.commit,
                              sha256=fake_hub.weights_sha256)
    default = hub.default_checkpoint("dcgan", manifest=manifest)
    assert default.source == "hub", default.notice
    assert default.folder.is_relative_to(hf_cache)
    assert f"{REPO}@{fake_hub.commit}" in default.notice
    assert_same_state(hub.load_folder(default.folder), model)


def test_default_checkpoint_refuses_a_hub_file_with_the_wrong_sha(tmp_path, fake_hub, saved):
    manifest = write_manifest(tmp_path / "checkpoints", saved, repo=REPO, revision=fake_hub.commit, sha256="0" * 64)
    default = hub.default_checkpoint("dcgan", manifest=manifest)
    assert default.source == "bundled"
    assert "sha256" in default.notice


def test_default_checkpoint_without_hub_entry_or_bundled_folder(tmp_path, saved, hf_cache, monkeypatch):
    point_hf_at(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    default = hub.default_checkpoint("dcgan", manifest=write_manifest(tmp_path / "a", saved))
    assert default.source == "bundled" and "no Hub repo" in default.notice
    with pytest.raises(hub.CheckpointError, match="bundled"):
        hub.default_checkpoint("dcgan", manifest=write_manifest(tmp_path / "b", None, repo=REPO, revision="a" * 40))
    with pytest.raises(hub.CheckpointError, match="stylegan"):
        hub.default_checkpoint("stylegan", manifest=write_manifest(tmp_path / "c", saved))


def test_a_manifest_repo_must_be_pinned_to_a_commit_sha(tmp_path, fake_hub, saved):
    """A tag or branch (here one the fake Hub has) is not used: the bundled folder is, and the notice says why."""
    manifest = write_manifest(tmp_path / "checkpoints", saved, repo=REPO, revision=REV,
                              sha256=fake_hub.weights_sha256)
    default = hub.default_checkpoint("dcgan", manifest=manifest)
    assert default.source == "bundled" and not fake_hub.requests
    assert "must be pinned to a 40-hex commit sha" in default.notice and REV in default.notice


def test_the_shipped_manifest_names_hub_repos_only_pinned_to_a_commit():
    for name, entry in hub.read_manifest().items():
        assert "repo" not in entry or re.fullmatch(r"[0-9a-f]{40}", entry.get("revision", "")), name


def test_int8_weights_round_trip_within_half_a_step(tmp_path):
    torch.manual_seed(0)
    model = stargan.Model(stargan.Config(image_size=32, g_conv_dim=16, d_conv_dim=16, g_repeat_num=2, d_repeat_num=4,
                                         labels=LabelSpec.of(anime_labels()))).eval()
    fp16 = hub.save_pretrained(model, tmp_path / "fp16", dtype=torch.float16)
    int8 = hub.save_pretrained(model, tmp_path / "int8", dtype=torch.float16, int8=True)
    size = {p.name: (p / hub.WEIGHTS_NAME).stat().st_size for p in (fp16, int8)}
    assert size["int8"] < 0.6 * size["fp16"]
    raw = load_file(int8 / hub.WEIGHTS_NAME)
    key = "generator.main.0.weight"
    assert raw[key].dtype == torch.int8 and raw[key + hub.SCALE_SUFFIX].shape == (16,)
    assert raw["generator.main.1.weight"].dtype == torch.float16  # a norm's weight stays float16

    loaded = hub.load_folder(int8)
    for k, w in model.state_dict().items():
        if k + hub.SCALE_SUFFIX in raw:  # within half a quantization step of its channel
            step = w.flatten(1).abs().amax(1) / 127
            err = (loaded.state_dict()[k] - w).flatten(1).abs().amax(1)
            assert (err <= step / 2 + 1e-6).all(), k
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    target = {"hair": "blue", "eyes": "red"}
    ref, got = model.edit(x, target), loaded.edit(x, target)
    assert (ref - got).abs().mean() < 0.02 and not torch.equal(ref, got)

    raw[key + hub.SCALE_SUFFIX] = raw[key + hub.SCALE_SUFFIX][:3]  # a scale that does not fit its tensor
    save_file(raw, int8 / hub.WEIGHTS_NAME)
    with pytest.raises(hub.CheckpointError, match="int8"):
        hub.load_folder(int8)


def test_bundled_lists_further_checkpoints_of_a_technique(tmp_path, saved):
    manifest = write_manifest(tmp_path / "checkpoints", saved)
    shutil.copytree(saved, tmp_path / "checkpoints" / "dcgan-other")
    entries = json.loads(manifest.read_text())
    entries["dcgan-other"] = {"technique": "dcgan", "bundled": "dcgan-other"}
    entries["dcgan-gone"] = {"technique": "dcgan", "bundled": "missing-folder"}
    entries["stargan-x"] = {"technique": "stargan", "bundled": "dcgan-other"}
    manifest.write_text(json.dumps(entries))
    assert hub.bundled("dcgan", manifest) == [("dcgan-other", (tmp_path / "checkpoints" / "dcgan-other").resolve())]
    assert [n for n, _ in hub.bundled("stargan", manifest)] == ["stargan-x"]
    assert hub.bundled("ugatit", manifest) == []


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("ref, expected", [
    ("user/repo@v1", ("user/repo", "v1")),
    ("facegan/dcgan-anime-64@main", ("facegan/dcgan-anime-64", "main")),
    ("user/repo@" + "0123456789abcdef" * 2 + "01234567", ("user/repo", "0123456789abcdef" * 2 + "01234567")),
    ("user/repo@refs/pr/1", ("user/repo", "refs/pr/1")),
    ("user/re.po_x@v1.0", ("user/re.po_x", "v1.0")),
    ("user/repo", None),  # no revision: refs must be pinned
    ("user/repo@", None),
    ("repo@v1", None),  # no namespace
    ("@v1", None),
    ("/abs/path@v1", None),
    ("a/b/c@v1", None),
    ("./ckpt@v1", None),
    ("../ckpt@v1", None),
    ("user/re po@v1", None),
    ("user//repo@v1", None),
    ("checkpoints/dcgan", None),
])
def test_parse_ref(ref, expected):
    assert hub.parse_ref(ref) == expected


def test_an_existing_path_is_never_a_ref(tmp_path, monkeypatch, model):
    monkeypatch.chdir(tmp_path)
    hub.save_pretrained(model, Path("user/repo@v1"))
    assert hub.parse_ref("user/repo@v1") is None
    assert hub.resolve("user/repo@v1") == Path("user/repo@v1")
    assert_same_state(hub.load("user/repo@v1"), model)


@pytest.mark.parametrize("ref", ["no/such/folder", "missing-folder", "./ckpt@v1", "user/repo"])
def test_neither_folder_nor_ref(tmp_path, monkeypatch, ref):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(hub.CheckpointError, match="neither a checkpoint folder nor"):
        hub.load(ref)


def test_a_file_is_not_a_checkpoint(saved):
    with pytest.raises(hub.CheckpointError, match="neither a checkpoint folder nor"):
        hub.resolve(saved / hub.WEIGHTS_NAME)


def test_a_folder_that_is_not_a_checkpoint(tmp_path):
    with pytest.raises(hub.CheckpointError, match="config.json"):
        hub.load(tmp_path)


def test_sha256_of(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc" * 1_000_000)
    assert hub.sha256_of(p) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


def test_the_model_line_says_what_a_checkpoint_is(tmp_path):
    """Bundled: the card's summary; a run's checkpoint: images seen from its run; else: not measured."""
    from facegan import hub as hub_lib

    line = hub_lib.summary_line(ROOT / "checkpoints" / "stylegan-anime-64")
    assert line.startswith("**stylegan-anime-64**") and "images seen" in line and "FID" in line and "interim" in line
    run = tmp_path / "myrun"
    (run / "checkpoints" / "step-000200").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"train_config": {"batch_size": 32}}))
    (run / "checkpoints" / "step-000200" / "config.json").write_text(json.dumps({"technique": "dcgan"}))
    line = hub_lib.summary_line(run / "checkpoints" / "step-000200")
    assert line == "**run myrun, step-000200** · 6,400 images seen · no measured figures in its card"
    (tmp_path / "conv").mkdir()
    (tmp_path / "conv" / "config.json").write_text(json.dumps({"converted_from": {"source": "NVlabs/x"}}))
    assert "converted from NVlabs/x" in hub_lib.summary_line(tmp_path / "conv")
