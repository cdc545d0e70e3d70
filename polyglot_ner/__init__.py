"""polyglot_ner: polyglot named-entity recognition in JAX/Flax.

Reproduces and extends Mueller, Andrews & Dredze (ACL 2020), *Sources of Transfer in
Multilingual Named Entity Recognition*, with the paper's three byte-level models.

The public API, stable across versions; everything else is internal and may move:

  polyglot_ner.runs     load a trained run (`runs.load(workdir)`) and use it: tag tokens or
                        text, evaluate, log-likelihoods, marginals, parameter importance
  polyglot_ner.kinds    the model-kind seam: `kinds.build`, `kinds.KINDS`, `kinds.base.Kind`
                        and its optional capabilities `base.StructuredOutput`, `base.SamplesTags`
  polyglot_ner.config   `load_config("configs/byte_crf.py:langs=...,cpu")`, as the commands do
  configs/*.py          the configs, `get_config(arg)`
  polyglot-ner          the commands (`python -m polyglot_ner`): train, evaluate, predict,
                        lineage, experiment, analyze, data
"""

__version__ = "0.1.0"
