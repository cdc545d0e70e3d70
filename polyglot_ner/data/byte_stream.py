"""A sentence as the one UTF-8 byte stream that CharNER and Byte-to-Span read, with the entity
type of every byte."""

from __future__ import annotations

import numpy as np

from polyglot_ner.data import conll


def sentence_bytes(sentence: conll.Sentence) -> tuple[np.ndarray, np.ndarray]:
  """The sentence as one UTF-8 byte stream (words joined by one space) and per-byte entity types.

  Labels (research-notes §2.2, CharNER): every byte of a word gets the word's type ("O", "PER",
  ...); the space before a word gets that type if the word's tag is I-, else "O". Returns int32
  byte values [L] and a str array [L].
  """
  if not len(sentence):
    return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=str)
  stream = np.frombuffer(" ".join(sentence.tokens).encode("utf-8"), dtype=np.uint8).astype(np.int32)
  types = [tag if tag == "O" else tag[2:] for tag in sentence.tags]
  pieces, piece_labels = [], []
  for i, (token, tag, type_) in enumerate(zip(sentence.tokens, sentence.tags, types)):
    if i:
      pieces.append(1)
      piece_labels.append(type_ if tag.startswith("I-") else "O")
    pieces.append(len(token.encode("utf-8")))
    piece_labels.append(type_)
  return stream, np.repeat(np.array(piece_labels), pieces)
