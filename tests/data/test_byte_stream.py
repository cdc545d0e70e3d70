"""A sentence as CharNER's and BTS's byte stream, with every byte's entity type."""

import numpy as np

from polyglot_ner.data import byte_stream
from polyglot_ner.data.conll import Sentence


def test_sentence_bytes_labels_hand_case():
  sentence = Sentence(("John", "Smith", "visited", "New", "York", "Zürich"),
                      ("B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC"))
  stream, byte_labels = byte_stream.sentence_bytes(sentence)
  assert bytes(stream.astype(np.uint8).tolist()).decode() == "John Smith visited New York Zürich"
  assert stream.dtype == np.int32
  expected = (["PER"] * 4 + ["PER"] + ["PER"] * 5 + ["O"] + ["O"] * 7 + ["O"] + ["LOC"] * 3
              + ["LOC"] + ["LOC"] * 4 + ["O"] + ["LOC"] * 7)
  assert byte_labels.tolist() == expected
  empty_stream, empty_labels = byte_stream.sentence_bytes(Sentence((), ()))
  assert empty_stream.shape == empty_labels.shape == (0,)
