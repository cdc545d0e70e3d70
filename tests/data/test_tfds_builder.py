"""TFDS round trip: ArrayRecord files built once, read back equal to the plain reader, no TF; and
`prepare`, which writes them into a prepared root it owns, atomically per language."""

import pathlib
import sys

import pytest

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import prepared
from polyglot_ner.data import tfds_builder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("tfds")


@pytest.mark.parametrize("name", ["demo/aa", "wikiann/sw"])
def test_round_trip_equals_plain_reader(name, data_root, cache_dir):
  builder = tfds_builder.build(name, data_root, cache_dir)
  for split in corpora.SPLITS:
    assert tfds_builder.read_split(builder, split) == corpora.load_split(name, split, data_root)
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


def test_config_names():
  assert tfds_builder.config_name("conll2002/es") == "conll2002_es"
  with pytest.raises(ValueError, match="unknown corpus"):
    tfds_builder.config_name("nope/xx")


def _text_root(folder, files):
  """A text root holding masakhaner/<lang>/<split>.txt for {(lang, split): text}."""
  for (lang, split), text in files.items():
    (folder / "masakhaner" / lang).mkdir(parents=True, exist_ok=True)
    (folder / "masakhaner" / lang / f"{split}.txt").write_text(text)
  return folder


def test_prepare_writes_new_languages_and_replaces_prepared_ones(tmp_path):
  source = _text_root(tmp_path / "text", {("aaa", "train"): "Abuja B-LOC\n",
                                          ("aaa", "dev"): "Kano B-LOC\n\nLagos B-LOC\n",
                                          ("bbb", "test"): "Ada B-PER\n"})
  out = tmp_path / "new" / "prepared"
  outcomes = tfds_builder.prepare(["masakhaner/aaa", "masakhaner/bbb", "masakhaner/aaa"], source,
                                  out)
  assert [(o.name, dict(o.language.splits), o.replaced) for o in outcomes] == [
      ("masakhaner/aaa", {"train": 1, "dev": 2}, False), ("masakhaner/bbb", {"test": 1}, False)]
  assert outcomes[0].language.dataset == "corpus_builder/masakhaner_aaa/1.0.0"
  assert sorted(p.name for p in out.iterdir()) == ["corpus_builder", "prepared.json"]
  (source / "masakhaner/aaa/dev.txt").write_text("Kano B-LOC\n")
  [again] = tfds_builder.prepare(["masakhaner/aaa"], source, out)
  assert again.replaced and again.language.splits == {"train": 1, "dev": 1}
  assert len(corpora.load_split("masakhaner/aaa", "dev", out)) == 1
  assert corpora.available_languages(out)[:2] == ["demo/aa", "demo/bb"]
  assert "masakhaner/bbb" in corpora.available_languages(out)  # kept
  assert sorted(p.name for p in out.iterdir()) == ["corpus_builder", "prepared.json"]


def test_a_malformed_file_leaves_the_output_as_it_was(tmp_path):
  source = _text_root(tmp_path / "text", {("aaa", "train"): "Abuja B-LOC\n",
                                          ("bbb", "train"): "Ada B-PER\n",
                                          ("bbb", "test"): "Ada B-PER\nOkafor I_PER\n"})
  out = tmp_path / "prepared"
  with pytest.raises(conll.ConllFormatError, match=f"^{source}/masakhaner/bbb/test.txt:2: "):
    tfds_builder.prepare(["masakhaner/aaa", "masakhaner/bbb"], source, out)
  assert not out.exists()
  tfds_builder.prepare(["masakhaner/aaa"], source, out)
  manifest = (out / prepared.MANIFEST).read_text()
  with pytest.raises(conll.ConllFormatError):
    tfds_builder.prepare(["masakhaner/aaa", "masakhaner/bbb"], source, out)
  assert (out / prepared.MANIFEST).read_text() == manifest
  assert sorted(p.name for p in out.iterdir()) == ["corpus_builder", "prepared.json"]


def test_prepare_refuses_outputs_it_does_not_own(tmp_path):
  source = _text_root(tmp_path / "text", {("aaa", "train"): "Abuja B-LOC\n"})
  (tmp_path / "file").write_text("")
  (tmp_path / "empty").mkdir()
  tfds_builder.prepare(["masakhaner/aaa"], source, tmp_path / "empty")
  for root, out, message in [(source, tmp_path, "is not empty and has no prepared.json"),
                             (source, tmp_path / "file", "is a file"),
                             (source, source, "is the data root to read"),
                             (tmp_path / "empty", tmp_path / "empty", "is the data root to read")]:
    with pytest.raises(errors.UserError, match=f"^{out} {message}"):
      tfds_builder.prepare(["masakhaner/aaa"], root, out)
  with pytest.raises(errors.UserError, match="demo/aa is built in and needs no preparing"):
    tfds_builder.prepare(["demo/aa"], source, tmp_path / "new")
  with pytest.raises(errors.NotFound, match="no language 'zzz' for masakhaner"):
    tfds_builder.prepare(["masakhaner/zzz"], source, tmp_path / "new")
  assert not (tmp_path / "new").exists()
