"""A prepared data root: corpora normalised once into TFDS datasets, listed in `prepared.json`.

`polyglot-ner data prepare LANG... --root R --out D` (`tfds_builder.prepare`) reads each
language's splits from the text root R exactly as training reads them (IOB2, WikiANN prefixes
stripped, the registry's encoding, every check of `conll.iter_conll`) and writes them as one TFDS
ArrayRecord dataset per language under D, with a manifest:

  D/prepared.json                          {"format": 1, "polyglot_ner": "0.1.0", "languages":
                                            {"conll2002/es": {"source": "/abs/R", "dataset":
                                             "corpus_builder/conll2002_es/1.0.0",
                                             "splits": {"train": 8323, "dev": 1915, "test": 1517}}}}
  D/corpus_builder/conll2002_es/1.0.0/     dataset_info.json (the counts again), features.json,
                                           corpus_builder-<split>.array_record-00000-of-00001

The manifest makes D a data root wherever a text root is accepted (`corpora` reads it through this
module), and it is the record of what is usable: a language is listed only once its dataset is
complete (a `prepare` killed midway leaves at most a hidden `.incomplete-*` folder, never listed:
delete it). A prepared language is a snapshot of its files: when they change nothing notices, so
run `data prepare` for it again (which replaces it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping

import polyglot_ner
from polyglot_ner import errors

MANIFEST = "prepared.json"
FORMAT = 1  # of the manifest and datasets; a root of another format must be prepared again


@dataclasses.dataclass(frozen=True)
class Language:
  """One prepared language: the text root it was read from, its dataset's folder (relative to the
  prepared root) and the sentences of each split."""

  source: str
  dataset: str
  splits: Mapping[str, int]


def manifest_path(root: str | os.PathLike) -> pathlib.Path:
  """Where the manifest of a prepared root is; its presence is what makes the root prepared."""
  return pathlib.Path(root) / MANIFEST


def read_manifest(root: str | os.PathLike) -> dict[str, Language]:
  """The prepared languages of `root` by `corpus/lang` name; a UserError for a manifest this
  version cannot read."""
  path = manifest_path(root)
  try:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    found = manifest["format"]
    languages = {name: Language(**fields) for name, fields in manifest["languages"].items()}
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise errors.UserError(f"{path} is not a manifest written by `polyglot-ner data prepare` "
                           f"({type(e).__name__}: {e})") from None
  if found != FORMAT:
    raise errors.UserError(f"{path} is of format {found} but polyglot_ner "
                           f"{polyglot_ner.__version__} reads format {FORMAT}: prepare its "
                           "languages again into a new folder")
  return languages


def write_manifest(root: str | os.PathLike, languages: Mapping[str, Language]) -> None:
  """Replaces the manifest of `root` at once (a reader sees the old one or the new one)."""
  path = manifest_path(root)
  manifest = {"format": FORMAT, "polyglot_ner": polyglot_ner.__version__,
              "languages": {name: dataclasses.asdict(languages[name])
                            for name in sorted(languages)}}
  partial = path.with_name(f".{MANIFEST}.partial")
  partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
  partial.replace(path)


def language(name: str, root: str | os.PathLike) -> Language:
  """The manifest entry of `name`; NotFound (saying how to prepare it) when it is not listed."""
  languages = read_manifest(root)
  if name not in languages:
    raise errors.NotFound(f"{name} is not prepared in {root} (prepared: "
                          f"{', '.join(sorted(languages)) or 'none'}); add it with `polyglot-ner "
                          f"data prepare {name} --root <text root> --out {root}`")
  return languages[name]


def dataset_dir(name: str, split: str, root: str | os.PathLike) -> pathlib.Path:
  """The folder of the TFDS dataset holding `split` of `name`; NotFound for a language or split
  that is not prepared, or a dataset deleted since."""
  entry = language(name, root)
  if split not in entry.splits:
    raise errors.NotFound(f"{name} has no {split} split in the prepared root {root}; available "
                          f"splits: {', '.join(entry.splits)}")
  folder = pathlib.Path(root) / entry.dataset
  if not (folder / "dataset_info.json").is_file():
    raise errors.NotFound(f"the dataset {folder} of {name}, listed in {manifest_path(root)}, is "
                          f"missing: prepare {name} again")
  return folder


def stamp(folder: pathlib.Path) -> tuple[tuple[str, int, int], ...]:
  """(name, mtime, size) of each file of a dataset: a cache key that a new preparation changes."""
  return tuple((p.name, s.st_mtime_ns, s.st_size)
               for p in sorted(folder.iterdir()) for s in [p.stat()])
