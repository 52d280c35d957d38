#!/bin/sh
# Writes a tar.gz of the Jitsi directory to stdout. Run on the VM over SSH by scripts/backup.ts as
#   sh -c "<this script>" backup.sh JITSI_DIR
# Exit codes: 0 archive complete, 3 nothing to back up (message on stderr), others: tar failed.
set -eu

dir=${1:?usage: backup.sh JITSI_DIR}

if [ ! -d "$dir" ]; then
  echo "backup: $dir does not exist on $(hostname); check the stack's jitsiDir output" >&2
  exit 3
fi
if [ ! -f "$dir/.env" ]; then
  echo "backup: $dir has no .env, so it is not a deployed Jitsi directory; check the stack's jitsiDir output" >&2
  exit 3
fi

# Left out (transient, rebuilt at start, and can be large): log files anywhere, the logs/ directories
# containers write under config/, and config/tmp (the web container's load-test scratch space).
# Names are relative to the directory ("./config/..."), so the anchored patterns match from the top.
# Numeric owners: containers run as uid 1000, which has no name on the host.
exec tar -C "$dir" --numeric-owner \
  --anchored --exclude=./config/tmp --exclude='./config/*/logs' \
  --no-anchored --exclude='*.log' \
  -czf - .
