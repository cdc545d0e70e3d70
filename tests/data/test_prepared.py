"""A prepared root is a data root: the same sentences as the text root through every `corpora`
function, clear errors for what is not prepared, and a training run identical to the text root's."""

import gzip
import json
import os
import shutil
import sys

import pytest

from polyglot_ner import errors
from polyglot_ner.data import corpora
from polyglot_ner.data import prepared
from polyglot_ner.data import tfds_builder

# CoNLL-2002 Spanish (the largest here), CoNLL-2003 German (Latin-1, IOB1, no train split) and a
# WikiANN language (gzip, token prefixes).
_PREPARED = ("conll2002/es", "conll2003/de", "wikiann/sw")


@pytest.fixture(scope="module")
def prepared_root(data_root, tmp_path_factory):
  """A folder that `data prepare` wrote with _PREPARED from ../shared/data."""
  root = tmp_path_factory.mktemp("prepared")
  tfds_builder.prepare(_PREPARED, data_root, root)
  return root


@pytest.mark.parametrize("name", _PREPARED)
def test_every_split_reads_as_from_the_text_root(name, data_root, prepared_root):
  splits = corpora.available_splits(name, data_root)
  assert corpora.available_splits(name, prepared_root) == splits
  for split in splits:
    assert corpora.load_split(name, split, prepared_root) == corpora.load_split(name, split,
                                                                                data_root)
  type_map = {"MISC": "O", "LOC": "PLACE"}
  assert (corpora.load_split(name, "test", prepared_root, type_map=type_map)
          == corpora.load_split(name, "test", data_root, type_map=type_map))


def test_the_manifest_and_the_dataset_info_count_the_sentences(data_root, prepared_root):
  manifest = json.loads((prepared_root / prepared.MANIFEST).read_text())
  assert manifest["format"] == prepared.FORMAT and sorted(manifest["languages"]) == list(_PREPARED)
  german = manifest["languages"]["conll2003/de"]
  assert german == {"source": str(data_root), "dataset": "corpus_builder/conll2003_de/1.0.0",
                    "splits": {"dev": 2867, "test": 3005}}
  info = json.loads((prepared_root / german["dataset"] / "dataset_info.json").read_text())
  assert {s["name"]: s["shardLengths"] for s in info["splits"]} == {"dev": ["2867"],
                                                                   "test": ["3005"]}
  assert "tensorflow" not in sys.modules


def test_languages_splits_and_their_errors(prepared_root, monkeypatch):
  assert corpora.available_languages(prepared_root) == sorted(
      [*_PREPARED, "demo/aa", "demo/bb", "demo/cc", "demo/dd"])
  assert corpora.is_prepared(prepared_root)
  monkeypatch.setenv(corpora.DATA_ROOT_ENV, str(prepared_root))
  assert corpora.is_prepared() and corpora.available_languages() == corpora.available_languages(
      prepared_root)
  assert len(corpora.load_split("wikiann/sw", "dev")) == 1000
  corpora.check_language("conll2002/es")
  dataset = corpora.split_path("wikiann/sw", "dev", prepared_root)
  assert dataset == prepared_root / "corpus_builder/wikiann_sw/1.0.0"
  with pytest.raises(errors.NotFound, match=(
      "^wikiann/yo is not prepared in .*; add it with `polyglot-ner data prepare wikiann/yo ")):
    corpora.check_language("wikiann/yo", prepared_root)
  with pytest.raises(errors.NotFound, match=(
      "^conll2003/de has no train split in the prepared root .*; available splits: dev, test$")):
    corpora.load_split("conll2003/de", "train", prepared_root)
  with pytest.raises(errors.NotFound, match="unknown corpus 'nope'"):
    corpora.load_split("nope/xx", "train", prepared_root)


def test_type_locations_name_the_dataset_and_sentence_index(data_root, prepared_root):
  where = corpora.type_locations("conll2002/es", "dev", {"MISC", "PER"}, prepared_root)
  dataset = prepared_root / "corpus_builder/conll2002_es/1.0.0"
  assert where == {"PER": f"{dataset} dev[2]", "MISC": f"{dataset} dev[4]"}
  dev = corpora.load_split("conll2002/es", "dev", data_root)
  assert "B-PER" in dev[2].tags and not any("PER" in t for s in dev[:2] for t in s.tags)
  mapped = corpora.type_locations("conll2002/es", "dev", {"X"}, prepared_root,
                                  type_map={"MISC": "X"})
  assert mapped == {"X": f"{dataset} dev[4]"}


def _small_text_root(data_root, folder, sentences):
  """wikiann/sw's files cut to their first `sentences` sentences, laid out as a text root."""
  target = folder / "wikiann" / "sw"
  target.mkdir(parents=True)
  for split in corpora.SPLITS:
    text = gzip.decompress((data_root / f"wikiann/sw/{split}.txt.gz").read_bytes()).decode()
    (target / f"{split}.txt.gz").write_bytes(
        gzip.compress(("\n\n".join(text.split("\n\n")[:sentences]) + "\n").encode()))
  return folder


def test_reads_are_cached_until_prepared_again(data_root, tmp_path):
  source = _small_text_root(data_root, tmp_path / "text", 30)
  root = tmp_path / "prepared"
  tfds_builder.prepare(["wikiann/sw"], source, root)
  first = corpora.load_split("wikiann/sw", "train", root)
  first.clear()
  assert len(corpora.load_split("wikiann/sw", "train", root)) == 30
  shutil.rmtree(source / "wikiann")
  _small_text_root(data_root, source, 20)
  assert len(corpora.load_split("wikiann/sw", "train", root)) == 30  # a snapshot: not noticed
  tfds_builder.prepare(["wikiann/sw"], source, root)
  assert len(corpora.load_split("wikiann/sw", "train", root)) == 20


def test_a_deleted_dataset_or_a_foreign_manifest_is_a_clear_error(data_root, tmp_path):
  root = tmp_path / "prepared"
  tfds_builder.prepare(["wikiann/sw"], _small_text_root(data_root, tmp_path / "text", 5), root)
  shutil.rmtree(root / "corpus_builder")
  with pytest.raises(errors.NotFound, match=r"the dataset .*wikiann_sw/1\.0\.0 of wikiann/sw, "
                                            r"listed in .*prepared\.json, is missing"):
    corpora.load_split("wikiann/sw", "dev", root)
  (root / prepared.MANIFEST).write_text('{"format": 99, "languages": {}}')
  with pytest.raises(errors.UserError, match="is of format 99 but polyglot_ner .* reads format 1"):
    corpora.available_languages(root)
  (root / prepared.MANIFEST).write_text("[")
  with pytest.raises(errors.UserError, match="is not a manifest written by `polyglot-ner data "):
    corpora.load_split("wikiann/sw", "dev", root)


def test_training_on_a_prepared_root_equals_training_on_the_text_root(data_root, tmp_path,
                                                                      tiny_config):
  from polyglot_ner.train import loop  # pylint: disable=import-outside-toplevel
  text = _small_text_root(data_root, tmp_path / "text", 48)
  root = tmp_path / "prepared"
  tfds_builder.prepare(["wikiann/sw"], text, root)
  results = []
  for data in (text, root):
    config = tiny_config(**{"data.langs": {"wikiann/sw": 1.0}, "data.root": os.fspath(data)})
    results.append(loop.train_and_evaluate(config, tmp_path / data.name / "run"))
    records = (tmp_path / data.name / "run" / "metrics.jsonl").read_text().splitlines()
    results[-1]["last_loss"] = [r["loss"] for r in map(json.loads, records)
                                if r["kind"] == "train"][-1]
  for key in ("steps", "best_step", "dev_history", "dev", "test", "last_loss"):
    assert results[0][key] == results[1][key], key
