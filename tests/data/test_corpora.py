"""Corpus registry: real splits load with the README's counts, normalised to IOB2, clear errors."""

import collections

import pytest

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import tags as tags_lib


def entity_counts(sentences) -> dict[str, int]:
  return dict(collections.Counter(t for s in sentences for t, _, _ in tags_lib.spans(s.tags)))


def assert_valid_iob2(sentences):
  for sentence in sentences:
    for prev, tag in zip(("O",) + sentence.tags, sentence.tags):
      assert tag == "O" or tag[0] in "BI", sentence
      if tag[0] == "I":
        assert prev[2:] == tag[2:], sentence


@pytest.mark.parametrize("name, split, sentences, tokens, entities", [
    ("conll2003/en", "train", 14041, 203621,
     {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}),
    ("conll2003/en", "test", 3453, 46435, {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}),
    ("conll2003/de", "dev", 2867, 51444, {"LOC": 1181, "MISC": 1010, "ORG": 1241, "PER": 1401}),
    ("conll2002/es", "train", 8323, 264715,
     {"LOC": 4914, "MISC": 2173, "ORG": 7390, "PER": 4321}),
    ("conll2002/nl", "train", 15806, 202644,
     {"LOC": 3208, "MISC": 3338, "ORG": 2082, "PER": 4716}),
    ("wikiann/sw", "train", 1000, 5597, {"LOC": 447, "ORG": 319, "PER": 445}),
    ("masakhaner/swa", "train", 2109, 56599, {"DATE": 698, "LOC": 2076, "ORG": 653, "PER": 1164}),
    ("masakhaner/luo", "train", 644, 18577, {"DATE": 237, "LOC": 468, "ORG": 197, "PER": 348}),
])
def test_real_splits_match_readme(data_root, name, split, sentences, tokens, entities):
  loaded = corpora.load_split(name, split, data_root)
  assert len(loaded) == sentences
  assert sum(len(s) for s in loaded) == tokens
  assert entity_counts(loaded) == entities
  assert_valid_iob2(loaded)


def test_iob1_gold_keeps_every_span(data_root):
  raw = conll.read_conll(data_root / "conll2003/en/train.txt")
  loaded = corpora.load_split("conll2003/en", "train", data_root)
  assert tags_lib.detect_scheme(s.tags for s in raw) == "IOB1"
  assert [s.tokens for s in loaded] == [s.tokens for s in raw]
  assert [tags_lib.spans(s.tags) for s in loaded] == [tags_lib.spans(s.tags) for s in raw]
  assert sum(tag != r for s, q in zip(loaded, raw) for tag, r in zip(s.tags, q.tags)) > 0


def test_spanish_stray_i_is_repaired(data_root):
  raw = conll.read_conll(data_root / "conll2002/es/train.txt")
  loaded = corpora.load_split("conll2002/es", "train", data_root)
  strays = [(i, k) for i, s in enumerate(raw) for k, (prev, tag) in
            enumerate(zip(("O",) + s.tags, s.tags)) if tag[0] == "I" and prev[2:] != tag[2:]]
  assert len(strays) == 1
  i, k = strays[0]
  assert raw[i].tokens[k] == "San"
  assert loaded[i].tags[k] == "B-" + raw[i].tags[k][2:]
  changed = [(i, k) for i, (s, q) in enumerate(zip(loaded, raw))
             for k, (a, b) in enumerate(zip(s.tags, q.tags)) if a != b]
  assert changed == strays


def test_wikiann_tokens_lose_their_prefix(data_root):
  loaded = corpora.load_split("wikiann/sw", "dev", data_root)
  raw = conll.read_conll(data_root / "wikiann/sw/dev.txt.gz")
  assert [t for s in loaded for t in s.tokens] == [t[3:] for s in raw for t in s.tokens]


def test_german_dev_is_read_as_latin1(data_root):
  loaded = corpora.load_split("conll2003/de", "dev", data_root)
  assert any("ü" in t for s in loaded for t in s.tokens)
  assert corpora.CORPORA["conll2003"].encoding_for("de") == "latin-1"
  assert corpora.CORPORA["conll2003"].encoding_for("en") == "utf-8"


def test_type_map_drops_and_renames(data_root):
  dropped = corpora.load_split("masakhaner/swa", "dev", data_root, type_map={"DATE": "O"})
  full = corpora.load_split("masakhaner/swa", "dev", data_root)
  expected = entity_counts(full)
  del expected["DATE"]
  assert entity_counts(dropped) == expected
  assert_valid_iob2(dropped)
  merged = corpora.load_split("conll2003/en", "dev", data_root,
                              type_map={"MISC": "O", "ORG": "LOC"})
  counts = entity_counts(corpora.load_split("conll2003/en", "dev", data_root))
  assert entity_counts(merged) == {"LOC": counts["LOC"] + counts["ORG"], "PER": counts["PER"]}


def test_type_locations_name_the_first_line_of_each_type_as_loaded(data_root):
  """Latin-1 and IOB1 as `load_split` reads them; a type is named as `type_map` renames it."""
  dev = data_root / "conll2003/de/dev.txt"
  assert corpora.type_locations("conll2003/de", "dev", {"LOC", "MISC"}, data_root) == {
      "LOC": f"{dev}:13", "MISC": f"{dev}:10"}
  assert corpora.type_locations("conll2003/de", "dev", {"LOC", "FOO"}, data_root,
                                type_map={"ORG": "LOC"}) == {"LOC": f"{dev}:6"}
  assert corpora.type_locations("demo/aa", "test", {"X"}) == {"X": "demo/aa test"}


def test_missing_files_and_bad_names_are_explained(data_root):
  with pytest.raises(errors.NotFound, match="conll2003/de has no train split.*dev, test"):
    corpora.load_split("conll2003/de", "train", data_root)
  with pytest.raises(errors.NotFound, match="no language 'xx' for wikiann.*sw"):
    corpora.load_split("wikiann/xx", "train", data_root)
  with pytest.raises(errors.NotFound,
                     match="unknown corpus 'conll2004'.*conll2002, conll2003, demo"):
    corpora.load_split("conll2004/en", "train", data_root)
  with pytest.raises(errors.UserError, match="corpus/lang"):
    corpora.load_split("en", "train", data_root)
  with pytest.raises(errors.UserError, match="unknown split 'validation'"):
    corpora.load_split("conll2003/en", "validation", data_root)
  with pytest.raises(errors.NotFound, match="unknown demo language 'zz'"):
    corpora.load_split("demo/zz", "train")


def test_data_root_from_environment(data_root, monkeypatch):
  monkeypatch.delenv(corpora.DATA_ROOT_ENV, raising=False)
  assert corpora.default_data_root() is None
  with pytest.raises(ValueError, match=corpora.DATA_ROOT_ENV):
    corpora.load_split("wikiann/sw", "dev")
  monkeypatch.setenv(corpora.DATA_ROOT_ENV, str(data_root))
  assert corpora.default_data_root() == data_root
  assert len(corpora.load_split("wikiann/sw", "dev")) == 1000


def test_available_languages(data_root):
  names = corpora.available_languages(data_root)
  assert len(names) == 4 + 4 + 29 + 10
  assert {"demo/aa", "conll2003/de", "conll2002/nl", "wikiann/sw", "masakhaner/luo"} <= set(names)
  assert names == sorted(names)


def test_demo_needs_no_root(monkeypatch):
  monkeypatch.delenv(corpora.DATA_ROOT_ENV, raising=False)
  assert len(corpora.load_split("demo/aa", "train")) == 600
  assert corpora.available_languages() == ["demo/aa", "demo/bb", "demo/cc", "demo/dd"]
  with pytest.raises(ValueError, match="unknown demo language 'zz'"):
    corpora.load_split("demo/zz", "train")


def test_local_root_reread_after_change_and_fresh_lists(tmp_path):
  folder = tmp_path / "masakhaner" / "xyz"
  folder.mkdir(parents=True)
  path = folder / "train.txt"
  path.write_text("Abuja B-LOC\n")
  first = corpora.load_split("masakhaner/xyz", "train", tmp_path)
  first.clear()
  assert corpora.load_split("masakhaner/xyz", "train", tmp_path)[0].tokens == ("Abuja",)
  path.write_text("Kano B-LOC\nis O\n")
  assert corpora.load_split("masakhaner/xyz", "train", tmp_path)[0].tokens == ("Kano", "is")
  path.write_text("Kano B_LOC\n")
  with pytest.raises(conll.ConllFormatError, match=f"{path}:1: unknown tag"):
    corpora.load_split("masakhaner/xyz", "train", tmp_path)


@pytest.mark.parametrize("text, position, message", [
    ("Kano B-LOC\n\nAbuja S-LOC\n", "3", "tag 'S-LOC' cannot occur in IOB2"),
    ("Kano B-LOC\nAb\x00uja I-LOC\n", "2:3", "token 'Ab\\x00uja' contains a NUL character"),
    ("Kano B-LOC\nAbuja NP\tI-LOC\n", "2:6", "token 'Abuja NP' contains a space"),
    ("Kano B-LOC\nAbuja B-Loc.X\n", "2", "unknown tag 'B-Loc.X'"),
])
def test_every_bad_input_fails_at_load_naming_file_and_line(tmp_path, text, position, message):
  """Before any training step, not when batches are packed or predictions written."""
  folder = tmp_path / "masakhaner" / "xyz"
  folder.mkdir(parents=True)
  (folder / "train.txt").write_text(text, encoding="utf-8")
  with pytest.raises(conll.ConllFormatError) as error:
    corpora.load_split("masakhaner/xyz", "train", tmp_path)
  assert str(error.value).startswith(f"{folder / 'train.txt'}:{position}: {message}")


def test_a_bad_utf8_byte_fails_at_load(tmp_path):
  folder = tmp_path / "conll2002" / "es"
  folder.mkdir(parents=True)
  (folder / "dev.txt").write_bytes(b"Madrid B-LOC\nM\xe1laga B-LOC\n")
  with pytest.raises(conll.ConllFormatError,
                     match=f"{folder / 'dev.txt'}:2:2: byte 0xe1 is not valid utf-8"):
    corpora.load_split("conll2002/es", "dev", tmp_path)


def test_file_format_follows_the_registry_only_for_its_files(data_root, tmp_path):
  german = corpora.file_format(data_root / "conll2003/de/dev.txt")
  assert german == corpora.FileFormat("latin-1", False, "IOB1")
  assert corpora.file_format(data_root / "wikiann/sw/test.txt.gz").strip_token_prefix
  assert corpora.file_format(data_root / "conll2003/en/train.txt").encoding == "utf-8"
  elsewhere = tmp_path / "dev.txt"
  elsewhere.write_bytes((data_root / "conll2003/de/dev.txt").read_bytes())
  assert corpora.file_format(elsewhere) == corpora.FileFormat("utf-8", False, None)
  with pytest.raises(conll.ConllFormatError, match="--encoding latin-1"):
    corpora.file_format(elsewhere).read(elsewhere)
  forced = corpora.file_format(elsewhere, encoding="latin-1")
  assert forced.read_iob2(elsewhere) == corpora.load_split("conll2003/de", "dev", data_root)
  assert not corpora.file_format(data_root / "wikiann/sw/test.txt.gz",
                                 strip_token_prefix=False).strip_token_prefix
  assert corpora.file_format("wikiann/sw/other.txt").strip_token_prefix is False


def test_read_iob2_is_what_load_split_returns(data_root):
  path = data_root / "wikiann/sw/test.txt.gz"
  assert (corpora.file_format(path).read_iob2(path)
          == corpora.load_split("wikiann/sw", "test", data_root))


def test_available_splits(data_root, tmp_path):
  assert corpora.available_splits("conll2003/de", data_root) == ["dev", "test"]
  assert corpora.available_splits("demo/aa") == list(corpora.SPLITS)
  (tmp_path / "masakhaner" / "xyz").mkdir(parents=True)  # a folder without split files
  with pytest.raises(errors.NotFound, match="no language 'xyz' for masakhaner under .*; "
                                            "available: none"):
    corpora.available_splits("masakhaner/xyz", tmp_path)
