"""Prediction files: exact conlleval lines, a lossless round trip, and scoring read-back files."""

import pytest

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import predictions

SENTENCES = [
    conll.Sentence(("Ana", "vive", "en", "São", "Paulo"), ("B-PER", "O", "O", "B-LOC", "I-LOC")),
    conll.Sentence(("Zürich",), ("B-LOC",)),
]
PREDICTED = [["B-PER", "O", "O", "B-LOC", "O"], ["B-ORG"]]


def test_writes_conlleval_lines(tmp_path):
  path = tmp_path / "pred.conll"
  predictions.write_predictions(path, SENTENCES, PREDICTED)
  assert path.read_text(encoding="utf-8") == (
      "Ana B-PER B-PER\nvive O O\nen O O\nSão B-LOC B-LOC\nPaulo I-LOC O\n\nZürich B-LOC B-ORG\n\n")


def test_round_trip_and_score(tmp_path):
  path = tmp_path / "pred.conll"
  predictions.write_predictions(path, SENTENCES, PREDICTED)
  sentences, predicted = predictions.read_predictions(path)
  assert sentences == SENTENCES
  assert predicted == PREDICTED
  result = conlleval.score([s.tags for s in sentences], predicted)
  # gold PER LOC LOC, predicted PER* LOC ORG: P 1/3, R 1/3.
  assert (result["gold"], result["found"], result["correct"]) == (3, 3, 1)


def test_mismatched_predictions_are_errors(tmp_path):
  with pytest.raises(ValueError, match="sentence 0"):
    predictions.write_predictions(tmp_path / "x", SENTENCES, [PREDICTED[0][:-1], PREDICTED[1]])


def test_short_line_names_file_and_line(tmp_path):
  path = tmp_path / "bad.conll"
  path.write_text("a O O\n\nb O\n", encoding="utf-8")
  with pytest.raises(errors.UserError, match=r"bad.conll:3: expected 'token gold pred'"):
    predictions.read_predictions(path)
  with pytest.raises(errors.NotFound, match="absent.conll does not exist"):
    predictions.read_predictions(tmp_path / "absent.conll")
