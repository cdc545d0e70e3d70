"""slurm.sbatch's per-process JAX settings and slurm_submit.py's dependency chain, run against
fake `scontrol`, `srun` and `sbatch` programs that mimic what SLURM gives a job."""

import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

import sweep

LAUNCH_DIR = pathlib.Path(sweep.__file__).parent
FAKES = {
    # The job's nodes, one per line.
    "scontrol": "#!/bin/bash\necho gpu07\necho gpu08\n",
    # FAKE_TASKS processes, FAKE_PER_NODE to a node, each with its SLURM rank variables.
    "srun": """#!/bin/bash
while [[ $1 == -* ]]; do shift; done
for ((i = 0; i < FAKE_TASKS; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$((i % FAKE_PER_NODE)) "$@" || exit
done
""",
    # Records its arguments as a JSON line and answers job ids 100, 101, ...
    "sbatch": f"""#!{sys.executable}
import json, os, sys
log = os.environ["SBATCH_LOG"]
calls = open(log).read().splitlines() if os.path.exists(log) else []
open(log, "a").write(json.dumps(sys.argv[1:]) + "\\n")
print(f"{{100 + len(calls)}};cluster")
""",
}
SHOW_ENV = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in ["
            "'JAX_COORDINATOR_ADDRESS', 'JAX_NUM_PROCESSES', 'JAX_PROCESS_ID', "
            "'JAX_LOCAL_DEVICE_IDS']}))")


@pytest.fixture
def fake_bin(tmp_path):
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  for name, text in FAKES.items():
    (bin_dir / name).write_text(text)
    (bin_dir / name).chmod(stat.S_IRWXU)
  return bin_dir


def run_sbatch_script(fake_bin, nodes, tasks, gpus_on_node, visible, *command, port=None):
  env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "SLURM_JOB_ID": "4242",
         "SLURM_JOB_NODELIST": "gpu[07-08]", "SLURM_NNODES": str(nodes),
         "SLURM_NTASKS": str(tasks), "SLURM_GPUS_ON_NODE": str(gpus_on_node),
         "CUDA_VISIBLE_DEVICES": visible, "FAKE_TASKS": str(tasks),
         "FAKE_PER_NODE": str(tasks // nodes)} | ({"JAX_COORDINATOR_PORT": port} if port else {})
  return subprocess.run(["bash", str(LAUNCH_DIR / "slurm.sbatch"), *command], env=env,
                        capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("nodes,tasks,gpus_on_node,visible,device_ids", [
    (2, 4, 2, "0,1", ["0", "1", "0", "1"]),                # a process per GPU, GPUs shared
    (2, 2, 4, "0,1,2,3", ["0,1,2,3", "0,1,2,3"]),          # a process per node
    (1, 2, 4, "0,1,2,3", ["0,1", "2,3"]),                  # two GPUs per process
    (1, 4, 4, "3", ["0", "0", "0", "0"]),                  # SLURM bound one GPU per process
])
def test_each_process_gets_its_jax_settings(fake_bin, nodes, tasks, gpus_on_node, visible,
                                            device_ids):
  result = run_sbatch_script(fake_bin, nodes, tasks, gpus_on_node, visible,
                             sys.executable, "-c", SHOW_ENV)
  assert result.returncode == 0, result.stderr
  processes = [json.loads(line) for line in result.stdout.splitlines()]
  assert processes == [{"JAX_COORDINATOR_ADDRESS": f"gpu07:{4242 % 4096 + 61440}",
                        "JAX_NUM_PROCESSES": str(tasks), "JAX_PROCESS_ID": str(i),
                        "JAX_LOCAL_DEVICE_IDS": ids} for i, ids in enumerate(device_ids)]


def test_sbatch_script_port_override_and_errors(fake_bin):
  result = run_sbatch_script(fake_bin, 1, 1, 1, "0", sys.executable, "-c", SHOW_ENV, port="1234")
  assert json.loads(result.stdout)["JAX_COORDINATOR_ADDRESS"] == "gpu07:1234"
  assert run_sbatch_script(fake_bin, 1, 1, 1, "0").returncode == 2  # no command
  too_many = run_sbatch_script(fake_bin, 1, 4, 2, "0,1", "true")
  assert too_many.returncode == 2 and "4 processes share 2 GPUs" in too_many.stderr


def test_submit_chains_fine_tunes_after_their_parent(fake_bin, tmp_path):
  runs = sweep.expand(["conll2002/es", "conll2002/nl"], ["mono", "finetune"], [0], ["byte_crf"],
                      root=str(tmp_path / "runs"))
  pathlib.Path(runs[0].workdir).mkdir(parents=True)
  pathlib.Path(runs[0].workdir, sweep.RESULTS_FILE).write_text("{}")
  manifest = tmp_path / "manifest.jsonl"
  sweep.write_manifest(runs, manifest)
  env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}",
             SBATCH_LOG=str(tmp_path / "sbatch.jsonl"))
  result = subprocess.run([sys.executable, str(LAUNCH_DIR / "slurm_submit.py"), str(manifest),
                           "--", "--time=1:00:00"], env=env, capture_output=True, text=True,
                          timeout=120)  # a guard against hangs, not a speed test
  assert result.returncode == 0, result.stderr
  calls = [json.loads(line) for line in (tmp_path / "sbatch.jsonl").read_text().splitlines()]
  # runs: es (finished, not submitted), nl, es+nl, es+nl.ft-es, es+nl.ft-nl
  assert [c[1] for c in calls] == [f"--job-name={r.id}" for r in runs[1:]]
  assert result.stdout.split() == [x for i, r in enumerate(runs[1:])
                                   for x in (str(100 + i), r.id)]
  for call, run in zip(calls, runs[1:]):
    script = call.index(str(LAUNCH_DIR / "slurm.sbatch"))
    assert call[script + 1:] == list(run.command) and "--time=1:00:00" in call[:script]
    assert f"--output={run.workdir}/slurm-%j.log" in call
    assert pathlib.Path(run.workdir).is_dir()
    dependency = [a for a in call if a.startswith("--dependency")]
    assert dependency == (["--dependency=afterok:101"] if run.deps else [])
