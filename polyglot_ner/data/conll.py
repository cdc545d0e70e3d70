"""CoNLL column files: reading, writing, and the `Sentence` record the whole project passes around."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Sentence:
  """One annotated sentence: parallel tuples of tokens and (IOB2 after loading) tags."""

  tokens: tuple[str, ...]
  tags: tuple[str, ...]

  def __post_init__(self):
    if len(self.tokens) != len(self.tags):
      raise ValueError(f"{len(self.tokens)} tokens but {len(self.tags)} tags")

  def __len__(self) -> int:
    return len(self.tokens)
