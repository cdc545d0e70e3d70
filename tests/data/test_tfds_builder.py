"""TFDS round trip: ArrayRecord files built once, read back equal to the plain reader, no TF."""

import pathlib
import sys

import pytest

from polyglot_ner.data import corpora
from polyglot_ner.data import tfds_builder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("tfds")


@pytest.mark.parametrize("name", ["demo/aa", "wikiann/sw"])
def test_round_trip_equals_plain_reader(name, data_root, cache_dir):
  for split in corpora.SPLITS:
    records = tfds_builder.load_records(name, split, data_root, cache_dir)
    assert records == corpora.load_split(name, split, data_root)
    assert records == tfds_builder.load_records(name, split, data_root, use_tfds=False)
  assert "tensorflow" not in sys.modules


def test_cache_is_built_once_and_served_by_as_data_source(data_root, cache_dir):
  builder = tfds_builder.build("wikiann/sw", data_root, cache_dir)
  assert builder.builder_config.name == "wikiann_sw"
  files = sorted(pathlib.Path(builder.data_path).glob("*.array_record*"))
  assert len(files) == 3
  stamps = [f.stat().st_mtime_ns for f in files]
  again = tfds_builder.build("wikiann/sw", data_root, cache_dir)
  assert [f.stat().st_mtime_ns for f in files] == stamps
  source = again.as_data_source(split="dev")
  first = corpora.load_split("wikiann/sw", "dev", data_root)[0]
  assert len(source) == 1000
  assert [t.decode() for t in source[0]["tokens"]] == list(first.tokens)
  assert [t.decode() for t in source[0]["tags"]] == list(first.tags)
  assert "tensorflow" not in sys.modules


def test_type_map_applies_on_both_paths(cache_dir):
  type_map = {"PER": "O", "LOC": "PLACE"}
  records = tfds_builder.load_records("demo/aa", "dev", cache_dir=cache_dir, type_map=type_map)
  assert records == corpora.load_split("demo/aa", "dev", type_map=type_map)
  assert not any(tag.endswith(("PER", "LOC")) for s in records for tag in s.tags)


def test_missing_split_and_cache_dir_are_clear_errors(data_root, tmp_path):
  with pytest.raises(ValueError, match="cache_dir"):
    tfds_builder.load_records("demo/aa", "train")
  with pytest.raises(ValueError, match=r"conll2003/de has no 'train' split"):
    tfds_builder.load_records("conll2003/de", "train", data_root, tmp_path)


def test_config_names():
  assert tfds_builder.config_name("conll2002/es") == "conll2002_es"
  with pytest.raises(ValueError, match="unknown corpus"):
    tfds_builder.config_name("nope/xx")
