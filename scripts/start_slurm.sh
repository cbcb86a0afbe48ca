#!/usr/bin/env bash
# A one-node SLURM on this machine, for the tests marked `slurm` (and to try the cluster commands):
# munge, slurmctld and slurmd from Debian's packages, started as root without systemd.
#   sudo apt-get install -y slurmctld slurmd slurm-client munge && sudo bash scripts/start_slurm.sh
# Idempotent: stops what an earlier call of this script started (and only that), then starts afresh.
# A SLURM it did not start (a real cluster's) is left alone: it refuses, in one line. Accounting is off.
set -euo pipefail
host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))"
pids=/run/lit-poetry-slurm.pids  # what this script started
if [ ! -f "$pids" ] && timeout 5 sinfo -h > /dev/null 2>&1; then
  echo "error: a SLURM already answers on this machine and this script did not start it; use it as it is" >&2
  exit 2
fi
if [ -f "$pids" ]; then
  xargs -r kill < "$pids" 2>/dev/null || true
  rm -f "$pids"
  sleep 1
fi

mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge /etc/slurm \
  /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
munged --force
pgrep -x munged >> "$pids"

cat > /etc/slurm/slurm.conf <<CONF
ClusterName=lit
SlurmctldHost=${host}
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
JobRequeue=1
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
KillWait=5
NodeName=${host} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

slurmctld -c 2>/dev/null || slurmctld
slurmd
pgrep -x slurmctld >> "$pids"
pgrep -x slurmd >> "$pids"
for _ in $(seq 1 30); do  # at most ~60 s: each sinfo is cut at 2 s
  if timeout 2 sinfo -h -o "%T" 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "SLURM did not come up; the end of its logs (/var/log/slurm/):" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
