"""A TFDS builder over the local corpora: ArrayRecord files built once, read without TensorFlow.

`CorpusBuilder(corpus="conll2002/es", root=..., data_dir=cache)` is a TFDS
`GeneratorBasedBuilder` with one `BuilderConfig` per `corpus/lang` (config name `conll2002_es`),
features `tokens` and `tags` (sequences of strings, tags in IOB2 as `corpora.load_split` returns
them), splits train/dev/test as far as the corpus has them, stored as `array_record`.
`download_and_prepare()` writes `<cache>/corpus_builder/<config>/1.0.0/` once; later calls reuse it.
The cache is keyed by the language name only: delete it if the files under the data root change.

TensorFlow is never needed: with `file_format="array_record"` TFDS 4.9 serialises examples with its
own protobuf copies (`tensorflow_datasets.proto`) and reads them through `as_data_source()`. The
configs are created per call (the available languages depend on the data root), so TFDS logs
"Using custom data configuration" once per builder. TFDS's write-time shuffling is disabled, so
records keep the plain reader's file order.

`read_split` serves a built split as `Sentence`s: it asks the data source for raw serialised records
and parses the `tf.train.Example` protos directly, which is several times faster than TFDS's
generic NumPy decoding of every feature (two to three times faster on CoNLL-2003 en train).

`prepare` writes these datasets into a prepared data root (`polyglot-ner data prepare`, the layout
in `polyglot_ner.data.prepared`), which `corpora` then reads through `read_dataset`: the same
records, with their counts in each dataset's info and in the root's manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import pathlib
import shutil
import tempfile
from collections.abc import Sequence
from typing import NamedTuple

from etils import epath
import tensorflow_datasets as tfds
from tensorflow_datasets.proto import tf_example_pb2

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import prepared


def config_name(name: str) -> str:
  """TFDS config name of a `corpus/lang` name: `conll2002/es` -> `conll2002_es`."""
  corpus, lang = corpora.parse_name(name)
  return f"{corpus}_{lang}".replace("-", "_")


@dataclasses.dataclass(eq=False)
class CorpusConfig(tfds.core.BuilderConfig):
  """The builder config of one language; `corpus` is its `corpus/lang` name."""

  corpus: str = ""


class CorpusBuilder(tfds.core.GeneratorBasedBuilder):
  """Tokens and IOB2 tags of one `corpus/lang`, one example per sentence, in file order."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "tokens and IOB2 tags per sentence"}
  # TFDS 4.9.10 infers `code_path` through `importlib_resources`, which it declares only for
  # Python < 3.9 (tensorflow/datasets#11212), so inference fails for a builder inside a package.
  code_path = epath.Path(__file__)

  def __init__(self, *, corpus: str, root: str | os.PathLike | None = None,
               data_dir: str | os.PathLike, **kwargs):
    self._root = root
    super().__init__(config=CorpusConfig(name=config_name(corpus), corpus=corpus),
                     data_dir=os.fspath(data_dir), file_format="array_record", **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=f"{self.builder_config.corpus} read by polyglot_ner.data.corpora",
        features=tfds.features.FeaturesDict({
            "tokens": tfds.features.Sequence(tfds.features.Text()),
            "tags": tfds.features.Sequence(tfds.features.Text()),
        }),
        disable_shuffling=True,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # the corpora are local
    return {split: self._generate_examples(split)
            for split in corpora.available_splits(self.builder_config.corpus, self._root)}

  def _generate_examples(self, split: str):
    sentences = corpora.load_split(self.builder_config.corpus, split, self._root)
    for index, sentence in enumerate(sentences):
      yield index, {"tokens": list(sentence.tokens), "tags": list(sentence.tags)}


def build(name: str, root: str | os.PathLike | None, cache_dir: str | os.PathLike) -> CorpusBuilder:
  """The builder of `name` with its ArrayRecord files prepared in `cache_dir` (built if absent)."""
  builder = CorpusBuilder(corpus=name, root=root, data_dir=cache_dir)
  builder.download_and_prepare()
  return builder


def read_split(builder: tfds.core.DatasetBuilder, split: str) -> list[conll.Sentence]:
  """A built split as `Sentence`s, parsed from the raw records of its data source."""
  source = builder.as_data_source(split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
  sentences = []
  for record in source.__getitems__(range(len(source))):
    feature = tf_example_pb2.Example.FromString(record).features.feature
    sentences.append(conll.Sentence(
        tuple(t.decode("utf-8") for t in feature["tokens"].bytes_list.value),
        tuple(t.decode("utf-8") for t in feature["tags"].bytes_list.value)))
  return sentences


def read_dataset(folder: str | os.PathLike, split: str) -> list[conll.Sentence]:
  """A split of a dataset this builder wrote (`folder`: `<dir>/corpus_builder/<config>/<version>`),
  read through its own dataset info, whatever this module's code is now."""
  return read_split(tfds.builder_from_directory(os.fspath(folder)), split)


class Outcome(NamedTuple):
  """What `prepare` did for one language: its manifest entry, and whether it replaced an earlier
  preparation of the language (else it is new in the root)."""

  name: str
  language: prepared.Language
  replaced: bool


@contextlib.contextmanager
def _quiet():
  """Silences TFDS's progress bars, messages and "custom data configuration" warnings, which
  would bury the one line per language that `data prepare` prints."""
  logger = logging.getLogger("absl")
  level = logger.level
  logger.setLevel(logging.ERROR)
  try:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
      yield
  finally:
    logger.setLevel(level)


def _check_output(out: pathlib.Path, source: pathlib.Path) -> None:
  """Refuses an output `prepare` could not own: a file, the root it reads, a folder with files
  that is not a prepared root."""
  if out.exists() and not out.is_dir():
    raise errors.UserError(f"{out} is a file; a prepared root is a folder")
  if out.exists() and out.resolve() == source.resolve():
    raise errors.UserError(f"{out} is the data root to read: prepare into another folder")
  if out.is_dir() and not corpora.is_prepared(out) and any(out.iterdir()):
    raise errors.UserError(f"{out} is not empty and has no {prepared.MANIFEST}, so `data "
                           "prepare` did not write it: give a new or empty folder, or one "
                           "prepared before")


def prepare(names: Sequence[str], root: str | os.PathLike | None, out: str | os.PathLike
            ) -> list[Outcome]:
  """Writes each language of `names` (every split it has under the data root `root`, read as
  training reads it) as a dataset of the prepared root `out` and lists it in `out`'s manifest.

  Every split of every language is read, and so checked, before anything is written: a malformed
  file raises its `file:line` error and leaves `out` as it was. A language's dataset is built in a
  hidden folder of `out` and moved into place, then listed; so the manifest names complete datasets
  only. `out` is new, empty or a prepared root; a language prepared there before is replaced (its
  files may have changed since, which nothing else notices).
  """
  source = corpora.resolve_root(root).absolute()
  out = pathlib.Path(out)
  _check_output(out, source)
  names = list(dict.fromkeys(names))
  for name in names:
    if corpora.parse_name(name)[0] == corpora.DEMO:
      raise errors.UserError(f"{name} is built in and needs no preparing")
    for split in corpora.available_splits(name, source):
      corpora.load_split(name, split, source)
  out.mkdir(parents=True, exist_ok=True)
  languages = prepared.read_manifest(out) if corpora.is_prepared(out) else {}
  incomplete = pathlib.Path(tempfile.mkdtemp(prefix=".incomplete-", dir=out))
  outcomes = []
  try:
    for name in names:
      with _quiet():
        builder = CorpusBuilder(corpus=name, root=source, data_dir=incomplete)
        builder.download_and_prepare()
      built = pathlib.Path(builder.data_path)
      dataset = out / built.relative_to(incomplete)
      if dataset.exists():
        dataset.rename(incomplete / "replaced")
      dataset.parent.mkdir(parents=True, exist_ok=True)
      built.rename(dataset)
      splits = {split: builder.info.splits[split].num_examples
                for split in corpora.available_splits(name, source)}
      outcomes.append(Outcome(name, prepared.Language(
          os.fspath(source), dataset.relative_to(out).as_posix(), splits), name in languages))
      languages[name] = outcomes[-1].language
      prepared.write_manifest(out, languages)
      shutil.rmtree(incomplete / "replaced", ignore_errors=True)
  finally:
    shutil.rmtree(incomplete, ignore_errors=True)
  return outcomes
