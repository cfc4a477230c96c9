"""``facegan push`` / ``hub.push``: a checkpoint folder shared on a fake Hugging Face Hub on 127.0.0.1.

huggingface_hub's own upload path runs (``HfApi.create_repo``, ``create_branch``, ``create_commit``):
the fake Hub answers the endpoints it calls, ``POST /api/repos/create``, ``/api/validate-yaml``,
``/api/models/{repo}/branch/{branch}``, ``/api/models/{repo}/preupload/{revision}`` (every file
"regular", so no LFS or Xet upload is needed) and ``/api/models/{repo}/commit/{revision}`` (NDJSON:
a header, then each file's content in base64), and serves what was committed back through
``/{repo}/resolve/...`` (test_hub's handler), so a push can be downloaded again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from test_hub import REPO, _Handler, _Server, assert_same_state, hf_cache, point_hf_at, tiny_model  # noqa: F401

from facegan import cli, hub


class _PushHandler(_Handler):
    def do_POST(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.requests.append((self.command, self.path))
        fake.auth.append(self.headers.get("Authorization"))
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
        if parts == ["api", "repos", "create"]:
            payload = json.loads(body)
            fake.created.append(payload)
            return self._json({"url": f"{fake.endpoint}/{payload['organization']}/{payload['name']}"})
        if parts == ["api", "validate-yaml"]:
            return self._json({"errors": [], "warnings": []})
        if len(parts) != 6 or parts[:2] != ["api", "models"] or "/".join(parts[2:4]) != fake.repo_id:
            return self._fail(404, "RepoNotFound")
        action, revision = parts[4], parts[5]
        if action == "branch":
            fake.refs.setdefault(revision, fake.refs["main"])
            return self._json({})
        if revision not in fake.refs:
            return self._fail(404, "RevisionNotFound")
        if action == "preupload":
            files = json.loads(body)["files"]
            return self._json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                         for f in files]})
        if action == "commit":
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            assert lines[0]["key"] == "header" and all(line["key"] == "file" for line in lines[1:]), lines
            fake.headers.append(lines[0]["value"])
            fake.files = {**fake.files, **{v["path"]: base64.b64decode(v["content"])
                                           for v in (line["value"] for line in lines[1:])}}
            fake.commits.append({v["path"] for v in (line["value"] for line in lines[1:])})
            commit = hashlib.sha1(f"{fake.repo_id}:{len(fake.commits)}".encode()).hexdigest()
            fake.refs.update({revision: commit, commit: commit})
            return self._json({"commitOid": commit, "commitUrl": f"{fake.endpoint}/{fake.repo_id}/commit/{commit}",
                               "success": True})
        return self._fail(404, "EntryNotFound")

    def _json(self, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class PushHub:
    """One empty model repo (main at an initial commit) that takes commits of regular files."""

    def __init__(self, repo_id: str = REPO):
        self.repo_id = repo_id
        first = hashlib.sha1(b"initial").hexdigest()
        self.refs = {"main": first, first: first}
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.auth: list[str | None] = []
        self.created: list[dict] = []
        self.headers: list[dict] = []
        self.commits: list[set[str]] = []
        self.server = _Server(("127.0.0.1", 0), _PushHandler)
        self.server.fake = self
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def push_hub(hf_cache, monkeypatch):  # noqa: F811
    fake = PushHub()
    point_hf_at(monkeypatch, fake.endpoint)
    yield fake
    fake.stop()


@pytest.fixture
def model():
    return tiny_model()


@pytest.fixture
def folder(tmp_path, model) -> Path:
    """A checkpoint folder as a run leaves it: the three files, a sample grid, and what is not shared."""
    out = hub.save_pretrained(model, tmp_path / "step-000100", card="# tiny dcgan\n\n![samples](samples.png)\n")
    (out / "samples.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    (out / "morph.gif").write_bytes(b"GIF89a...")
    (out / "training_state.pt").write_bytes(b"optimiser state, never uploaded")
    (out / "notes.txt").write_text("private notes\n")
    (out / "sub").mkdir()
    (out / "sub" / "x.png").write_bytes(b"not at the top level")
    return out


def front_matter(card: bytes) -> dict:
    text = card.decode()
    assert text.startswith("---\n"), text
    return yaml.safe_load(text.split("---\n")[1])


def test_push_uploads_exactly_the_checkpoint_and_prints_the_commit(push_hub, folder, model, capsys):
    card_before = (folder / "README.md").read_bytes()
    rc = cli.main(["push", str(folder), REPO, "--private", "--token", "hf_fake_write_token", "--message", "first"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    commit = push_hub.refs["main"]
    assert out.strip() == f"{REPO}@{commit}  {push_hub.endpoint}/{REPO}/commit/{commit}"
    assert push_hub.commits == [{"config.json", "model.safetensors", "README.md", "samples.png", "morph.gif"}]
    for name in ("config.json", "model.safetensors", "samples.png", "morph.gif"):
        assert push_hub.files[name] == (folder / name).read_bytes(), name
    meta = front_matter(push_hub.files["README.md"])
    assert meta["library_name"] == "facegan" and {"facegan", "dcgan"} <= set(meta["tags"])
    assert push_hub.files["README.md"].decode().endswith(card_before.decode())  # the card's text, unchanged
    assert (folder / "README.md").read_bytes() == card_before  # the user's folder is not touched
    assert [(c["organization"], c["name"], c.get("visibility")) for c in push_hub.created] == \
        [("facegan", "tiny-dcgan", "private")]
    assert push_hub.headers[0]["summary"] == "first"
    assert set(push_hub.auth) == {"Bearer hf_fake_write_token"}

    # what was pushed downloads again, pinned to the printed commit
    assert_same_state(hub.load(f"{REPO}@{commit}"), model)


def test_push_keeps_the_cards_metadata_and_commits_to_a_branch(push_hub, folder):
    card = ("---\nlicense: mit\ndatasets: [facegan/anime-faces]\ntags: [anime]\nlibrary_name: facegan\n---\n\n"
            "# tiny dcgan\n")
    (folder / "README.md").write_text(card)
    sha, url = hub.push(folder, REPO, revision="v2-dev")
    assert ("POST", f"/api/models/{REPO}/branch/v2-dev") in push_hub.requests
    assert any(path.startswith(f"/api/models/{REPO}/commit/v2-dev") for _, path in push_hub.requests)
    assert push_hub.refs["v2-dev"] == sha and push_hub.refs["main"] != sha and sha in url
    meta = front_matter(push_hub.files["README.md"])
    assert meta["license"] == "mit" and meta["datasets"] == ["facegan/anime-faces"]
    assert meta["tags"][0] == "anime" and {"facegan", "dcgan"} <= set(meta["tags"])
    assert meta["pipeline_tag"] == "unconditional-image-generation"
    assert (folder / "README.md").read_text() == card


def _no_card(f: Path):
    (f / "README.md").unlink()


def _no_weights(f: Path):
    (f / "model.safetensors").unlink()


def _classifier(f: Path):  # a folder of the three files that is no facegan model (anime-tags-64's kind)
    (f / "config.json").write_text(json.dumps({"kind": "tag-classifier"}))


def _truncated(f: Path):
    (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:100])


def _bad_yaml(f: Path):
    (f / "README.md").write_text("---\nlicense: [mit\n---\n# card\n")


@pytest.mark.parametrize("spoil, says", [
    (_no_card, r"no README\.md in .*push takes a facegan checkpoint folder"),
    (_no_weights, r"no model\.safetensors in"),
    (_classifier, r"config\.json"),
    (_truncated, r"not a readable safetensors file"),
    (_bad_yaml, r"README\.md: its YAML front matter cannot be read"),
])
def test_push_refuses_what_is_not_a_checkpoint_in_one_line(push_hub, folder, capsys, spoil, says):
    spoil(folder)
    rc = cli.main(["push", str(folder), REPO])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and re.search(says, err), err
    assert push_hub.requests == []  # refused before anything reaches the Hub


def test_push_refuses_a_missing_folder_and_a_bad_repo_id(push_hub, folder, tmp_path, capsys):
    for argv, says in ([str(tmp_path / "nothing"), REPO], "is not a folder"), ([str(folder), "no-namespace"],
                                                                               "is not a Hub repo id"):
        rc = cli.main(["push", *argv])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1 and says in err, err
    assert push_hub.requests == []


def test_push_of_a_repo_the_hub_does_not_have_is_one_line(push_hub, folder, capsys):
    rc = cli.main(["push", str(folder), "someone/else"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "could not push" in err and "someone/else" in err, err
