"""Tag schemes: spans against a brute-force chunker, conversions, detection, type mapping."""

import random

import pytest

from polyglot_ner.data import tags as tags_lib

TYPES = ("A", "B")


def random_tags(rng: random.Random, prefixes: str = "BI") -> list[str]:
  """Any sequence over the given prefixes, including ones that are not valid IOB2."""
  choices = ["O"] + [f"{p}-{t}" for p in prefixes for t in TYPES]
  return [rng.choice(choices) for _ in range(rng.randrange(0, 12))]


def brute_force_spans(tags: list[str]) -> list[tuple[str, int, int]]:
  """Every interval that is a chunk by the README's definition, checked one by one."""
  found = []
  n = len(tags)
  for start in range(n):
    for end in range(start + 1, n + 1):
      if tags[start] == "O":
        continue
      type_ = tags[start][2:]
      opens = (tags[start] == "B-" + type_ or start == 0 or tags[start - 1] == "O"
               or tags[start - 1][2:] != type_)
      inside = all(tags[k] == "I-" + type_ for k in range(start + 1, end))
      closed = end == n or tags[end] != "I-" + type_
      if opens and inside and closed:
        found.append((type_, start, end))
  return found


def test_spans_match_brute_force_on_random_iob_sequences():
  rng = random.Random(0)
  for _ in range(3000):
    tags = random_tags(rng)
    assert tags_lib.spans(tags) == brute_force_spans(tags), tags


@pytest.mark.parametrize("tags, expected", [
    ([], []),
    (["O", "O"], []),
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["I-PER", "I-PER", "B-PER", "I-PER"], [("PER", 0, 2), ("PER", 2, 4)]),  # IOB1
    (["O", "I-ORG", "I-LOC"], [("ORG", 1, 2), ("LOC", 2, 3)]),  # stray I-, then a type change
    (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
    # IOBES, with conlleval's treatment of odd sequences.
    (["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"], [("PER", 0, 1), ("LOC", 1, 4)]),
    (["E-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
    (["B-PER", "E-PER", "I-PER"], [("PER", 0, 2), ("PER", 2, 3)]),
    (["S-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
])
def test_spans_examples(tags, expected):
  assert tags_lib.spans(tags) == expected


def test_iob1_to_iob2_example_and_repair():
  assert tags_lib.iob1_to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]) == [
      "B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]
  assert tags_lib.iob1_to_iob2(["O", "I-MISC", "I-MISC"]) == ["O", "B-MISC", "I-MISC"]


def test_iob1_to_iob2_keeps_spans_and_yields_valid_iob2():
  rng = random.Random(1)
  for _ in range(2000):
    tags = random_tags(rng)
    iob2 = tags_lib.iob1_to_iob2(tags)
    assert tags_lib.spans(iob2) == brute_force_spans(tags)
    for prev, tag in zip(["O"] + iob2, iob2):
      if tag.startswith("I-"):
        assert prev[2:] == tag[2:], iob2


def test_iob2_iobes_round_trip():
  rng = random.Random(2)
  for _ in range(2000):
    iob2 = tags_lib.iob1_to_iob2(random_tags(rng))
    iobes = tags_lib.iob2_to_iobes(iob2)
    assert tags_lib.iobes_to_iob2(iobes) == iob2
    assert tags_lib.spans(iobes) == tags_lib.spans(iob2)
    for type_, start, end in tags_lib.spans(iob2):
      if end - start == 1:
        assert iobes[start] == "S-" + type_
      else:
        assert iobes[start] == "B-" + type_ and iobes[end - 1] == "E-" + type_


def test_iob2_to_iobes_example():
  assert tags_lib.iob2_to_iobes(["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC"]) == [
      "B-PER", "I-PER", "E-PER", "O", "S-LOC", "S-LOC"]


def test_to_iob2_checks_scheme():
  assert tags_lib.to_iob2(["S-PER", "O"], "IOBES") == ["B-PER", "O"]
  with pytest.raises(ValueError, match="not IOB2"):
    tags_lib.to_iob2(["S-PER"], "IOB2")
  with pytest.raises(ValueError, match="unknown tag scheme"):
    tags_lib.to_iob2(["O"], "BILOU")


@pytest.mark.parametrize("sequences, scheme", [
    ([["I-PER", "I-PER", "O", "I-LOC"], ["I-ORG", "B-ORG"]], "IOB1"),
    ([["B-PER", "I-PER", "O", "B-LOC"], ["O"]], "IOB2"),
    ([["B-PER", "E-PER"]], "IOBES"),
    ([["S-PER"]], "IOBES"),
    ([["O", "O"], []], "IOB2"),
    # An IOB2 corpus with one annotation slip (as conll2002/es train) stays IOB2.
    ([["B-PER", "O", "B-LOC"], ["O", "I-LOC"], ["B-ORG", "I-ORG"]], "IOB2"),
])
def test_detect_scheme(sequences, scheme):
  assert tags_lib.detect_scheme(sequences) == scheme


def test_detect_scheme_accepts_a_generator():
  assert tags_lib.detect_scheme(iter([("I-PER",), ("O", "I-LOC")])) == "IOB1"


def test_map_types_matches_span_mapping():
  rng = random.Random(3)
  type_map = {"A": "O", "B": "C"}
  for _ in range(1000):
    tags = tags_lib.iob1_to_iob2(random_tags(rng))
    expected = [(type_map.get(t, t), s, e) for t, s, e in tags_lib.spans(tags)
                if type_map.get(t, t) != "O"]
    mapped = tags_lib.map_types(tags, type_map)
    assert tags_lib.spans(mapped) == expected
    assert tags_lib.iob1_to_iob2(mapped) == mapped  # already valid IOB2


def test_map_types_keeps_adjacent_chunks_apart_and_checks_targets():
  assert tags_lib.map_types(["B-MISC", "I-MISC", "B-PER"], {"MISC": "PER"}) == [
      "B-PER", "I-PER", "B-PER"]
  assert tags_lib.map_types(["B-DATE", "I-DATE", "B-LOC"], {"DATE": "O"}) == ["O", "O", "B-LOC"]
  with pytest.raises(ValueError, match="MISC"):
    tags_lib.map_types(["O"], {"MISC": "B-PER"})


def test_tags_from_spans_rejects_bad_spans():
  with pytest.raises(ValueError, match="does not fit"):
    tags_lib.tags_from_spans([("PER", 2, 5)], 4)
  with pytest.raises(ValueError, match="IOB2 or IOBES"):
    tags_lib.tags_from_spans([], 4, "IOB1")


@pytest.mark.parametrize("tag, valid", [
    ("O", True), ("B-PER", True), ("I-MISC", True), ("S-LOC", True), ("E-DATE", True),
    ("B_PER", False), ("X-PER", False), ("B-", False), ("", False), ("o", False),
    ("B-PER ", False), ("PER", False),
])
def test_is_valid_tag(tag, valid):
  assert tags_lib.is_valid_tag(tag) is valid


def test_entity_type():
  assert tags_lib.entity_type("B-PER") == "PER"
  assert tags_lib.entity_type("I-MISC") == "MISC"
  assert tags_lib.entity_type("O") is None
