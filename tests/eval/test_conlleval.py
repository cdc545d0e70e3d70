"""The scorer against conlleval's numbers on hand-made cases.

The expected counts below were worked out by hand from conlleval's startOfChunk/endOfChunk rules
(and agree with conlleval.pl run on the same lines):

  gold                           pred                           gold spans        pred spans
  I-PER I-PER O I-LOC B-LOC      B-PER I-PER O B-LOC I-LOC      PER LOC LOC       PER* LOC(3-4)
  O B-ORG I-ORG O B-MISC         O I-ORG I-ORG O O              ORG MISC          ORG* (stray I-)
  B-PER I-PER O B-LOC B-LOC      B-PER I-LOC O B-LOC I-LOC      PER LOC LOC       PER LOC LOC(3-4)
  O B-PER                        O B-PER                        PER               PER*
  I-PER O                        B-PER I-MISC                   PER (own span)    PER* MISC

IOB1 gold (row 1), a stray I- (row 2), a type switch inside a span (row 3: B-PER I-LOC is two
spans), adjacent B-X B-X (row 3), and a span that must not continue across a sentence boundary
(rows 4-5). * = correct. 19 tokens, 10 of them tagged identically.
"""

import pytest

from polyglot_ner.eval import conlleval

GOLD = [
    ["I-PER", "I-PER", "O", "I-LOC", "B-LOC"],
    ["O", "B-ORG", "I-ORG", "O", "B-MISC"],
    ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"],
    ["O", "B-PER"],
    ["I-PER", "O"],
]
PRED = [
    ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"],
    ["O", "I-ORG", "I-ORG", "O", "O"],
    ["B-PER", "I-LOC", "O", "B-LOC", "I-LOC"],
    ["O", "B-PER"],
    ["B-PER", "I-MISC"],
]


def test_overall_matches_conlleval():
  result = conlleval.score(GOLD, PRED)
  assert (result["gold"], result["found"], result["correct"]) == (10, 9, 4)
  assert result["precision"] == pytest.approx(4 / 9)
  assert result["recall"] == pytest.approx(4 / 10)
  assert result["f1"] == pytest.approx(8 / 19)
  assert result["tokens"] == 19
  assert result["accuracy"] == pytest.approx(10 / 19)


def test_per_type_matches_conlleval():
  per_type = conlleval.score(GOLD, PRED)["per_type"]
  counts = {kind: (s["gold"], s["found"], s["correct"]) for kind, s in per_type.items()}
  assert counts == {"LOC": (4, 3, 0), "MISC": (1, 1, 0), "ORG": (1, 1, 1), "PER": (4, 4, 3)}
  assert per_type["PER"]["f1"] == pytest.approx(0.75)
  assert per_type["ORG"]["f1"] == 1.0
  assert per_type["LOC"]["precision"] == per_type["LOC"]["f1"] == 0.0


def test_tuples_and_lists_score_alike():
  as_tuples = conlleval.score([tuple(s) for s in GOLD], [tuple(s) for s in PRED])
  assert as_tuples == conlleval.score(GOLD, PRED)


def test_no_predictions_scores_zero_like_conlleval():
  result = conlleval.score(GOLD, [["O"] * len(s) for s in GOLD])
  assert (result["found"], result["precision"], result["recall"], result["f1"]) == (0, 0.0, 0.0, 0.0)


def test_mismatched_lengths_are_errors():
  with pytest.raises(ValueError, match="sentence 1"):
    conlleval.score(GOLD[:2], [PRED[0], PRED[1][:-1]])
  with pytest.raises(ValueError, match="2 gold sentences but 1"):
    conlleval.score(GOLD[:2], PRED[:1])


def test_languages_micro_and_macro():
  result = conlleval.score_languages({"xx": (GOLD[:2], PRED[:2]), "yy": (GOLD[2:], PRED[2:])})
  xx, yy = result["per_language"]["xx"], result["per_language"]["yy"]
  # xx: gold PER LOC LOC ORG MISC, pred PER* LOC ORG*: P 2/3, R 2/5, F1 1/2.
  assert (xx["gold"], xx["found"], xx["correct"]) == (5, 3, 2)
  assert xx["f1"] == pytest.approx(0.5)
  # yy: gold PER LOC LOC PER PER, pred PER LOC LOC PER* PER* MISC: P 2/6, R 2/5, F1 4/11.
  assert (yy["gold"], yy["found"], yy["correct"]) == (5, 6, 2)
  assert yy["f1"] == pytest.approx(4 / 11)
  assert result["macro_f1"] == pytest.approx((0.5 + 4 / 11) / 2)
  assert result["macro_precision"] == pytest.approx((2 / 3 + 2 / 6) / 2)
  assert result["micro"] == conlleval.score(GOLD, PRED)
  assert conlleval.macro_average({}) == 0.0
