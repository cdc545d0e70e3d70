"""Corpus registry: `corpus/lang` names -> files under a data root, read and normalised to IOB2.

Each corpus declares its file names, encodings, source tag scheme and entity types, so callers
only ever say `load_split("conll2003/en", "train", root)`. The layout is that of `../shared/data`:
`<root>/<corpus>/<lang>/<split file>`. Names `demo/<lang>` are served by the built-in synthetic
corpus (`polyglot_ner.data.demo`) and need no root. A root written by `polyglot-ner data prepare`
(`polyglot_ner.data.prepared`: its languages as TFDS ArrayRecord datasets, read through
`tfds_builder`) serves the same sentences wherever a text root does.

A file given by its path is read the way training reads it when it lies in that layout
(`file_format`): `.../conll2003/de/dev.txt` is Latin-1 and `.../wikiann/sw/test.txt.gz` loses its
token prefixes, while any other file is UTF-8 (Latin-1 only when asked for).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Collection, Mapping, Sequence

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import demo
from polyglot_ner.data import prepared
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

  def file_format(self, lang: str) -> FileFormat:
    """How the files of one of this corpus's languages are read."""
    return FileFormat(self.encoding_for(lang), self.strip_token_prefix, self.scheme)


@dataclasses.dataclass(frozen=True)
class FileFormat:
  """How to read a CoNLL file: its encoding, whether tokens carry a WikiANN-style prefix, and
  the tag scheme its tags must be in (None: any, detected)."""

  encoding: str = "utf-8"
  strip_token_prefix: bool = False
  scheme: str | None = None

  def read(self, path: str | os.PathLike) -> list[conll.Sentence]:
    """The file's sentences, tags as written, after every check of `conll.iter_conll`."""
    return conll.read_conll(path, encoding=self.encoding,
                            strip_token_prefix=self.strip_token_prefix, scheme=self.scheme)

  def read_tokens(self, path: str | os.PathLike) -> list[tuple[str, ...]]:
    """The sentences of a tokens-only file (see `conll.read_tokens`)."""
    return conll.read_tokens(path, encoding=self.encoding,
                             strip_token_prefix=self.strip_token_prefix)

  def scheme_of(self, sentences: Sequence[conll.Sentence]) -> str:
    """The scheme the sentences' tags are in: the declared one, else detected."""
    return self.scheme or tags_lib.detect_scheme(s.tags for s in sentences)

  def read_iob2(self, path: str | os.PathLike) -> list[conll.Sentence]:
    """`read`, then tags normalised to IOB2: what training loads."""
    sentences = self.read(path)
    scheme = self.scheme_of(sentences)
    return [conll.Sentence(s.tokens, tuple(tags_lib.to_iob2(s.tags, scheme))) for s in sentences]


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
    raise errors.UserError(f"a language is named 'corpus/lang' (e.g. 'conll2003/en'), got "
                           f"{name!r}")
  if corpus != DEMO and corpus not in CORPORA:
    known = ", ".join(sorted([*CORPORA, DEMO]))
    raise errors.NotFound(f"unknown corpus {corpus!r} in {name!r}; known corpora: {known}")
  return corpus, lang


def resolve_root(root: str | os.PathLike | None) -> pathlib.Path:
  """`root`, else $POLYGLOT_NER_DATA; a UserError without either."""
  root = root if root is not None else default_data_root()
  if root is None:
    raise errors.UserError(f"no data root: pass root= (config data.root) or set {DATA_ROOT_ENV}; "
                     f"the built-in demo/<lang> corpus needs none")
  return pathlib.Path(root)


def is_prepared(root: str | os.PathLike | None = None) -> bool:
  """Whether the data root (given, else $POLYGLOT_NER_DATA) was written by `data prepare`."""
  root = root if root is not None else default_data_root()
  return root is not None and prepared.manifest_path(root).is_file()


def available_languages(root: str | os.PathLike | None = None) -> list[str]:
  """Every `corpus/lang` name `load_split` accepts: the demo languages, plus (given a root, or
  POLYGLOT_NER_DATA) each registered corpus's language folders holding at least one split, or
  the languages of a prepared root."""
  names = [f"{DEMO}/{lang}" for lang in demo.LANGUAGES]
  root = root if root is not None else default_data_root()
  if is_prepared(root):
    names += prepared.read_manifest(root)
  elif root is not None:
    for corpus, spec in CORPORA.items():
      folder = pathlib.Path(root) / corpus
      if folder.is_dir():
        names += [f"{corpus}/{lang.name}" for lang in folder.iterdir()
                  if any((lang / file).is_file() for _, file in spec.files)]
  return sorted(names)


def available_splits(name: str, root: str | os.PathLike | None = None) -> list[str]:
  """The splits of a language under the data root (all for a demo language); NotFound when the
  root has none of its splits."""
  corpus, lang = parse_name(name)
  if corpus == DEMO:
    return list(SPLITS)
  root = resolve_root(root)
  if is_prepared(root):
    return list(prepared.language(name, root).splits)
  spec = CORPORA[corpus]
  present = [s for s in SPLITS if (root / corpus / lang / spec.file_name(s)).is_file()]
  if not present:
    langs = [n.split("/", 1)[1] for n in available_languages(root) if n.startswith(corpus + "/")]
    raise errors.NotFound(f"no language {lang!r} for {corpus} under {root}; available: "
                          f"{', '.join(langs) or 'none'}")
  return present


def split_path(name: str, split: str, root: str | os.PathLike | None = None) -> pathlib.Path:
  """The file holding `split` of a file-backed language (in a prepared root, the folder of its
  dataset); a clear error when it is missing."""
  corpus, lang = parse_name(name)
  if split not in SPLITS:
    raise errors.UserError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
  if corpus == DEMO:
    raise errors.UserError(f"{name} is built in and has no file")
  root = resolve_root(root)
  if is_prepared(root):
    return prepared.dataset_dir(name, split, root)
  path = root / corpus / lang / CORPORA[corpus].file_name(split)
  if path.is_file():
    return path
  raise errors.NotFound(f"{name} has no {split} split under {root} (expected {path}); "
                        f"available splits: {', '.join(available_splits(name, root))}")


def check_language(name: str, root: str | os.PathLike | None = None) -> None:
  """Raises the error `load_split` would for a language training cannot load, without reading a
  file (for planning runs that train later): an unknown corpus or demo language always; a missing
  language or split only when the data root (given, else $POLYGLOT_NER_DATA) is a folder here."""
  corpus, lang = parse_name(name)
  if corpus == DEMO:
    demo.check_language(lang)
    return
  root = root or default_data_root()
  if root is not None and os.path.isdir(root):
    for split in SPLITS:
      split_path(name, split, root)


def file_format(path: str | os.PathLike, *, encoding: str | None = None,
                strip_token_prefix: bool | None = None) -> FileFormat:
  """How training reads `path`: its corpus's format when the path ends in
  `<corpus>/<lang>/<split file>` of a registered corpus, else UTF-8 with any tag scheme; a given
  `encoding` or `strip_token_prefix` overrides it."""
  corpus, lang, file_name = (("", "", "") + pathlib.Path(path).absolute().parts)[-3:]
  spec = CORPORA.get(corpus)
  found = spec.file_format(lang) if spec and file_name in dict(spec.files).values() else FileFormat()
  overrides = {"encoding": encoding, "strip_token_prefix": strip_token_prefix}
  return dataclasses.replace(found, **{k: v for k, v in overrides.items() if v is not None})


@functools.lru_cache(maxsize=16)
def _read_iob2(path: str, stamp: tuple[int, int], file_format: FileFormat
               ) -> tuple[conll.Sentence, ...]:
  """`file_format.read_iob2(path)`, cached on (path, mtime, size, format)."""
  del stamp  # only part of the cache key: a rewritten file is read again
  return tuple(file_format.read_iob2(path))


@functools.lru_cache(maxsize=16)
def _read_prepared(dataset: str, split: str, stamp: tuple[tuple[str, int, int], ...]
                   ) -> tuple[conll.Sentence, ...]:
  """A split of a prepared dataset, cached on (folder, split, its files' names, mtimes, sizes)."""
  del stamp  # only part of the cache key: a dataset prepared again is read again
  # Imported here: TFDS takes a while to import and only prepared roots need it (and tfds_builder
  # imports this module).
  from polyglot_ner.data import tfds_builder  # pylint: disable=import-outside-toplevel
  return tuple(tfds_builder.read_dataset(dataset, split))


def load_split(name: str, split: str, root: str | os.PathLike | None = None, *,
               type_map: Mapping[str, str] | None = None) -> list[conll.Sentence]:
  """Sentences of one split of one language, tags in IOB2.

  Args:
    name: `corpus/lang`, e.g. `conll2003/en`, `wikiann/sw`, `masakhaner/swa`, `demo/aa`.
    split: "train", "dev" or "test".
    root: data root laid out like ../shared/data, or prepared by `polyglot-ner data prepare`;
      defaults to $POLYGLOT_NER_DATA. Unused for demo.
    type_map: entity type renames applied after normalisation, e.g. {"MISC": "O"} drops MISC.

  Raises:
    UserError: a bad name or split; `conll.ConllFormatError` naming the file, line (and column)
      of the first malformed input (`conll.iter_conll` lists the checks).
    NotFound: an unknown corpus or language, or a missing split.
  """
  corpus, lang = parse_name(name)
  if corpus == DEMO:
    sentences = demo.load_split(lang, split)
  elif is_prepared(resolve_root(root)):
    dataset = split_path(name, split, root)
    sentences = _read_prepared(str(dataset), split, prepared.stamp(dataset))
  else:
    path = split_path(name, split, root)
    stat = path.stat()
    sentences = _read_iob2(str(path), (stat.st_mtime_ns, stat.st_size),
                           CORPORA[corpus].file_format(lang))
  if type_map:
    return [conll.Sentence(s.tokens, tuple(tags_lib.map_types(s.tags, type_map)))
            for s in sentences]
  return list(sentences)


def type_locations(name: str, split: str, types: Collection[str],
                   root: str | os.PathLike | None = None, *,
                   type_map: Mapping[str, str] | None = None) -> dict[str, str]:
  """Where each of `types` (named as `load_split` returns them, after `type_map`) first occurs in
  a split: `path:line`; in a prepared root `dataset split[index]` (the sentence's index in the
  split, as `tfds.data_source` numbers them); `name split` for a built-in language. For messages
  about a type."""
  corpus, lang = parse_name(name)
  if corpus == DEMO:
    return {type_: f"{name} {split}" for type_ in types}
  path = split_path(name, split, root)
  if is_prepared(resolve_root(root)):
    tags = ((f"{path} {split}[{index}]", tag)
            for index, sentence in enumerate(load_split(name, split, root))
            for tag in sentence.tags)
  else:
    tags = ((f"{path}:{number}", tag)
            for number, tag in conll.tag_lines(path, encoding=CORPORA[corpus].encoding_for(lang)))
  found = {}
  for where, tag in tags:
    type_ = tags_lib.entity_type(tag)
    type_ = (type_map or {}).get(type_, type_)
    if type_ in types and type_ not in found:
      found[type_] = where
      if len(found) == len(types):
        break
  return found

