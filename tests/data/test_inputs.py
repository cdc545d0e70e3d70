"""Inputs a user names: files to tag (CoNLL with or without tags, raw text) and, for the data
commands, files or corpus names read with their tags as stored."""

import pytest

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import inputs


def test_a_wikiann_file_is_read_as_training_reads_it(data_root):
  """The `sw:` prefixes go, as in training; kept, they changed the predicted tags."""
  path = data_root / "wikiann/sw/test.txt.gz"
  sentences, with_gold = inputs.read_input(path)
  assert with_gold
  assert sentences == corpora.load_split("wikiann/sw", "test", data_root)
  raw = conll.read_conll(path)
  assert [t.split(":", 1)[1] for s in raw for t in s.tokens] == [
      t for s in sentences for t in s.tokens]


def test_tokens_only_and_text_inputs_have_no_gold(tmp_path):
  tokens = tmp_path / "tokens.txt"
  tokens.write_text("-DOCSTART-\n\nJuan\nvive\n\nMadrid\n", encoding="utf-8")
  raw = tmp_path / "raw.txt"
  raw.write_text("Juan  vive\n\n Madrid\n", encoding="utf-8")
  expected = [conll.Sentence(("Juan", "vive"), ("O", "O")), conll.Sentence(("Madrid",), ("O",))]
  assert inputs.read_input(tokens) == (expected, False)
  assert inputs.read_input(raw, "text") == (expected, False)


def test_gold_tags_are_normalised_to_iob2(tmp_path):
  iob1 = tmp_path / "iob1.txt"
  iob1.write_text("Juan I-PER\nPérez I-PER\nvive O\n", encoding="latin-1")
  assert inputs.read_input(iob1, encoding="latin-1") == (
      [conll.Sentence(("Juan", "Pérez", "vive"), ("B-PER", "I-PER", "O"))], True)


def test_corpus_names_and_files(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert inputs.is_corpus_name("conll2003/en") and inputs.is_corpus_name("demo/aa")
  assert not inputs.is_corpus_name("nowhere/xx")
  (tmp_path / "demo").mkdir()
  (tmp_path / "demo" / "aa").write_text("Juan B-PER\n", encoding="utf-8")
  assert not inputs.is_corpus_name("demo/aa")  # an existing file wins
  assert inputs.read_as_stored("demo/aa") == (
      "demo/aa", [conll.Sentence(("Juan",), ("B-PER",))], "utf-8")


def test_read_as_stored_keeps_the_corpus_scheme(data_root):
  label, sentences, encoding = inputs.read_as_stored("conll2003/de", "dev", data_root)
  path = data_root / "conll2003/de/dev.txt"
  assert label == f"conll2003/de (dev) {path}" and encoding == "latin-1"
  assert sentences == conll.read_conll(path, encoding="latin-1")  # IOB1, as stored
  label, sentences, encoding = inputs.read_as_stored("demo/bb", "test")
  assert (label, encoding) == ("demo/bb (test)", "built-in (synthetic)")
  assert sentences == corpora.load_split("demo/bb", "test")
  with pytest.raises(errors.NotFound, match="conll2003/de has no train split"):
    inputs.read_as_stored("conll2003/de", "train", data_root)
