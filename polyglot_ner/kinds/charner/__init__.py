"""CharNER (Kuru et al. 2016) over bytes: a stacked BiLSTM labels every byte of the sentence with
an entity type; a word-consistent Viterbi turns byte labels into word IOB2 tags.

  model.py    the Flax module (`CharNER`) and its per-byte cross-entropy
  batches.py  byte rows: each sentence one row, words joined by a space, byte classes
  decode.py   the word-consistent Viterbi over bytes and the word tags it implies
  kind.py     the `Kind`
"""

from polyglot_ner.kinds.charner.kind import Kind

__all__ = ["Kind"]
