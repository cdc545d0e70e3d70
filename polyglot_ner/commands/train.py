"""`polyglot-ner train`: train (or resume) one run from a config file.

  polyglot-ner train --config configs/byte_crf.py:langs=conll2002/es+conll2002/nl,cpu \\
      --workdir runs/x [--config.optimizer.learning_rate=3e-4 ...]

The config is locked, so an override of a key that does not exist is an error naming it. Rerunning
the same command resumes from the workdir's newest intact checkpoint. Prints the test scores of the
best dev checkpoint, then its dev and test macro F1 as one JSON line.
"""

from __future__ import annotations

import json

from absl import flags

from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.eval import tables

def _train(flag_values: flags.FlagValues, args: list[str]) -> int:
  del args  # none
  from polyglot_ner.train import loop  # pylint: disable=import-outside-toplevel
  results = loop.train_and_evaluate(flag_values.config, flag_values.workdir)
  print(f"best dev checkpoint: step {results['best_step']} (epoch {results['best_epoch']:.2f}), "
        f"stopped by {results['stop_reason']}\n\ntest scores:")
  print(tables.format_scores(results["test"]))
  print(json.dumps({"dev_macro_f1": results["dev"]["macro_f1"],
                    "test_macro_f1": results["test"]["macro_f1"]}))
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner train`."""
  define = flags_lib.config_and_workdir_flags(
      "config file and arg, e.g. configs/byte_crf.py:langs=conll2002/es,cpu",
      "run directory (checkpoints, metrics, results)")
  return flags_lib.run_command("polyglot-ner train", argv, _train, define=define,
                               required=("config", "workdir"), description=__doc__)
