"""tpu_vm.sh against a fake `gcloud` that records its calls: every worker, the sync archive,
the install step, and the user's command arriving intact through the remote shell."""

import json
import pathlib
import shlex
import stat
import subprocess
import sys
import tarfile

import sweep

LAUNCH_DIR = pathlib.Path(sweep.__file__).parent
FAKE_GCLOUD = f"""#!{sys.executable}
import json, os, shutil, sys
log = os.environ["GCLOUD_LOG"]
open(log, "a").write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[4] == "scp":
  shutil.copy(sys.argv[5], log + ".tar.gz")
"""
COMMAND = ["python3", "-m", "polyglot_ner", "train", "--config",
           "configs/byte_crf.py:langs=conll2002/es+conll2002/nl,cpu", "--workdir", "gs://b/my runs"]


def run_tpu_vm(tmp_path, *args, **env):
  (tmp_path / "gcloud").write_text(FAKE_GCLOUD)
  (tmp_path / "gcloud").chmod(stat.S_IRWXU)
  env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "GCLOUD_LOG": str(tmp_path / "calls"), **env}
  result = subprocess.run([str(LAUNCH_DIR / "tpu_vm.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=60)
  calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
  return result, [json.loads(call) for call in calls]


def test_sync_install_and_command_on_all_workers(tmp_path):
  result, calls = run_tpu_vm(tmp_path, "--sync", "--install", "--", *COMMAND,
                             TPU="v4-32", ZONE="us-central2-b", PROJECT="proj")
  assert result.returncode == 0, result.stderr
  scp, ssh = calls
  target = ["--zone", "us-central2-b", "--worker=all", "--project", "proj"]
  assert scp[:4] == ["compute", "tpus", "tpu-vm", "scp"]
  assert scp[6:] == target and scp[5] == "v4-32:/tmp/polyglot_ner.tar.gz"
  names = tarfile.open(tmp_path / "calls.tar.gz").getnames()
  assert "launch/tpu_vm.sh" in names and "setup.cfg" in names
  assert not any(name.startswith(".git/") for name in names)
  assert ssh[:5] == ["compute", "tpus", "tpu-vm", "ssh", "v4-32"]
  assert ssh[5:10] == target and ssh[10] == "--command"
  mkdir, untar, install, cd, run = ssh[11].split(" && ", 4)
  assert mkdir == 'mkdir -p "$HOME/polyglot_ner"'
  assert untar == 'tar -xzf /tmp/polyglot_ner.tar.gz -C "$HOME/polyglot_ner"'
  assert install == """python3 -m pip install -q -e "$HOME/polyglot_ner"'[tpu]'"""
  assert cd == 'cd "$HOME/polyglot_ner"' and shlex.split(run) == COMMAND


def test_command_only_and_bad_usage(tmp_path):
  result, calls = run_tpu_vm(tmp_path, *COMMAND, TPU="t", ZONE="z", REMOTE_DIR="code")
  assert result.returncode == 0 and len(calls) == 1
  assert calls[0][5:8] == ["--zone", "z", "--worker=all"] and "--project" not in calls[0]
  assert calls[0][-1].startswith('cd "$HOME/code" && python3 -m polyglot_ner train')
  assert run_tpu_vm(tmp_path, *COMMAND, ZONE="z")[0].returncode == 2  # no TPU
  assert run_tpu_vm(tmp_path, "--bogus", TPU="t", ZONE="z")[0].returncode == 2
