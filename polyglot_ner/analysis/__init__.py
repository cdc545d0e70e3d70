"""Which parameters each language relies on in a polyglot model, how many the languages share,
and which ones fine-tuning moves: the paper's analysis (research-notes §6), for any model kind.

  importance  per-language scores: empirical and true diagonal Fisher, Taylor, magnitude
  layout      a parameter tree as one flat vector (global rankings, per-tensor slices)
  masks       top-k% sets of parameters at several fractions at once
  overlap     Jaccard matrices and shared-by-all / by-one fractions against chance; monolingual
              models' overlap across seeds (a shared initialisation against language)
  pruning     zeroing a language's top-k set (`apply_mask`) and scoring every language
  shift       how far a fine-tuned child moved each parameter, against each language's importance
  finetune_importance  a fine-tuned child's own importance against its parent's sets
  plots       heatmaps, curves and bars; report: analysis.json, CSVs, PNGs, analysis.md
  pipeline    `analyze`: all of the above from a model, data chunks and a scorer to the report
  examples    per-example inputs and losses of any model kind (one-row batches in chunks)
  runs_analysis  trained runs (an experiment's workdir or one run) to the report: the library of
              `polyglot-ner analyze`; `polyglot_ner.runs` gives notebooks the same per run
"""
