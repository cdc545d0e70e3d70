"""The paper's study: mono, polyglot and polyglot+FT runs of one model kind, and their comparison.

  experiment.py       the protocol: plan the runs, train them in order, collect and test results
  report.py           its tables, paired bootstrap lines and plot
  plan.py             planned runs and their workdir names, shared with `launch/sweep.py`
  finished.py         whether a run's workdir holds a finished run of a given config
  finetune_recipe.py  the overrides that turn a training config into a fine-tuning one
"""
