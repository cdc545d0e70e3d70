"""`polyglot-ner experiment`: the paper's mono / polyglot / polyglot+FT protocol in one command.

  polyglot-ner experiment --config configs/experiment.py --workdir runs/exp_demo
  polyglot-ner experiment \\
      --config configs/experiment.py:langs=conll2003/en+conll2002/es+conll2002/nl,cpu \\
      --workdir runs/exp [--config.seeds=0,1,2 --config.finetune.num_epochs=4 ...]

Rerunning the same command skips finished runs, resumes an interrupted one and rewrites the
results. The runs share the model's shapes, so XLA's persistent compilation cache (in
`<workdir>/xla_cache`, unless `jax_compilation_cache_dir` is already set) compiles each program
once.
"""

from __future__ import annotations

import os

from absl import flags
from ml_collections import config_flags

from polyglot_ner.train import cli

RESULTS_FILES = ("results.json", "results.md", "results.png")


def _define(flag_values: flags.FlagValues, argv: list[str]) -> None:
  config_flags.DEFINE_config_file("config", None, "experiment config file and arg, e.g. "
                                  "configs/experiment.py:langs=conll2002/es+conll2002/nl,cpu",
                                  flag_values=flag_values, lock_config=True, sys_argv=argv)
  flags.DEFINE_string("workdir", None, "experiment directory (one workdir per run inside)",
                      flag_values=flag_values)


def _run(flag_values: flags.FlagValues) -> int:
  import jax  # pylint: disable=import-outside-toplevel
  from polyglot_ner import experiment  # pylint: disable=import-outside-toplevel
  if not jax.config.jax_compilation_cache_dir:
    jax.config.update("jax_compilation_cache_dir",
                      os.path.join(flag_values.workdir, "xla_cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  from polyglot_ner import experiment_report  # pylint: disable=import-outside-toplevel
  results = experiment.run_experiment(flag_values.config, flag_values.workdir)
  print(f"\nwrote {', '.join(os.path.join(flag_values.workdir, name) for name in RESULTS_FILES)}"
        f"\n\n{experiment_report.markdown(results)}")
  return 0


def main(argv: list[str]) -> int:
  """Entry point of `polyglot-ner experiment`."""
  return cli.run_command("polyglot-ner experiment", argv, _define, ("config", "workdir"), _run)
