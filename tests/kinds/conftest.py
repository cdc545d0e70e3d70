"""Random corpora shared by the kinds' batch tests."""

import numpy as np
import pytest

from polyglot_ner.data.conll import Sentence

ALPHABET = list("abcdefghijklmnopqrstuvwxyz") + ["é", "ß", "Ж", "中", "😀"]


def random_sentences(rng: np.random.Generator, n: int, prefix: str, *, max_len: int,
                     max_word_chars: int, long_words: bool) -> list[Sentence]:
  """Distinct sentences (first token = prefix + index) of random multi-byte words and IOB2 tags;
  with `long_words`, 5% end in an 80-byte word."""
  sentences = []
  for i in range(n):
    length = int(rng.integers(1, max_len + 1))
    tokens = [f"{prefix}{i}"] + ["".join(rng.choice(ALPHABET, size=rng.integers(1, max_word_chars)))
                                 for _ in range(length - 1)]
    if long_words and rng.random() < 0.05:
      tokens[-1] = "Ж" * 40
    tags, previous = [], None
    for _ in tokens:
      type_ = rng.choice(["O", "PER", "LOC"])
      tags.append("O" if type_ == "O" else
                  ("I-" if previous == type_ and rng.random() < 0.5 else "B-") + type_)
      previous = type_
    sentences.append(Sentence(tuple(tokens), tuple(tags)))
  return sentences


@pytest.fixture(scope="session")
def random_languages():
  """`random_languages(**options)`: languages xx/a (150 sentences) and xx/b (61), seed 0."""
  def languages(**options):
    rng = np.random.default_rng(0)
    return {"xx/a": random_sentences(rng, 150, "a", **options),
            "xx/b": random_sentences(rng, 61, "b", **options)}
  return languages
