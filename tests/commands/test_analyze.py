"""`polyglot-ner analyze` on one trained run (the experiment's analysis: tests/analysis); a
directory without runs is a one-line error."""

import json

from polyglot_ner import __main__ as dispatcher


def test_analyze_writes_the_report_of_one_run(trained_run, tmp_path, capsys):
  config, workdir, _ = trained_run
  output = tmp_path / "report"
  assert dispatcher.main(["analyze", f"--workdir={workdir}", f"--output={output}",
                          "--fractions=0.05,0.2", "--pruning_fractions=0.2",
                          "--methods=fisher,magnitude", "--max_sentences=8",
                          "--chunk_size=8"]) == 0
  assert f"wrote {output / 'analysis.md'}" in capsys.readouterr().out
  numbers = json.loads((output / "analysis.json").read_text())
  languages = list(config.data.langs)
  assert numbers["meta"]["sentences per language"] == {lang: 8 for lang in languages}
  assert [o["method"] for o in numbers["overlap"]] == ["fisher", "magnitude"]
  assert numbers["pruning"]["fractions"] == [0.2] and numbers["shift"] == []
  markdown = (output / "analysis.md").read_text()
  assert "## Pruning" in markdown and "Fine-tuning shift" not in markdown


def test_analyze_without_runs_fails_in_one_line(tmp_path, capsys):
  assert dispatcher.main(["analyze", f"--workdir={tmp_path}"]) == 1
  err = capsys.readouterr().err
  assert err == (f"polyglot-ner analyze: error: {tmp_path} holds no run with a checkpoint "
                 "(neither a run workdir nor an experiment's)\n")
