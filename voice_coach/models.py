"""Vosk model management: the manifest, finding an installed model, and a safe download.

Lookup order of :func:`find_vosk_model`: an explicit ``--model PATH``, the environment variable
``VOICE_COACH_VOSK_MODEL``, the models folder (:func:`models_dir`), then the standard Vosk
folders ``/usr/share/vosk`` and ``~/.cache/vosk``. :func:`download` fetches an archive listed in
``models/manifest.toml`` (resumable, retried, SHA-256 checked, extracted without escaping the
destination); ``VOICE_COACH_MODEL_URL`` replaces the URL base (mirrors, tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import posixpath
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from . import __version__
from .errors import ResourceMissing, UsageError

ENV_MODEL = "VOICE_COACH_VOSK_MODEL"
"""Environment variable naming a Vosk model folder to use."""
ENV_URL = "VOICE_COACH_MODEL_URL"
"""Environment variable replacing the manifest URLs' base (the archive file name is kept)."""
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
"""The model ``voice-coach models download`` fetches when no name is given."""
STANDARD_DIRS: tuple[str, ...] = ("/usr/share/vosk", "~/.cache/vosk")
"""Folders where Vosk tools install models, searched after the models folder."""
MANIFEST_FILE = "manifest.toml"
CHUNK_BYTES = 64 * 1024
RETRY_HTTP_CODES = frozenset({408, 429, 500, 502, 503, 504})
HOW_TO_GET = "get one with 'voice-coach models download'"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """One downloadable model from the manifest."""

    name: str
    """Name used on the command line."""
    language: str
    """Language tag, lower case (``en-us``, ``ko``)."""
    url: str
    """Where the zip archive is downloaded from."""
    size: int
    """Archive size in bytes (approximate is fine: it only drives the progress bar)."""
    sha256: str
    """SHA-256 of the archive, 64 lower-case hex digits."""
    folder: str
    """Top folder inside the archive; installed as ``<models dir>/<folder>``."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = MANIFEST_FILE) -> ModelInfo:
        """Build from one manifest table; errors name ``source`` and the entry."""
        entry = data.get("name", "?")

        def fail(problem: str) -> ResourceMissing:
            return ResourceMissing(f"{source}: model entry {entry!r}: {problem}")

        fields = {}
        for key in ("name", "language", "url", "sha256", "folder"):
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                raise fail(f"'{key}' must be a non-empty string")
            fields[key] = value.strip()
        size = data.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise fail("'size' must be a positive whole number of bytes")
        if not re.fullmatch(r"[0-9a-f]{64}", fields["sha256"]):
            raise fail("'sha256' must be 64 lower-case hex digits")
        if urllib.parse.urlsplit(fields["url"]).scheme not in ("http", "https"):
            raise fail("'url' must start with http:// or https://")
        folder = fields["folder"]
        if "/" in folder or "\\" in folder or folder in (".", ".."):
            raise fail("'folder' must be a single folder name")
        unknown = set(data) - {*fields, "size"}
        if unknown:
            raise fail(f"unknown key(s) {', '.join(sorted(unknown))}")
        return cls(size=size, **{k: v.lower() if k == "language" else v for k, v in fields.items()})

    @property
    def filename(self) -> str:
        """The archive's file name (last part of the URL path)."""
        return posixpath.basename(urllib.parse.urlsplit(self.url).path)

    def url_from(self, base: str | None) -> str:
        """The download URL, with the base replaced when ``base`` is given."""
        if not base:
            return self.url
        return base.rstrip("/") + "/" + urllib.parse.quote(self.filename)


# --------------------------------------------------------------------------- manifest


def _checkout_root() -> Path | None:
    """The source checkout holding this package, if running from one (``pyproject.toml``)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _manifest_text() -> tuple[str, str]:
    """The default manifest's text and a name for it in messages."""
    try:
        from importlib.resources import files

        resource = files("voice_coach.manifest") / MANIFEST_FILE
        return resource.read_text(encoding="utf-8"), str(resource)
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        path = Path(__file__).resolve().parent.parent / "models" / MANIFEST_FILE
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise ResourceMissing(
                f"model manifest {MANIFEST_FILE} not found ({exc.strerror}); reinstall voice-coach"
            ) from exc


def load_manifest(path: str | Path | None = None) -> dict[str, ModelInfo]:
    """Models listed in a manifest (default: the packaged one), by name, in file order."""
    if path is None:
        text, source = _manifest_text()
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ResourceMissing(f"model manifest {source}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ResourceMissing(f"model manifest {source} is not valid TOML: {exc}") from exc
    entries = data.get("model", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ResourceMissing(f"model manifest {source}: 'model' must be [[model]] tables")
    manifest: dict[str, ModelInfo] = {}
    for entry in entries:
        info = ModelInfo.from_dict(entry, source)
        if info.name in manifest:
            raise ResourceMissing(f"{source}: model entry {info.name!r} appears twice")
        manifest[info.name] = info
    return manifest


# --------------------------------------------------------------------------- lookup


def models_dir() -> Path:
    """Where downloaded models go: ``models/`` in a checkout, else the user data folder."""
    root = _checkout_root()
    if root is not None:
        return root / "models"
    from platformdirs import user_data_dir

    return Path(user_data_dir("voice-coach", appauthor=False)) / "models"


def search_dirs() -> list[Path]:
    """Folders scanned for installed models, in lookup order."""
    return [models_dir(), *(Path(d).expanduser() for d in STANDARD_DIRS)]


def _missing_parts(path: Path) -> list[str]:
    """What a folder lacks to be a Vosk model (empty when it looks complete)."""
    missing = [p for p in ("am/final.mdl", "conf/model.conf") if not (path / p).is_file()]
    has_graph = (path / "graph/HCLG.fst").is_file() or (
        (path / "graph/HCLr.fst").is_file() and (path / "graph/Gr.fst").is_file()
    )
    if not has_graph:
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return missing


def validate_vosk_model(path: str | Path) -> Path:
    """Return ``path`` if it is a Vosk model folder; else raise :class:`ResourceMissing`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ResourceMissing(f"Vosk model folder {path} does not exist; {HOW_TO_GET}")
    if not path.is_dir():
        hint = " (unzip it first)" if path.suffix.lower() == ".zip" else ""
        raise ResourceMissing(f"Vosk model {path} is not a folder{hint}; {HOW_TO_GET}")
    usable = _usable(path)
    if usable is None:
        inner = [p for p in _subfolders(path) if not _missing_parts(p)]
        hint = f" (did you mean {inner[0]}?)" if inner else ""
        missing = ", ".join(_missing_parts(path))
        raise ResourceMissing(f"{path} is not a Vosk model: missing {missing}{hint}; {HOW_TO_GET}")
    return usable


def _subfolders(folder: Path) -> list[Path]:
    """Visible sub-folders, sorted by name; an unreadable folder has none."""
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


_VOSK_NAME = re.compile(r"vosk-model-(?:small-)?([a-z]{2,3})(?:-([a-z]{2}))?(?:-|$)")


def folder_language(name: str, manifest: Mapping[str, ModelInfo] | None = None) -> str | None:
    """Language of an installed model folder: from the manifest, else from the Vosk naming."""
    for info in (manifest or {}).values():
        if info.folder == name:
            return info.language
    match = _VOSK_NAME.match(name.lower())
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)


def language_matches(model_language: str, wanted: str) -> bool:
    """True when a model's language serves the wanted one (``en`` accepts ``en-us``)."""
    model_language, wanted = model_language.lower(), wanted.lower()
    return model_language == wanted or model_language.startswith(wanted + "-")


def _scan(folder: Path, language: str, manifest: Mapping[str, ModelInfo]) -> Path | None:
    """The first valid model of ``language`` in ``folder``: manifest order, then by name."""
    order = {info.folder: i for i, info in enumerate(manifest.values())}
    candidates = sorted(_subfolders(folder), key=lambda p: (order.get(p.name, len(order)), p.name))
    for candidate in candidates:
        found_language = folder_language(candidate.name, manifest)
        if found_language is None or not language_matches(found_language, language):
            continue
        usable = _usable(candidate)
        if usable is not None:
            return usable
    return None


def _usable(folder: Path) -> Path | None:
    """``folder`` when it is a complete model, else a complete model folder of the same name
    inside it (unzipping into a folder of the model's name nests it: ``x/x``)."""
    missing = _missing_parts(folder)
    if not missing:
        return folder
    inner = folder / folder.name
    if inner.is_dir() and not _missing_parts(inner):
        log.debug("using %s, inside %s", inner, folder)
        return inner
    log.debug("skipping %s: missing %s", folder, ", ".join(missing))
    return None


def find_vosk_model(explicit: str | Path | None = None, language: str = "en") -> Path | None:
    """The Vosk model folder to use, or None when no model of ``language`` is installed.

    An explicit path and ``VOICE_COACH_VOSK_MODEL`` are used whatever their language, and raise
    :class:`ResourceMissing` when invalid; scanned folders must be of ``language``. Cheap: checks
    files only, never loads a model.
    """
    if explicit is not None and str(explicit) != "":
        return validate_vosk_model(explicit)
    from_env = os.environ.get(ENV_MODEL, "").strip()
    if from_env:
        try:
            return validate_vosk_model(from_env)
        except ResourceMissing as exc:
            raise ResourceMissing(
                f"{ENV_MODEL}={from_env}: {exc}; or point {ENV_MODEL} at a model folder, "
                "or unset it"
            ) from exc
    try:
        manifest = load_manifest()
    except ResourceMissing as exc:
        log.warning("%s", exc)
        manifest = {}
    for folder in search_dirs():
        found = _scan(folder, language, manifest)
        if found is not None:
            return found
    return None


def installed_path(info: ModelInfo) -> Path | None:
    """Where a manifest model is installed (first valid copy in :func:`search_dirs`), if any."""
    for folder in search_dirs():
        candidate = folder / info.folder
        if candidate.is_dir() and (usable := _usable(candidate)) is not None:
            return usable
    return None


# --------------------------------------------------------------------------- download


class _Retryable(Exception):
    """A network failure worth another try (connection refused/reset, timeout, 5xx)."""


class _Progress:
    """A one-line text progress bar; in place on a TTY, occasional lines otherwise."""

    def __init__(self, stream: TextIO | None, label: str) -> None:
        self.stream, self.label = stream, label
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.total, self.last_time, self.next_step, self.open_line = 0, 0.0, 0, False

    def say(self, message: str) -> None:
        """Print one message line (ends an in-place bar first)."""
        if self.stream is None:
            return
        self.end()
        print(message, file=self.stream, flush=True)

    def start(self, done: int, total: int) -> None:
        """Begin (or resume) a transfer of ``total`` bytes, ``done`` of them already there."""
        self.total = max(total, 1)
        self.next_step = (100 * done // self.total) // 25 * 25 + 25
        self.update(done, force=True)

    def update(self, done: int, force: bool = False) -> None:
        """Show ``done`` bytes transferred."""
        if self.stream is None:
            return
        percent = min(100, 100 * done // self.total)
        text = f"{self.label}: {done / 1e6:.1f} of {self.total / 1e6:.1f} MB ({percent}%)"
        if self.tty:
            now = time.monotonic()
            if force or now - self.last_time >= 0.2 or done >= self.total:
                self.stream.write("\r" + text)
                self.stream.flush()
                self.last_time, self.open_line = now, True
        elif force or percent >= self.next_step:
            print(text, file=self.stream, flush=True)
            self.next_step = percent // 25 * 25 + 25

    def end(self) -> None:
        """Finish an in-place bar with a newline."""
        if self.open_line and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.open_line = False


def _reason(exc: BaseException) -> str:
    """A short human reason for a network error."""
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(getattr(reason, "strerror", None) or reason) or type(reason).__name__


OVERSIZE = 1.5
"""A download is stopped once it is this many times the manifest's size (a wrong address, a
server sending without end)."""
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse | None:
    """Open the URL from byte ``offset``; None when the server says the range is past the end."""
    headers = {"User-Agent": f"voice-coach/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return None
        if exc.code in RETRY_HTTP_CODES:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from exc
        raise ResourceMissing(
            f"cannot download {url}: the server answered HTTP {exc.code} {exc.reason}; "
            f"check the address, and {ENV_URL} if it is set"
        ) from exc
    except _NETWORK_ERRORS as exc:
        raise _Retryable(_reason(exc)) from exc


def _fetch_once(url: str, part: Path, size_hint: int, progress: _Progress, timeout: float) -> None:
    """Download into ``part``, resuming it when the server honours the Range request."""
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    if response is None:
        return  # the part file already holds everything; the checksum decides
    with response:
        resumed = offset > 0 and response.status == 206
        if offset and not resumed:
            progress.say(f"the server ignored the resume request; starting {part.name} again")
            offset = 0
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        progress.start(offset, offset + length if length is not None else size_hint)
        most = int(size_hint * OVERSIZE) + CHUNK_BYTES
        received = 0
        with part.open("ab" if resumed else "wb") as out:
            try:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    received += len(chunk)
                    progress.update(offset + received)
                    if offset + received > most:
                        out.truncate(0)
                        raise ResourceMissing(
                            f"cannot download {url}: the server sent more than "
                            f"{most / 1e6:.0f} MB for an archive of about {size_hint / 1e6:.0f} "
                            f"MB; check the address, and {ENV_URL} if it is set"
                        )
            except _NETWORK_ERRORS as exc:
                raise _Retryable(_reason(exc)) from exc
            finally:
                progress.end()
    if length is not None and received < length:
        raise _Retryable(f"connection closed after {offset + received} of {offset + length} bytes")


@dataclass(frozen=True)
class _FetchOptions:
    """Network behaviour of one download."""

    retries: int
    """Further attempts after the first one fails."""
    backoff: float
    """Seconds before the first retry; doubles each time."""
    timeout: float
    """Seconds to wait for the server on connect and on each read."""


def _fetch(url: str, part: Path, info: ModelInfo, progress: _Progress, opts: _FetchOptions) -> None:
    """Download with retries and exponential back-off; raise _Retryable after the last try."""
    for attempt in range(opts.retries + 1):
        if attempt:
            delay = opts.backoff * 2 ** (attempt - 1)
            progress.say(f"retrying in {delay:g} s (attempt {attempt + 1} of {opts.retries + 1})")
            time.sleep(delay)
        try:
            _fetch_once(url, part, info.size, progress, opts.timeout)
            return
        except _Retryable as exc:
            progress.say(f"download of {info.name} interrupted: {exc}")
            if attempt == opts.retries:
                raise


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def download(
    name: str = DEFAULT_MODEL,
    dest_dir: str | Path | None = None,
    progress: TextIO | None = sys.stderr,
    retries: int = 3,
    *,
    base_url: str | None = None,
    manifest: Mapping[str, ModelInfo] | None = None,
    backoff: float = 1.0,
    timeout: float = 30.0,
) -> Path:
    """Download, verify and install model ``name``; return its folder.

    ``dest_dir`` defaults to :func:`models_dir`; ``base_url`` (else ``VOICE_COACH_MODEL_URL``)
    replaces the URL base; ``progress`` gets a text bar (None for silence). A model already
    installed there is returned as is. Raises :class:`UsageError` for a base URL that is not
    one and :class:`ResourceMissing` on any other failure, leaving no partial model folder (an
    interrupted download's ``.part`` file stays, to be resumed).
    """
    manifest = load_manifest() if manifest is None else manifest
    if name not in manifest:
        raise ResourceMissing(f"unknown model {name!r}; known models: {', '.join(manifest)}")
    info = manifest[name]
    dest = Path(dest_dir).expanduser() if dest_dir is not None else models_dir()
    target = dest / info.folder
    if target.exists():
        return _already_there(target)
    url = info.url_from(base_url or os.environ.get(ENV_URL))
    where = "the base URL" if base_url else ENV_URL
    try:
        scheme = urllib.parse.urlsplit(url).scheme
    except ValueError as exc:  # "http://[::1"
        raise UsageError(
            f"cannot download from {url!r}: not a valid address ({exc}); check {where}"
        ) from None
    if scheme not in ("http", "https", "file"):
        raise UsageError(
            f"cannot download from {url!r}: not an http(s) URL; check {where} "
            f"(for example {ENV_URL}=https://mirror.example/vosk/models)"
        )
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResourceMissing(
            f"cannot create the models folder {dest}: {exc.strerror}; choose another --dir"
        ) from exc
    try:
        return _fetch_and_install(
            info, url, dest, progress, _FetchOptions(max(0, retries), backoff, timeout)
        )
    except BaseException:
        with contextlib.suppress(OSError):  # the download's own error is the one to report
            if created and not any(dest.iterdir()):
                dest.rmdir()  # a failed first download leaves no empty models folder behind
        raise


def _fetch_and_install(
    info: ModelInfo, url: str, dest: Path, progress: TextIO | None, options: _FetchOptions
) -> Path:
    """Download ``url`` into ``dest`` (resuming), verify it and unpack it; the model folder."""
    part = dest / f"{info.filename}.part"
    bar = _Progress(progress, info.name)
    bar.say(f"downloading {info.name} from {url}")
    try:
        _fetch(url, part, info, bar, options)
    except _Retryable as exc:
        started = part.exists() and part.stat().st_size > 0
        why = _why_unreached(exc, url, custom=url != info.url)
        if started:
            why = "the download kept breaking off (run the same command to resume)"
        raise ResourceMissing(
            f"cannot download {info.name}: {exc}; {why}. Install it by hand: download "
            f"{info.url}, unzip it into {dest}, or set {ENV_MODEL} to the unzipped folder"
        ) from exc
    except OSError as exc:
        raise ResourceMissing(f"cannot write {part}: {exc.strerror or exc}") from exc
    try:
        _verify(part, info, url)
        bar.say(f"checksum ok; extracting into {dest}")
        return _extract_safely(part, dest, info.folder)
    finally:
        part.unlink(missing_ok=True)


def _why_unreached(exc: _Retryable, url: str, custom: bool) -> str:
    """What a download that never started says about the network, from the cause of its
    last attempt; ``custom`` when the address came from :data:`ENV_URL` (or ``base_url``)."""
    reason = getattr(exc.__cause__, "reason", exc.__cause__)
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or parts.netloc  # never the user name and password of a mirror
    with contextlib.suppress(ValueError):
        host += f":{parts.port}" if parts.port else ""
    if isinstance(exc.__cause__, urllib.error.HTTPError):
        return f"{host} kept answering with an error: try again later"
    if isinstance(reason, ConnectionRefusedError):
        if custom:
            return f"nothing at {host} accepts connections: check {ENV_URL}"
        return f"nothing at {host} accepts connections: the server may be down; try again later"
    if isinstance(reason, socket.gaierror):
        wrong = f", or {ENV_URL} names a host that does not exist" if custom else ""
        return f"the name {host} cannot be looked up: this machine seems offline{wrong}"
    return f"{host} does not answer: this machine may be offline or the server down"


def _already_there(target: Path) -> Path:
    """Return an installed model folder, or explain why the folder is in the way."""
    try:
        return validate_vosk_model(target)
    except ResourceMissing as exc:
        raise ResourceMissing(f"{exc} (remove the folder {target} and download again)") from exc


def _verify(part: Path, info: ModelInfo, url: str) -> None:
    """Raise when the download's SHA-256 differs from the manifest's."""
    actual = _sha256(part)
    if actual != info.sha256:
        raise ResourceMissing(
            f"checksum mismatch for {url}: expected sha256 {info.sha256}, got {actual}; "
            "the download was deleted: try again later or from another mirror, and do not use "
            "a file that does not match"
        )


# --------------------------------------------------------------------------- extraction


def _member_path(member: zipfile.ZipInfo) -> str:
    """A member's name, checked to stay inside the extraction folder."""
    name = member.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise ResourceMissing(f"unsafe archive: absolute path {member.filename!r}")
    if ".." in PurePosixPath(name).parts:
        raise ResourceMissing(f"unsafe archive: path {member.filename!r} leaves the folder")
    return name


def _is_symlink(member: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(member.external_attr >> 16)


def _link_target(zf: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> str:
    """A symlink member's target, checked to stay inside the member's top folder."""
    target = zf.read(member).decode("utf-8", "replace")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name.rstrip("/")), target))
    top = name.split("/", 1)[0]
    if target.startswith("/") or not joined.startswith(top + "/"):
        raise ResourceMissing(f"unsafe archive: symlink {member.filename!r} points outside")
    return target


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _extract_all(zf: zipfile.ZipFile, root: Path) -> None:
    """Check every member first, then extract them; symlinks must stay inside ``root``."""
    checked = []
    for member in zf.infolist():
        name = _member_path(member)
        link = _link_target(zf, member, name) if _is_symlink(member) else None
        checked.append((member, name, link))
    for member, name, link in checked:
        dest = root / name
        if not _inside(dest.parent, root):
            raise ResourceMissing(f"unsafe archive: {member.filename!r} would land outside")
        if link is not None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(link, dest)
        else:
            zf.extract(member, root)


def _extract_safely(archive: Path, dest: Path, folder: str) -> Path:
    """Extract beside ``dest/folder``, validate, then rename into place; nothing partial stays."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.", suffix=".tmp", dir=dest))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                _extract_all(zf, tmp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise ResourceMissing(f"{archive.name} is not a usable zip archive: {exc}") from exc
        extracted = tmp / folder
        if not extracted.is_dir():
            raise ResourceMissing(f"{archive.name} does not contain the folder {folder}/")
        try:
            validate_vosk_model(extracted)
        except ResourceMissing as exc:
            raise ResourceMissing(f"the downloaded archive is not usable: {exc}") from exc
        target = dest / folder
        try:
            extracted.rename(target)
        except OSError as exc:
            raise ResourceMissing(f"cannot move the model into {target}: {exc.strerror}") from exc
        return target
    except OSError as exc:
        raise ResourceMissing(f"cannot extract {archive.name} into {dest}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
