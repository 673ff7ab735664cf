#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the scale-out test (tests/cli/slurm.rs) and for
# trying `fidelity compare --shard auto` under a real job array.
#
#   scripts/slurm-local.sh start   # installs slurm-wlm and munge when missing (root), starts
#                                  # munged, slurmctld and slurmd detached; returns once the node is idle
#   scripts/slurm-local.sh stop    # stops exactly the daemons `start` started, by their pid files
#
# Nothing here blocks its caller: every daemon runs under setsid with stdin from /dev/null and its
# output in a log file, readiness is polled a bounded number of times, and a node that is not idle
# in time is an error showing the logs' tails. State lives in $SLURM_LOCAL_DIR (default
# /tmp/fidelity-slurm).
set -euo pipefail

dir=${SLURM_LOCAL_DIR:-/tmp/fidelity-slurm}
conf=$dir/slurm.conf

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

logs() {
  for f in "$dir"/*.log; do
    [[ -f $f ]] && { echo "--- $f"; tail -n 15 "$f"; }
  done >&2
}

install() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return 0
  [[ $(id -u) -eq 0 ]] || die "slurm-wlm and munge are missing and installing them needs root"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q >/dev/null
  timeout 600 apt-get install -y -q slurm-wlm munge >/dev/null
}

write_conf() {
  local host cpus memory
  host=$(hostname -s)
  cpus=$(nproc)
  # Below the machine's memory, or slurmd refuses to register the node.
  memory=$(($(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10))
  mkdir -p "$dir/state" "$dir/spool"
  cat >"$conf" <<EOF
ClusterName=fidelity
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=60 State=UP
EOF
}

start_munge() {
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    head -c 1024 /dev/urandom >/etc/munge/munge.key
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  # A munged already answering (started by the system) is used as it is, and not stopped by us.
  if timeout 5 munge -n </dev/null >/dev/null 2>&1; then
    return 0
  fi
  setsid runuser -u munge -- munged --foreground --pid-file="$dir/munged.pid" </dev/null >"$dir/munged.log" 2>&1 &
  echo $! >"$dir/munged.started"
  for _ in $(seq 50); do
    timeout 5 munge -n </dev/null >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  logs
  die "munged did not answer within 10 s"
}

start() {
  [[ $(id -u) -eq 0 ]] || die "start needs root (the daemons run as root and munge)"
  install
  mkdir -p "$dir"
  if [[ -f $dir/slurmctld.started ]] && kill -0 "$(cat "$dir/slurmctld.started")" 2>/dev/null; then
    die "a cluster started here is still running ($dir); run: $0 stop"
  fi
  write_conf
  start_munge
  setsid slurmctld -D -f "$conf" </dev/null >"$dir/slurmctld.out.log" 2>&1 &
  echo $! >"$dir/slurmctld.started"
  setsid slurmd -D -f "$conf" </dev/null >"$dir/slurmd.out.log" 2>&1 &
  echo $! >"$dir/slurmd.started"
  for _ in $(seq 60); do
    state=$(SLURM_CONF=$conf timeout 5 sinfo -h -o %t 2>/dev/null | head -n 1 || true)
    if [[ $state == idle ]]; then
      echo "slurm-local: node $(hostname -s) idle; export SLURM_CONF=$conf"
      return 0
    fi
    sleep 0.5
  done
  logs
  stop || true
  die "the node was not idle within 30 s (last state: '${state:-none}')"
}

stop() {
  local stopped=0
  for d in slurmd slurmctld munged; do
    local file=$dir/$d.started
    [[ -f $file ]] || continue
    local pid
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
      stopped=$((stopped + 1))
    fi
    rm -f "$file"
  done
  echo "slurm-local: stopped $stopped daemons"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
