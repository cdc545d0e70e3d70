"""Score tables: conlleval's digits per language and the macro average, from hand-counted spans."""

from polyglot_ner.eval import conlleval
from polyglot_ner.eval import tables


def test_format_scores_rows_by_hand():
  # aa: 3 spans found, 2 correct, 4 gold; bb: nothing found of 2 gold spans.
  gold_aa = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-LOC"]]
  pred_aa = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-MISC", "O"]]
  gold_bb = [["B-LOC", "O", "B-PER"]]
  pred_bb = [["O", "O", "O"]]
  scores = conlleval.score_languages({"demo/aa": (gold_aa, pred_aa), "demo/bb": (gold_bb, pred_bb)})
  assert tables.format_scores(scores).splitlines() == [
      "language                   P       R      F1",
      "demo/aa                66.67   50.00   57.14",
      "demo/bb                 0.00    0.00    0.00",
      "macro                  33.33   25.00   28.57"]
