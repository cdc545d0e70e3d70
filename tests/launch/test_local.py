"""The local runner on manifests of tiny Python commands: order, failures, skips, GPUs, exit code."""

import json
import pathlib
import subprocess
import sys

import pytest

import local
import sweep

LAUNCH_DIR = pathlib.Path(local.__file__).parent

# argv: workdir, seconds to sleep, exit code. Records its start/end times and CUDA_VISIBLE_DEVICES
# in trace.json, and results.json when it succeeds.
RUN = """
import json, os, sys, time
workdir, sleep, code = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
start = time.time(); time.sleep(sleep)
trace = {"start": start, "end": time.time(), "gpus": os.environ.get("CUDA_VISIBLE_DEVICES")}
json.dump(trace, open(os.path.join(workdir, "trace.json"), "w"))
if code == 0 and not os.path.exists(os.path.join(workdir, "no_results")):
  json.dump({}, open(os.path.join(workdir, "results.json"), "w"))
sys.exit(code)
"""


def write_manifest(tmp_path, specs):
  """specs: (id, deps, sleep, exit code); returns the manifest path."""
  lines = []
  for run_id, deps, sleep, code in specs:
    workdir = tmp_path / run_id
    lines.append({"id": run_id, "workdir": str(workdir), "deps": deps,
                  "command": [sys.executable, "-c", RUN, str(workdir), str(sleep), str(code)]})
  path = tmp_path / "manifest.jsonl"
  path.write_text("".join(json.dumps(line) + "\n" for line in lines))
  return path


def run_local(manifest, *flags):
  return subprocess.run([str(LAUNCH_DIR / "local.sh"), str(manifest), *flags],
                        capture_output=True, text=True, timeout=60,
                        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})


def trace(tmp_path, run_id):
  return json.loads((tmp_path / run_id / "trace.json").read_text())


def test_dependencies_failures_and_finished_runs(tmp_path):
  manifest = write_manifest(tmp_path, [
      ("poly", [], 0.6, 0), ("other", [], 0.2, 0), ("poly.ft", ["poly"], 0, 0),
      ("bad", [], 0, 1), ("bad.ft", ["bad"], 0, 0), ("bad.ft.ft", ["bad.ft"], 0, 0),
      ("finished", [], 0, 7), ("finished.ft", ["finished"], 0, 0),
      ("silent", [], 0, 0)])
  (tmp_path / "finished").mkdir()
  (tmp_path / "finished" / "results.json").write_text("{}")
  (tmp_path / "silent").mkdir()
  (tmp_path / "silent" / "no_results").write_text("")  # exits 0 but writes no results.json

  result = run_local(manifest, "--gpus", "0,1")
  assert result.returncode == 1, result.stdout + result.stderr
  poly, other, child = (trace(tmp_path, r) for r in ("poly", "other", "poly.ft"))
  assert child["start"] >= poly["end"]
  assert other["start"] < poly["end"] and poly["start"] < other["end"]  # two workers at once
  assert {poly["gpus"], other["gpus"]} == {"0", "1"}
  for skipped in ("bad.ft", "bad.ft.ft"):
    assert not (tmp_path / skipped).exists()
    assert f"[skip] {skipped}" in result.stdout
  assert not (tmp_path / "finished" / "launch.log").exists()  # not run again
  assert (tmp_path / "finished.ft" / "results.json").is_file()
  assert "[FAILED] bad: exit 1" in result.stdout
  assert "[FAILED] silent: exit 0 without results.json" in result.stdout
  assert "ok=4 done=1 failed=2 skipped=2" in result.stdout
  log = (tmp_path / "poly" / "launch.log").read_text()
  assert "start:" in log and "CUDA_VISIBLE_DEVICES=" in log and " ok after " in log


def test_success_exits_zero_and_a_rerun_runs_nothing(tmp_path):
  manifest = write_manifest(tmp_path, [("a", [], 0, 0), ("a.ft", ["a"], 0, 0)])
  first = run_local(manifest, "--workers", "2")
  assert first.returncode == 0 and "ok=2 done=0 failed=0 skipped=0" in first.stdout
  log = (tmp_path / "a" / "launch.log").read_text()
  second = run_local(manifest)
  assert second.returncode == 0 and "ok=0 done=2 failed=0 skipped=0" in second.stdout
  assert (tmp_path / "a" / "launch.log").read_text() == log
  assert trace(tmp_path, "a")["gpus"] is None


def test_a_missing_program_fails_its_run(tmp_path):
  manifest = tmp_path / "m.jsonl"
  runs = sweep.expand(["demo/aa"], ["mono"], [0], ["byte_crf"], root=str(tmp_path))
  entry = runs[0].to_json() | {"command": [str(tmp_path / "no-such-program")]}
  manifest.write_text(json.dumps(entry) + "\n")
  result = run_local(manifest)
  assert result.returncode == 1 and "[FAILED] byte_crf/seed0/demo_aa" in result.stdout


def test_gpu_slots():
  assert local.gpu_slots("0,1,2,3", None) == ["0", "1", "2", "3"]
  assert local.gpu_slots("0,1,2,3", 2) == ["0,1", "2,3"]
  assert local.gpu_slots(None, 3) == [None, None, None]
  with pytest.raises(ValueError, match="evenly"):
    local.gpu_slots("0,1,2", 2)
