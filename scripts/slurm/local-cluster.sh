#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests of the Slurm executor and for trying
# `dotnet unlearn run SWEEP.yaml --executor slurm` without a cluster (docs/cluster.md).
#
#   scripts/slurm/local-cluster.sh start    install slurm-wlm and munge with apt if missing, write slurm.conf for this
#                                           machine's cores and memory (slurmd -C), start munged, slurmctld and slurmd,
#                                           wait until the node takes jobs
#   scripts/slurm/local-cluster.sh stop     stop the three daemons
#   scripts/slurm/local-cluster.sh status   sinfo
#
# Run as root (Debian or Ubuntu). State and logs go to $UNLEARN_SLURM_STATE (default /var/lib/unlearn-slurm).
set -euo pipefail

state="${UNLEARN_SLURM_STATE:-/var/lib/unlearn-slurm}"
conf_dir=/etc/slurm
conf="$conf_dir/slurm.conf"

say() { printf 'local-cluster: %s\n' "$*"; }
fail() { printf 'local-cluster: error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || fail "run as root: it installs packages and starts system daemons."; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then return; fi
  command -v apt-get >/dev/null || fail "apt-get not found: install Slurm (slurmctld, slurmd, sbatch) and munge with this system's package manager."
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || fail "apt-get update failed"
  apt-get install -y -q --no-install-recommends slurm-wlm munge || fail "apt-get install slurm-wlm munge failed"
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
  install -d -o munge -g munge -m 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  if pid_alive /run/munge/munged.pid; then return; fi
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 1 20); do munge -n </dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.5; done
  fail "munge does not answer (see /var/log/munge/munged.log)"
}

write_config() {
  local host node
  host="$(hostname -s)"
  # slurmd -C prints this machine's node line: CPUs, sockets, cores, threads and RealMemory as slurmd will see them.
  node="$(slurmd -C | grep '^NodeName=')" || fail "slurmd -C did not describe this machine"
  install -d "$conf_dir" "$state/ctld" "$state/slurmd"
  cat > "$conf" <<CONF
# Written by scripts/slurm/local-cluster.sh for a single-node test cluster on $host.
ClusterName=unlearn-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
# No cgroups (containers often have none to give): processes are tracked by their parent, tasks are not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=60
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  say "wrote $conf: $node"
}

start() {
  need_root
  install_packages
  start_munge
  write_config
  if ! pid_alive "$state/slurmctld.pid"; then say "starting slurmctld"; slurmctld || fail "slurmctld did not start (see $state/slurmctld.log)"; fi
  if ! pid_alive "$state/slurmd.pid"; then say "starting slurmd"; slurmd || fail "slurmd did not start (see $state/slurmd.log)"; fi
  local host node_state
  host="$(hostname -s)"
  for _ in $(seq 1 60); do
    node_state="$(sinfo -h -n "$host" -o %T 2>/dev/null | head -1 || true)"
    case "$node_state" in
      idle*|mixed*|allocated*) say "ready: node $host is $node_state"; sinfo; return ;;
      down*|drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  fail "the node did not become ready in 60 s (state '${node_state:-none}'; see $state/slurmctld.log and $state/slurmd.log)"
}

stop_pid() {
  local name="$1" file="$2"
  if pid_alive "$file"; then
    say "stopping $name"
    kill "$(cat "$file")"
    for _ in $(seq 1 20); do pid_alive "$file" || return 0; sleep 0.5; done
    kill -9 "$(cat "$file")" 2>/dev/null || true
  fi
}

stop() {
  need_root
  stop_pid slurmd "$state/slurmd.pid"
  stop_pid slurmctld "$state/slurmctld.pid"
  stop_pid munged /run/munge/munged.pid
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
