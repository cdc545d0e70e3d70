"""LabelMap: canonical order, union over languages, encode/decode, errors, JSON round trip."""

import random

import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.data import corpora
from polyglot_ner.data.conll import Sentence
from polyglot_ner.data.labels import LabelMap, UnknownTagError


def test_canonical_order_whatever_the_input_order():
  sentences = [Sentence(("a", "b"), ("B-PER", "O")), Sentence(("c",), ("B-LOC",)),
               Sentence(("d", "e"), ("B-MISC", "I-MISC"))]
  expected = ("O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-PER", "I-PER")
  for seed in range(5):
    shuffled = sentences[:]
    random.Random(seed).shuffle(shuffled)
    label_map = LabelMap.from_sentences(shuffled)
    assert label_map.tags == expected
    assert label_map.types == ("LOC", "MISC", "PER")
  assert len(label_map) == 7


def test_union_over_languages():
  langs = ["demo/aa", "demo/bb"]
  sentences = [s for lang in langs for s in corpora.load_split(lang, "train")]
  label_map = LabelMap.from_sentences(sentences)
  assert label_map.tags == ("O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER",
                            "I-PER")


def test_union_of_real_corpora(data_root):
  sentences = (corpora.load_split("wikiann/sw", "train", data_root)
               + corpora.load_split("masakhaner/swa", "train", data_root))
  assert LabelMap.from_sentences(sentences).types == ("DATE", "LOC", "ORG", "PER")


def test_encode_decode_round_trip():
  sentences = corpora.load_split("demo/cc", "dev")
  label_map = LabelMap.from_sentences(sentences)
  for sentence in sentences:
    ids = label_map.encode(sentence.tags)
    assert ids.dtype == np.int32 and ids.shape == (len(sentence),)
    assert [label_map.tags[i] for i in ids] == list(sentence.tags)
    assert label_map.decode(ids) == list(sentence.tags)
  assert label_map.encode([]).shape == (0,)
  assert label_map.encode(["O"])[0] == 0


def test_unknown_tags_are_named():
  label_map = LabelMap(["PER"])
  with pytest.raises(UnknownTagError, match=r"\['B-DATE', 'I-LOC'\] are not in the label map"):
    label_map.encode(["O", "B-DATE", "I-LOC", "B-DATE"])
  assert label_map.missing(["O", "B-PER", "B-DATE", "I-LOC", "B-DATE"]) == ["B-DATE", "I-LOC"]
  assert label_map.missing(["O", "I-PER"]) == []
  with pytest.raises(ValueError, match=r"ids \[3, 7\] out of range"):
    label_map.decode([0, 3, 7])


def test_child_language_tags_missing_from_parent(data_root):
  parent = LabelMap.from_sentences(corpora.load_split("wikiann/sw", "train", data_root))
  child = corpora.load_split("masakhaner/swa", "dev", data_root)
  assert parent.missing(t for s in child for t in s.tags) == ["B-DATE", "I-DATE"]


def test_only_iob2_tags_are_accepted():
  with pytest.raises(ValueError, match="'S-PER' is not an IOB2 tag"):
    LabelMap.from_tags(["O", "S-PER"])
  with pytest.raises(ValueError, match="'B_PER' is not an IOB2 tag"):
    LabelMap.from_tags(["B_PER"])
  with pytest.raises(ValueError, match="invalid entity type"):
    LabelMap(["PER X"])
  assert LabelMap(["WORK-OF-ART", "ÉT"]).types == ("WORK-OF-ART", "ÉT")  # as conlleval reads them


def test_json_round_trip(tmp_path):
  label_map = LabelMap(["PER", "LOC"])
  assert LabelMap.from_json(label_map.to_json()) == label_map
  assert LabelMap.from_json({"tags": list(label_map.tags)}) == label_map
  path = tmp_path / "labels.json"
  label_map.save(path)
  loaded = LabelMap.load(path)
  assert loaded == label_map and loaded.tags == label_map.tags
  assert hash(loaded) == hash(label_map)


def test_foreign_or_broken_json_fails_loudly(tmp_path):
  with pytest.raises(ValueError, match="not in canonical order"):
    LabelMap.from_json('{"tags": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]}')
  with pytest.raises(ValueError, match="key 'tags'"):
    LabelMap.from_json('["O"]')
  path = tmp_path / "broken.json"
  path.write_text("{not json")
  with pytest.raises(errors.UserError, match=str(path)):
    LabelMap.load(path)
  with pytest.raises(errors.NotFound, match="label map .*absent.json does not exist"):
    LabelMap.load(tmp_path / "absent.json")
