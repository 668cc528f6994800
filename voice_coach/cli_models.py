"""``voice-coach models``: list, locate and download Vosk speech models."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from . import models
from .errors import ResourceMissing, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models`` with its ``list``, ``path`` and ``download`` actions."""
    parser = subparsers.add_parser("models", help="list, locate and download Vosk speech models")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    parser.set_defaults(func=_needs_action(parser))

    listing = actions.add_parser("list", help="models the coach can download, and where they are")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(func=run_list)

    path = actions.add_parser("path", help="print the folder of the model that would be used")
    path.add_argument("name", nargs="?", help="a model name (default: the one the coach uses)")
    path.add_argument("--language", default="en", help="language to look for (default: en)")
    path.set_defaults(func=run_path)

    fetch = actions.add_parser("download", help="download and install a model")
    fetch.add_argument("name", nargs="?", default=models.DEFAULT_MODEL, help="model name")
    fetch.add_argument("--dir", help=f"install folder (default: {models.models_dir()})")
    fetch.set_defaults(func=run_download)


def _needs_action(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        raise UsageError("models: say which action: list, path or download")

    return run


def run_list(args: argparse.Namespace) -> int:
    """Print the manifest's models with their size and where each is installed."""
    rows = []
    for info in models.load_manifest().values():
        where = models.installed_path(info)
        rows.append(
            {
                "name": info.name,
                "language": info.language,
                "size": info.size,
                "installed": where is not None,
                "path": str(where) if where else None,
                "url": info.url,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        status = row["path"] if row["installed"] else "not installed"
        print(f"{row['name']}\t{row['language']}\t{row['size'] / 1e6:.0f} MB\t{status}")
    return 0


def run_path(args: argparse.Namespace) -> int:
    """Print the model folder that would be used (or that holds model NAME); exit 3 if none."""
    if args.name:
        found = _installed_by_name(args.name)
    else:
        found = models.find_vosk_model(language=args.language)
        if found is None:
            raise ResourceMissing(
                f"no Vosk model for language {args.language!r} found in "
                f"{', '.join(map(str, models.search_dirs()))}; get one with "
                f"'voice-coach models download' or set {models.ENV_MODEL}"
            )
        _warn_of_language(found, args.language)
    print(found)
    return 0


def _warn_of_language(found: Path, wanted: str) -> None:
    """Say on stderr when a model chosen by :data:`~models.ENV_MODEL` may not be of the
    language asked for: such a model is taken whatever its name says, and the coach checks
    that it knows English words only when it loads it."""
    if not os.environ.get(models.ENV_MODEL, "").strip():
        return  # a scanned model is of the language asked for
    try:
        manifest = models.load_manifest()
    except ResourceMissing:  # the lookup went on without it too
        manifest = {}
    language = models.folder_language(found.name, manifest)
    if language is None:
        why = f"its name does not say its language (the coach needs {wanted!r})"
    elif not models.language_matches(language, wanted):
        why = f"its name says {language!r}, not {wanted!r}"
    else:
        return
    print(
        f"voice-coach: {models.ENV_MODEL} chooses {found}, but {why}; loading tells: a model "
        "that does not know the catalogue's English words is passed over for pocketsphinx "
        "(--engine vosk refuses it)",
        file=sys.stderr,
    )


def _installed_by_name(name: str) -> Path:
    """Folder of the installed model called ``name`` (manifest name or folder name)."""
    manifest = models.load_manifest()
    folder = manifest[name].folder if name in manifest else name
    for base in models.search_dirs():
        candidate = base / folder
        if candidate.is_dir():
            return models.validate_vosk_model(candidate)
    if name in manifest:
        raise ResourceMissing(
            f"model {name!r} is not installed; get it with 'voice-coach models download {name}'"
        )
    raise ResourceMissing(
        f"no model folder {name!r} in {', '.join(map(str, models.search_dirs()))}; "
        f"known models: {', '.join(manifest)}"
    )


def run_download(args: argparse.Namespace) -> int:
    """Download the model, print its folder."""
    manifest = models.load_manifest()
    if args.name not in manifest:
        raise UsageError(f"unknown model {args.name!r}; known models: {', '.join(manifest)}")
    path = models.download(args.name, dest_dir=args.dir, progress=sys.stderr, manifest=manifest)
    print(path)
    return 0
