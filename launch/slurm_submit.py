"""Submits a sweep manifest to SLURM, one launch/slurm.sbatch job per unfinished run.

A run's job waits for its dependencies' jobs (`--dependency=afterok:...`) and is cancelled if
one of them fails. Runs already finished are not submitted. The job's log is
<workdir>/slurm-<jobid>.log. Options after `--` go to every sbatch call.

  python launch/slurm_submit.py runs/sweep/manifest.jsonl -- --nodes=2 --time=12:00:00
  python launch/slurm_submit.py runs/sweep/manifest.jsonl --dry-run
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import subprocess
import sys

import sweep  # launch/ is on sys.path when this file runs as a script.

SBATCH_SCRIPT = pathlib.Path(__file__).with_name("slurm.sbatch")


def sbatch_command(entry: dict, dep_jobs: list[str], sbatch_args: list[str]) -> list[str]:
  """The sbatch call for one manifest entry whose unfinished dependencies have job ids dep_jobs."""
  command = ["sbatch", "--parsable", f"--job-name={entry['id']}",
             f"--output={os.path.join(entry['workdir'], 'slurm-%j.log')}"]
  if dep_jobs:
    command += [f"--dependency=afterok:{':'.join(dep_jobs)}", "--kill-on-invalid-dep=yes"]
  return command + sbatch_args + [str(SBATCH_SCRIPT), *entry["command"]]


def submit(entries: list[dict], sbatch_args: list[str], dry_run: bool = False) -> dict[str, str]:
  """Submits every unfinished entry, parents first; returns run id -> job id."""
  jobs: dict[str, str] = {}
  for entry in entries:
    if sweep.is_done(entry["workdir"]):
      continue
    command = sbatch_command(entry, [jobs[d] for d in entry["deps"] if d in jobs], sbatch_args)
    if dry_run:
      print(shlex.join(command))
      jobs[entry["id"]] = f"<{entry['id']}>"
      continue
    pathlib.Path(entry["workdir"]).mkdir(parents=True, exist_ok=True)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    jobs[entry["id"]] = out.strip().split(";")[0]  # --parsable prints "jobid[;cluster]"
    print(f"{jobs[entry['id']]} {entry['id']}")
  return jobs


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  sbatch_args = argv[argv.index("--") + 1:] if "--" in argv else []
  argv = argv[:argv.index("--")] if "--" in argv else argv
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("manifest", help="JSON lines written by launch/sweep.py")
  parser.add_argument("--dry-run", action="store_true", help="print the sbatch calls only")
  args = parser.parse_args(argv)
  try:
    entries = sweep.read_manifest(args.manifest)
  except (ValueError, OSError) as e:
    parser.error(str(e))
  try:
    submit(entries, sbatch_args, args.dry_run)
  except subprocess.CalledProcessError as e:
    print(f"sbatch failed ({e.returncode}): {e.stderr.strip()}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
