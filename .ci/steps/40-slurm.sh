#!/usr/bin/env bash
# Slurm: frpt's --task splitting checked on a real single-node Slurm (issue 12). As root,
# it starts munged, slurmctld and slurmd with a generated configuration in a temp folder
# (its own munge key and socket, its own ports), then through examples/slurm/frpt.sbatch:
#   1. reconstructs a small MNIST cache as a 2-task array and compares it, file by file,
#      with the one-process cache;
#   2. runs an 8-run post-training grid as `sbatch --wait --array=0-2` and checks that the
#      union of the task files equals the one-process grid run by run (every number but
#      the timings), and that frpt report merges the folder into the same summary;
#   3. runs the grid again with task 1 killed (SIGKILL) after its first finished run, so
#      the array fails, reruns index 1 alone (FRPT_TASKS=3 sbatch --array=1) and checks
#      the union again: nothing lost, nothing duplicated.
# The daemons it started are stopped by pid on exit. FRPT_SLURM=skip skips it (printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

if [ "${FRPT_SLURM:-}" = skip ]; then
  echo "40-slurm: skipped (FRPT_SLURM=skip)"; exit 0
fi
for bin in munged mungekey slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$bin" >/dev/null || { echo "40-slurm: $bin not installed (apt-get install slurm-wlm munge)" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
  echo "40-slurm: must run as root (slurmd runs jobs as their user)" >&2; exit 1
fi

tmp=$(mktemp -d /tmp/frpt-slurm.XXXXXX)
chmod 0755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "${FRPT_SLURM_KEEP:-}" != 1 ]; then rm -rf "$tmp"; else echo "40-slurm: kept $tmp"; fi
}
trap cleanup EXIT

# --- munge: own key, socket, pid and log in the temp folder ---
mkdir -p "$tmp/munge"
chmod 0700 "$tmp/munge"
mungekey -c -k "$tmp/munge/munge.key" -b 1024
munged --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
  --seed-file="$tmp/munge/munged.seed" --force
for _ in $(seq 50); do [ -s "$tmp/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/munge/munged.pid")")

# --- slurm.conf: this host as controller and only node ---
host=$(hostname -s)
cpus=$(nproc)
port=$((20000 + RANDOM % 20000)) # slurmctld; slurmd on port+1 (not the defaults, which another Slurm may hold)
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/log"
export SLURM_CONF="$tmp/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=frptci
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MaxArraySize=1000
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for f in slurmctld slurmd; do
  for _ in $(seq 100); do [ -s "$tmp/$f.pid" ] && break; sleep 0.1; done
  [ -s "$tmp/$f.pid" ] || { echo "40-slurm: $f did not start:"; cat "$tmp/log/$f.log" || true; exit 1; }
  pids+=("$(cat "$tmp/$f.pid")")
done
for _ in $(seq 100); do
  sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && break
  sleep 0.2
done
sinfo -h -o '%N %T %c' | grep -Eq 'idle|mixed' || { echo "40-slurm: node not up:"; sinfo; cat "$tmp/log/slurmd.log"; exit 1; }
echo "40-slurm: Slurm $(sinfo -V | cut -d' ' -f2) up on $host ($cpus CPUs), SLURM_CONF=$SLURM_CONF"

# --- frpt ---
go build -o "$tmp/frpt" ./cmd/frpt
export FRPT="$tmp/frpt"
weights="$repo/results/mnist-simplecnn-v2/pretrained-best.safetensors"
py=/usr/bin/python3
sb() { # sbatch --wait from the temp folder (job logs land there)
  (cd "$tmp" && sbatch --wait --cpus-per-task=1 "$@" "$repo/examples/slurm/frpt.sbatch" "${grid_args[@]}")
}
show_logs() { for f in "$tmp"/frpt-*.out; do echo "--- $f"; tail -n 20 "$f"; done; }

# 1. A 2-task cache equals the one-process cache.
rec=(reconstruct --model simplecnn-v2 --dataset mnist --weights "$weights" --limit 1024 --batch 128 --shard-size 256 --seed 5)
"$FRPT" "${rec[@]}" --out "$tmp/cache-one" >/dev/null 2>&1
grid_args=("${rec[@]}" --out "$tmp/cache")
sb --array=0-1 >/dev/null || { show_logs; exit 1; }
for f in "$tmp"/cache-one/shard-*.safetensors "$tmp/cache-one/manifest.json"; do
  cmp "$f" "$tmp/cache/$(basename "$f")" || { echo "40-slurm: $(basename "$f") of the 2-task cache differs from the one-process cache"; exit 1; }
done
echo "40-slurm: cache by 2 Slurm tasks = one-process cache ($(ls "$tmp"/cache/shard-*.safetensors | wc -l) shards, byte for byte)"

# 2. An 8-run grid as a 3-task array equals the one-process grid.
grid=(posttrain --cache "$tmp/cache" --weights "$weights" --taps out,z1 --crec 0,0.3 --seeds 0-1
  --epochs 2 --batch 128 --test-limit 1000)
# Every run on one thread, as in the array tasks (--cpus-per-task=1, so GOMAXPROCS=1): a
# run's numbers are the same bits for the same thread count, and --workers 2 runs each
# run on one thread.
"$FRPT" "${grid[@]}" --workers 2 --results "$tmp/one/results.jsonl" >/dev/null 2>&1
cat >"$tmp/same.py" <<'EOF'
# same.py ONE FILE...: the runs of FILE... (their union) equal those of ONE, every field but
# the timings; no run twice, none missing.
import json, sys
def runs(paths):
    out = {}
    for p in paths:
        for line in open(p):
            if not line.strip():
                continue
            r = json.loads(line)
            k = (r["model"], r["mode"], r["tap"], r["c_rec"], r["seed"])
            if k in out:
                sys.exit(f"run {k} twice (in {p})")
            out[k] = {f: v for f, v in r.items() if not f.endswith("seconds")}
    return out
want, got = runs(sys.argv[1:2]), runs(sys.argv[2:])
if set(want) != set(got):
    sys.exit(f"runs missing: {sorted(set(want) - set(got))}; extra: {sorted(set(got) - set(want))}")
for k in want:
    if want[k] != got[k]:
        sys.exit(f"run {k} differs:\n{got[k]}\nwant\n{want[k]}")
print(f"{len(got)} runs from {len(sys.argv) - 2} files equal the one-process grid")
EOF
grid_args=("${grid[@]}" --workers 1 --results "$tmp/split/results.jsonl")
sb --array=0-2 >/dev/null || { show_logs; exit 1; }
[ ! -e "$tmp/split/results.jsonl" ] || { echo "40-slurm: a task wrote the base results file"; exit 1; }
$py "$tmp/same.py" "$tmp/one/results.jsonl" "$tmp"/split/results.task-000?-of-0003.jsonl
"$FRPT" report --results "$tmp/one/results.jsonl" --out "$tmp/report-one" --resamples 200 >/dev/null
"$FRPT" report --results "$tmp/split" --out "$tmp/report-split" --resamples 200 >/dev/null
cmp "$tmp/report-one/summary.csv" "$tmp/report-split/summary.csv"
echo "40-slurm: frpt report --results <folder> merges the 3 task files into the one-process summary"

# 3. Task 1 killed after its first run: the array fails; index 1 rerun alone completes it.
cat >"$tmp/frpt-killed-once" <<EOF
#!/bin/bash
# frpt, except that array task 1 is killed (SIGKILL) after its first finished run, once.
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 1 ] && [ ! -e "$tmp/killed-once" ]; then
  touch "$tmp/killed-once"
  "$tmp/frpt" "\$@" & pid=\$!
  f="$tmp/killed/results.task-0001-of-0003.jsonl"
  until [ -s "\$f" ] || ! kill -0 \$pid 2>/dev/null; do sleep 0.005; done
  kill -9 \$pid 2>/dev/null; wait \$pid || true
  echo "frpt-killed-once: killed task 1 with \$(wc -l <"\$f") run(s) written" >&2
  exit 137
fi
exec "$tmp/frpt" "\$@"
EOF
chmod +x "$tmp/frpt-killed-once"
grid_args=("${grid[@]}" --workers 1 --results "$tmp/killed/results.jsonl")
if FRPT="$tmp/frpt-killed-once" sb --array=0-2 >/dev/null 2>&1; then
  echo "40-slurm: the array with a killed task reported success"; exit 1
fi
n1=$(wc -l <"$tmp/killed/results.task-0001-of-0003.jsonl")
echo "40-slurm: array failed as it should; task 1 kept $n1 of its 3 runs"
[ "$n1" -ge 1 ] && [ "$n1" -lt 3 ] || { echo "40-slurm: task 1 was not killed mid-way ($n1 runs)"; exit 1; }
FRPT_TASKS=3 sb --array=1 >/dev/null || { show_logs; exit 1; }
$py "$tmp/same.py" "$tmp/one/results.jsonl" "$tmp"/killed/results.task-000?-of-0003.jsonl
echo "40-slurm: after the rerun of index 1: no run lost, none duplicated"
