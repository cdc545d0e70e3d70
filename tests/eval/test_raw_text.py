"""Sentences written out as text keep their tokens' offsets; raw-text scoring counts spans."""

import pytest

from polyglot_ner import runs
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import raw_text


def test_detokenize_writes_text_as_it_is_written():
  tokens = ("La", "Coruña", ",", "23", "may", "(", "EFECOM", ")", ".")
  line, offsets = raw_text.detokenize(tokens)
  assert line == "La Coruña, 23 may (EFECOM)."
  assert [line[a:b] for a, b in offsets] == list(tokens)
  line, _ = raw_text.detokenize(("Las", "reservas", '"', "on", "line", '"', "de", "¿", "qué", "?"))
  assert line == 'Las reservas "on line" de ¿qué?'


def test_detokenized_lines_hold_every_token_of_real_files(data_root):
  for sentence in corpora.load_split("conll2002/es", "test", data_root):
    line, offsets = raw_text.detokenize(sentence.tokens)
    assert [line[a:b] for a, b in offsets] == list(sentence.tokens)


class _Oracle:
  """A run that finds exactly the gold entities of the lines it was built for, by text."""

  def __init__(self, sentences):
    self._gold = {}
    for s in sentences:
      line, offsets = raw_text.detokenize(s.tokens)
      self._gold[line] = [{"start": a, "end": b, "type": t}
                          for a, b, t in raw_text.gold_entities(s, offsets)]

  def entities(self, lines, lang=None, *, tokenize, batch_size=None):
    del lang, batch_size
    return [self._gold[line] if tokenize else self._gold[line][:1] for line in lines]


def test_score_counts_exact_character_spans():
  sentences = [conll.Sentence(("Juan", "vive", "en", "Madrid", "."),
                              ("B-PER", "O", "O", "B-LOC", "O")),
               conll.Sentence(("Nada", "."), ("O", "O"))]
  oracle = _Oracle(sentences)
  assert raw_text.score(oracle, sentences, tokenize=True)["f1"] == 1.0
  half = raw_text.score(oracle, sentences, tokenize=False)
  assert (half["found"], half["correct"], half["gold"]) == (1, 1, 2)
  assert half["recall"] == pytest.approx(0.5)


def test_a_trained_run_scores_as_conlleval_when_text_splits_into_its_tokens(trained_run):
  _, workdir, _ = trained_run
  run = runs.load(workdir)
  sentences = corpora.load_split("demo/aa", "dev")[:40]  # no punctuation: text splits back
  expected = conlleval.score([s.tags for s in sentences], run.tag([s.tokens for s in sentences],
                                                                   "demo/aa"))
  for tokenize in (True, False):
    got = raw_text.score(run, sentences, "demo/aa", tokenize=tokenize)
    assert (got["found"], got["correct"], got["gold"]) == (
        expected["found"], expected["correct"], expected["gold"])
