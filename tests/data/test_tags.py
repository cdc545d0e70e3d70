"""Tag schemes: spans against a brute-force chunker, conversions, detection, type mapping, and each
scheme's allowed transitions against the sequences the scheme writes."""

import itertools
import random

import numpy as np

import pytest

from polyglot_ner.data import tags as tags_lib
from polyglot_ner.errors import UserError

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
  assert tags_lib.to_iob2(["I-PER"], "bio") == ["B-PER"]


def test_scheme_names_and_aliases():
  assert [tags_lib.scheme_name(name) for name in ("IOB1", "iob2", "BIO", "IOBES", "bioes")] == [
      "IOB1", "IOB2", "IOB2", "IOBES", "IOBES"]
  with pytest.raises(UserError, match="unknown tag scheme 'BILOU'; expected one of IOB1, IOB2"):
    tags_lib.scheme_name("BILOU")


def written_in(scheme: str, tags: list[str]) -> list[str]:
  """How `scheme` writes the chunks of `tags`: a sequence is valid in the scheme iff it is this."""
  chunks = tags_lib.spans(tags)
  if scheme != "IOB1":
    return tags_lib.tags_from_spans(chunks, len(tags), scheme)
  written = ["O"] * len(tags)  # IOB1: I- everywhere, B- where a chunk follows one of its type
  ends = {end: type_ for type_, _, end in chunks}
  for type_, start, end in chunks:
    written[start:end] = ["I-" + type_] * (end - start)
    if ends.get(start) == type_:
      written[start] = "B-" + type_
  return written


@pytest.mark.parametrize("scheme, prefixes", [("IOB1", "BI"), ("IOB2", "BI"), ("IOBES", "BIES")])
def test_allowed_transitions_admit_exactly_what_the_scheme_writes(scheme, prefixes):
  labels = ["O"] + [f"{p}-{t}" for t in TYPES for p in prefixes]
  transitions, first, last = tags_lib.allowed_transitions(labels, scheme)
  assert transitions.shape == (len(labels), len(labels)) and first.shape == last.shape == (
      len(labels),)
  for length in range(1, 4):
    for path in itertools.product(range(len(labels)), repeat=length):
      tags = [labels[i] for i in path]
      allowed = (first[path[0]] and last[path[-1]]
                 and all(transitions[a, b] for a, b in zip(path, path[1:])))
      assert allowed == (written_in(scheme, tags) == tags), (scheme, tags)


def test_allowed_transitions_examples():
  yes, no = True, False
  iob2 = tags_lib.allowed_transitions(["O", "B-PER", "I-PER", "I-LOC"], "BIO")
  np.testing.assert_array_equal(iob2[0], [[yes, yes, no, no],
                                          [yes, yes, yes, no],
                                          [yes, yes, yes, no],
                                          [yes, yes, no, yes]])
  np.testing.assert_array_equal(iob2[1], [yes, yes, no, no])
  np.testing.assert_array_equal(iob2[2], [yes] * 4)
  iob1 = tags_lib.allowed_transitions(["O", "I-PER", "B-PER", "B-LOC"], "IOB1")
  np.testing.assert_array_equal(iob1[0], [[yes, yes, no, no],
                                          [yes, yes, yes, no],
                                          [yes, yes, yes, no],
                                          [yes, yes, no, yes]])
  np.testing.assert_array_equal(iob1[1], [yes, yes, no, no])
  iobes = tags_lib.allowed_transitions(["O", "B-X", "I-X", "E-X", "S-X", "S-Y"], "IOBES")
  np.testing.assert_array_equal(iobes[0], [[yes, yes, no, no, yes, yes],
                                           [no, no, yes, yes, no, no],
                                           [no, no, yes, yes, no, no],
                                           [yes, yes, no, no, yes, yes],
                                           [yes, yes, no, no, yes, yes],
                                           [yes, yes, no, no, yes, yes]])
  np.testing.assert_array_equal(iobes[1], [yes, yes, no, no, yes, yes])
  np.testing.assert_array_equal(iobes[2], [yes, no, no, yes, yes, yes])
  assert [a.shape for a in tags_lib.allowed_transitions([], "IOB2")] == [(0, 0), (0,), (0,)]


def test_allowed_transitions_rejects_bad_labels_and_schemes():
  with pytest.raises(ValueError, match="'E-PER' cannot occur in IOB2"):
    tags_lib.allowed_transitions(["O", "E-PER"], "IOB2")
  with pytest.raises(ValueError, match="unknown tag 'PER'"):
    tags_lib.allowed_transitions(["O", "PER"], "IOBES")
  with pytest.raises(UserError, match="BILOU"):
    tags_lib.allowed_transitions(["O"], "BILOU")


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
