"""`polyglot-ner lineage W`: the chain of runs a checkpoint was fine-tuned from, child first.

  polyglot-ner lineage runs/poly-ft-es
  polyglot-ner lineage runs/poly-ft-es/checkpoints/latest

W is a run workdir (its best checkpoint, else its latest) or a checkpoint path
(W/checkpoints/best/<step>, W/checkpoints/latest). The chain prints from W alone, even when the
ancestors' workdirs have moved (`polyglot_ner.train.lineage`). One line per run: workdir,
checkpoint slot (best or latest) and step, dev macro F1 of that checkpoint, languages.
"""

from __future__ import annotations

from absl import flags

from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.train import lineage as lineage_lib


def _lineage(flag_values: flags.FlagValues, args: list[str]) -> int:
  del flag_values  # none
  print(lineage_lib.format_lineage(lineage_lib.lineage(args[0])))
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner lineage`."""
  return flags_lib.run_command("polyglot-ner lineage", argv, _lineage, positional=("W",),
                               description=__doc__)
