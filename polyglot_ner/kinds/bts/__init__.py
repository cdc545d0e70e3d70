"""Byte-to-Span (Gillick et al. 2016): an LSTM encoder reads a 60-byte window, an LSTM decoder
emits (start, length, type) triples of the entities in it.

  model.py    the Flax module (`ByteToSpan`): teacher-forced loss, greedy decoding
  windows.py  the split as one byte stream, its windows and targets, stitching spans into tags
  kind.py     the `Kind`
"""

from polyglot_ner.kinds.bts.kind import Kind

__all__ = ["Kind"]
