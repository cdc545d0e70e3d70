"""Corpus registry: `corpus/lang` names -> files under a data root, read and normalised to IOB2.

Each corpus declares its file names, encodings, source tag scheme and entity types, so callers
only ever say `load_split("conll2003/en", "train", root)`. The layout is that of `../shared/data`:
`<root>/<corpus>/<lang>/<split file>`. Names `demo/<lang>` are served by the built-in synthetic
corpus (`polyglot_ner.data.demo`) and need no root.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Mapping

from polyglot_ner.data import conll
from polyglot_ner.data import demo
from polyglot_ner.data import tags as tags_lib

DATA_ROOT_ENV = "POLYGLOT_NER_DATA"
SPLITS = ("train", "dev", "test")
DEMO = "demo"


@dataclasses.dataclass(frozen=True)
class CorpusSpec:
  """How one corpus is stored: file name per split, encodings, source scheme, entity types."""

  name: str
  files: tuple[tuple[str, str], ...]          # (split, file name) for each split
  scheme: str                                 # tag scheme of the files, normalised to IOB2 at load
  entity_types: tuple[str, ...]
  encoding: str = "utf-8"
  language_encodings: tuple[tuple[str, str], ...] = ()  # (lang, encoding) overrides
  strip_token_prefix: bool = False            # WikiANN's `xx:` token prefix

  def file_name(self, split: str) -> str:
    return dict(self.files)[split]

  def encoding_for(self, lang: str) -> str:
    return dict(self.language_encodings).get(lang, self.encoding)


def _files(suffix: str) -> tuple[tuple[str, str], ...]:
  return tuple((split, split + suffix) for split in SPLITS)


CORPORA: dict[str, CorpusSpec] = {
    "conll2003": CorpusSpec(
        name="conll2003", files=_files(".txt"), scheme="IOB1",
        entity_types=("LOC", "MISC", "ORG", "PER"), language_encodings=(("de", "latin-1"),)),
    "conll2002": CorpusSpec(
        name="conll2002", files=_files(".txt"), scheme="IOB2",
        entity_types=("LOC", "MISC", "ORG", "PER")),
    "wikiann": CorpusSpec(
        name="wikiann", files=_files(".txt.gz"), scheme="IOB2",
        entity_types=("LOC", "ORG", "PER"), strip_token_prefix=True),
    "masakhaner": CorpusSpec(
        name="masakhaner", files=_files(".txt"), scheme="IOB2",
        entity_types=("DATE", "LOC", "ORG", "PER")),
}


def default_data_root() -> pathlib.Path | None:
  """The data root from the environment variable POLYGLOT_NER_DATA, else None."""
  value = os.environ.get(DATA_ROOT_ENV)
  return pathlib.Path(value) if value else None


def parse_name(name: str) -> tuple[str, str]:
  """`"conll2003/en"` -> `("conll2003", "en")`, checking that the corpus is registered."""
  corpus, sep, lang = name.partition("/")
  if not sep or not corpus or not lang or "/" in lang:
    raise ValueError(f"a language is named 'corpus/lang' (e.g. 'conll2003/en'), got {name!r}")
  if corpus != DEMO and corpus not in CORPORA:
    known = ", ".join(sorted([*CORPORA, DEMO]))
    raise ValueError(f"unknown corpus {corpus!r} in {name!r}; known corpora: {known}")
  return corpus, lang


def _resolve_root(root: str | os.PathLike | None) -> pathlib.Path:
  root = root if root is not None else default_data_root()
  if root is None:
    raise ValueError(f"no data root: pass root= (config data.root) or set {DATA_ROOT_ENV}; "
                     f"the built-in demo/<lang> corpus needs none")
  return pathlib.Path(root)


def available_languages(root: str | os.PathLike | None = None) -> list[str]:
  """Every `corpus/lang` name `load_split` accepts: the demo languages, plus (given a root, or
  POLYGLOT_NER_DATA) each registered corpus's language folders holding at least one split."""
  names = [f"{DEMO}/{lang}" for lang in demo.LANGUAGES]
  root = root if root is not None else default_data_root()
  if root is not None:
    for corpus, spec in CORPORA.items():
      folder = pathlib.Path(root) / corpus
      if folder.is_dir():
        names += [f"{corpus}/{lang.name}" for lang in folder.iterdir()
                  if any((lang / file).is_file() for _, file in spec.files)]
  return sorted(names)


def split_path(name: str, split: str, root: str | os.PathLike | None = None) -> pathlib.Path:
  """The file holding `split` of a file-backed language; a clear error when it is missing."""
  corpus, lang = parse_name(name)
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
  if corpus == DEMO:
    raise ValueError(f"{name} is built in and has no file")
  root = _resolve_root(root)
  spec = CORPORA[corpus]
  path = root / corpus / lang / spec.file_name(split)
  if path.is_file():
    return path
  langs = [n.split("/", 1)[1] for n in available_languages(root) if n.startswith(corpus + "/")]
  if lang not in langs:
    raise FileNotFoundError(f"no language {lang!r} for {corpus} under {root}; available: "
                            f"{', '.join(langs) or 'none'}")
  present = [s for s in SPLITS if (root / corpus / lang / spec.file_name(s)).is_file()]
  raise FileNotFoundError(f"{name} has no {split} split under {root} (expected {path}); "
                          f"available splits: {', '.join(present)}")


@functools.lru_cache(maxsize=16)
def _read_iob2(path: str, stamp: tuple[int, int], encoding: str, strip_token_prefix: bool,
               scheme: str) -> tuple[conll.Sentence, ...]:
  """Read a file and normalise its tags to IOB2; cached on (path, mtime, size, options)."""
  del stamp  # only part of the cache key: a rewritten file is read again
  sentences = conll.read_conll(path, encoding=encoding, strip_token_prefix=strip_token_prefix)
  return tuple(conll.Sentence(s.tokens, tuple(tags_lib.to_iob2(s.tags, scheme)))
               for s in sentences)


def load_split(name: str, split: str, root: str | os.PathLike | None = None, *,
               type_map: Mapping[str, str] | None = None) -> list[conll.Sentence]:
  """Sentences of one split of one language, tags in IOB2.

  Args:
    name: `corpus/lang`, e.g. `conll2003/en`, `wikiann/sw`, `masakhaner/swa`, `demo/aa`.
    split: "train", "dev" or "test".
    root: data root laid out like ../shared/data; defaults to $POLYGLOT_NER_DATA. Unused for demo.
    type_map: entity type renames applied after normalisation, e.g. {"MISC": "O"} drops MISC.
  """
  corpus, lang = parse_name(name)
  if corpus == DEMO:
    sentences = demo.load_split(lang, split)
  else:
    path = split_path(name, split, root)
    spec = CORPORA[corpus]
    stat = path.stat()
    sentences = _read_iob2(str(path), (stat.st_mtime_ns, stat.st_size), spec.encoding_for(lang),
                           spec.strip_token_prefix, spec.scheme)
  if type_map:
    return [conll.Sentence(s.tokens, tuple(tags_lib.map_types(s.tags, type_map)))
            for s in sentences]
  return list(sentences)
