"""Runs a sweep manifest on this machine with N workers, each run after its dependencies.

A run starts once every run it depends on has finished (its workdir holds results.json); a failed
run's dependants are skipped. Runs already finished are skipped. Each run's output goes to
<workdir>/launch.log. Exits 1 if any run failed or was skipped because of a failure.

  python launch/local.py runs/sweep/manifest.jsonl --workers 2
  python launch/local.py runs/sweep/manifest.jsonl --gpus 0,1,2,3               # a GPU per worker
  python launch/local.py runs/sweep/manifest.jsonl --gpus 0,1,2,3 --workers 2   # two GPUs each
"""

from __future__ import annotations

import argparse
import functools
import os
import pathlib
import shlex
import subprocess
import sys
import time
from collections.abc import Callable

import sweep  # launch/ is on sys.path when this file runs as a script.

POLL_SECONDS = 0.05


def gpu_slots(gpus: str | None, workers: int | None) -> list[str | None]:
  """CUDA_VISIBLE_DEVICES of each worker (None: leave it alone), GPUs split evenly."""
  if not gpus:
    return [None] * (workers or 1)
  ids = [g for g in gpus.split(",") if g]
  workers = workers or len(ids)
  if workers < 1 or len(ids) % workers:
    raise ValueError(f"--gpus {gpus} cannot be split evenly over {workers} workers")
  per = len(ids) // workers
  return [",".join(ids[i * per:(i + 1) * per]) for i in range(workers)]


def _stamp() -> str:
  return time.strftime("%Y-%m-%d %H:%M:%S")


def run_manifest(entries: list[dict], slots: list[str | None],
                 echo: Callable[[str], None] = functools.partial(print, flush=True)
                 ) -> dict[str, str]:
  """Runs the entries (from sweep.read_manifest); returns each id's status.

  Statuses: "done" (finished before), "ok", "failed", "skipped" (a dependency failed).
  """
  status = {e["id"]: "done" if sweep.is_done(e["workdir"]) else "pending" for e in entries}
  for e in entries:
    if status[e["id"]] == "done":
      echo(f"[done] {e['id']}")
  workdirs = {e["id"]: e["workdir"] for e in entries}
  free, running = list(range(len(slots))), {}
  try:
    while True:
      for e in entries:
        if status[e["id"]] == "pending" and any(status[d] in ("failed", "skipped")
                                                for d in e["deps"]):
          status[e["id"]] = "skipped"
          echo(f"[skip] {e['id']} (a dependency failed)")
        elif (free and status[e["id"]] == "pending"
              and all(status[d] in ("ok", "done") for d in e["deps"])):
          slot = free.pop(0)
          try:
            running[e["id"]] = (*_start(e, slots[slot]), slot)
          except OSError as err:  # e.g. the program is not installed
            free.append(slot)
            status[e["id"]] = "failed"
            echo(f"[FAILED] {e['id']}: {err}")
            continue
          status[e["id"]] = "running"
          echo(f"[start] {e['id']}" + (f" on GPUs {slots[slot]}" if slots[slot] else ""))
      if not running:
        return status
      time.sleep(POLL_SECONDS)
      for run_id, (proc, log, start, slot) in list(running.items()):
        if proc.poll() is None:
          continue
        del running[run_id]
        free.append(slot)
        ok = proc.returncode == 0 and sweep.is_done(workdirs[run_id])
        why = "" if ok else (f"exit {proc.returncode}" if proc.returncode else
                             f"exit 0 without {sweep.RESULTS_FILE}")
        log.write(f"\n# {_stamp()} {'ok' if ok else 'FAILED: ' + why} "
                  f"after {time.time() - start:.1f}s\n")
        log.close()
        status[run_id] = "ok" if ok else "failed"
        echo(f"[ok] {run_id}" if ok else f"[FAILED] {run_id}: {why}, see {log.name}")
  except KeyboardInterrupt:
    for proc, log, _, _ in running.values():
      proc.terminate()
      proc.wait()
      log.write(f"\n# {_stamp()} interrupted\n")
      log.close()
    raise


def _start(entry: dict, gpus: str | None):
  """Starts one run with its output appended to <workdir>/launch.log."""
  workdir = pathlib.Path(entry["workdir"])
  workdir.mkdir(parents=True, exist_ok=True)
  env = dict(os.environ)
  if gpus is not None:
    env["CUDA_VISIBLE_DEVICES"] = gpus
  log = open(workdir / "launch.log", "a")
  log.write(f"# {_stamp()} start: {shlex.join(entry['command'])}\n"
            f"# CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '')}\n")
  log.flush()
  try:
    proc = subprocess.Popen(entry["command"], stdout=log, stderr=subprocess.STDOUT, env=env)
  except OSError as err:
    log.write(f"# {_stamp()} FAILED to start: {err}\n")
    log.close()
    raise
  return proc, log, time.time()


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("manifest", help="JSON lines written by launch/sweep.py")
  parser.add_argument("--workers", type=int, help="runs at once (default: 1, or one per GPU)")
  parser.add_argument("--gpus", help="comma-separated GPU ids shared out among the workers")
  args = parser.parse_args(argv)
  try:
    slots = gpu_slots(args.gpus, args.workers)
    entries = sweep.read_manifest(args.manifest)
  except (ValueError, OSError) as e:
    parser.error(str(e))
  try:
    status = run_manifest(entries, slots)
  except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    return 130
  counts = {s: list(status.values()).count(s) for s in ("ok", "done", "failed", "skipped")}
  print(" ".join(f"{k}={v}" for k, v in counts.items()))
  return 1 if counts["failed"] or counts["skipped"] else 0


if __name__ == "__main__":
  sys.exit(main())
