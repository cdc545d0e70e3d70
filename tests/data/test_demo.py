"""The synthetic demo corpus: sizes, determinism across processes, valid IOB2, real transfer."""

import collections
import hashlib
import os
import pathlib
import subprocess
import sys

import pytest

from polyglot_ner.data import demo
from polyglot_ner.data import tags as tags_lib


def fingerprint() -> str:
  digest = hashlib.sha256()
  for lang in demo.LANGUAGES:
    for split in demo.SPLIT_SIZES:
      for sentence in demo.load_split(lang, split):
        digest.update(repr((lang, split, sentence.tokens, sentence.tags)).encode())
  return digest.hexdigest()


def test_sizes_and_iob2():
  for lang in demo.LANGUAGES:
    for split, size in demo.SPLIT_SIZES.items():
      sentences = demo.load_split(lang, split)
      assert len(sentences) == size
      for sentence in sentences:
        assert 0 < len(sentence) < 40
        assert list(sentence.tags) == tags_lib.iob1_to_iob2(sentence.tags)  # valid IOB2
        assert all(tags_lib.is_valid_tag(tag) for tag in sentence.tags)
        assert all(token and " " not in token for token in sentence.tokens)
  types = {t for s in demo.load_split("aa", "train") for t, _, _ in tags_lib.spans(s.tags)}
  assert types == {"PER", "LOC", "ORG", "MISC"}


def test_same_corpus_in_a_fresh_process():
  code = "import tests.data.test_demo as t; print(t.fingerprint())"
  fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=pathlib.Path(__file__).parents[2],
                         env={**os.environ, "PYTHONHASHSEED": "123"})
  assert fresh.stdout.strip() == fingerprint()


def test_unknown_language_or_split():
  with pytest.raises(ValueError, match="demo languages: aa, bb, cc, dd"):
    demo.load_split("en", "train")
  with pytest.raises(ValueError, match="unknown split"):
    demo.load_split("aa", "validation")


def entity_strings(lang: str, split: str = "train") -> set[str]:
  return {" ".join(s.tokens[a:b]) for s in demo.load_split(lang, split)
          for type_, a, b in tags_lib.spans(s.tags) if type_ == "PER"}


def test_languages_share_names_but_not_vocabulary():
  for other in demo.LANGUAGES[1:]:
    assert len(entity_strings("aa") & entity_strings(other)) >= 30
    words = lambda lang: {t.lower() for s in demo.load_split(lang, "train")
                          for t, tag in zip(s.tokens, s.tags) if tag == "O" and t.isalpha()}
    shared = words("aa") & words(other)
    assert len(shared) < 0.1 * len(words("aa")), shared


def memorising_tagger(train):
  """Tag each known word with its most frequent type in `train`; unknown words are O."""
  counts = collections.defaultdict(collections.Counter)
  for sentence in train:
    for token, tag in zip(sentence.tokens, sentence.tags):
      counts[token][tags_lib.entity_type(tag) or "O"] += 1
  best = {token: c.most_common(1)[0][0] for token, c in counts.items()}

  def tag(tokens):
    chunks, start = [], 0
    types = [best.get(token, "O") for token in tokens] + ["O"]
    for i in range(1, len(types)):
      if types[i] != types[i - 1]:
        if types[i - 1] != "O":
          chunks.append((types[i - 1], start, i))
        start = i
    return set(chunks)
  return tag


def f1(tagger, sentences) -> float:
  tp = n_gold = n_pred = 0
  for sentence in sentences:
    gold, pred = set(tags_lib.spans(sentence.tags)), tagger(sentence.tokens)
    tp, n_gold, n_pred = tp + len(gold & pred), n_gold + len(gold), n_pred + len(pred)
  return 2 * tp / (n_gold + n_pred)


def test_learnable_and_polyglot_data_helps():
  """Even a word-memorising baseline scores well, and more so with the other languages' data
  (names held out of one language's train split occur in the others')."""
  every_train = [s for lang in demo.LANGUAGES for s in demo.load_split(lang, "train")]
  polyglot = memorising_tagger(every_train)
  for lang in demo.LANGUAGES:
    test = demo.load_split(lang, "test")
    mono = f1(memorising_tagger(demo.load_split(lang, "train")), test)
    poly = f1(polyglot, test)
    assert mono > 0.4
    assert poly > mono + 0.1, (lang, mono, poly)
