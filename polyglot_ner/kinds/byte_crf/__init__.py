"""The paper's byte-level BiLSTM-CRF: word vectors from a BiLSTM over each word's bytes, a word
BiLSTM, a linear-chain CRF over IOB2 tags.

  model.py    the Flax module (`ByteCRF`)
  batches.py  word-level batches: each batch's distinct words, packed into rows of bytes
  kind.py     the `Kind`: loss, Viterbi tags and the CRF's other outputs (a structured kind)
"""

from polyglot_ner.kinds.byte_crf.kind import Kind

__all__ = ["Kind"]
