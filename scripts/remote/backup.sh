#!/bin/sh
# Writes a tar.gz of the stack's data to stdout. Run on the VM over SSH by scripts/backup.ts as
#   sh -c "<this script>" backup.sh JITSI_DIR DATA_DIR
# DATA_DIR is relative to JITSI_DIR ("state/config", the CONFIG the containers mount). The archive holds
# it, and .env and .jitsi-stack-release.json beside it so a restore can compare them; a restore never
# writes those two back.
# Exit codes: 0 archive complete, 3 nothing to back up (message on stderr), others: tar failed.
set -eu

dir=${1:?usage: backup.sh JITSI_DIR DATA_DIR}
data=${2:?missing DATA_DIR}
release=.jitsi-stack-release.json

if [ ! -d "$dir" ]; then
  echo "backup: $dir does not exist on $(hostname); check the stack's jitsiDir output" >&2
  exit 3
fi
if [ ! -f "$dir/.env" ]; then
  echo "backup: $dir has no .env, so it is not a deployed Jitsi directory; check the stack's jitsiDir output" >&2
  exit 3
fi
if [ ! -d "$dir/$data" ] || [ -L "$dir/$data" ]; then
  echo "backup: $dir/$data is not a directory, so there is no data to back up; is the state volume mounted at $(dirname "$dir/$data")?" >&2
  exit 3
fi

set -- "./.env" "./$data"
if [ -f "$dir/$release" ]; then set -- "./$release" "$@"; fi

# Left out: log files anywhere and the logs/ directories containers write (rebuilt at start, can be large);
# what is inside tmp/'s mounts (the web container's load-test scratch space) and the recordings (they go
# to object storage). Those directories themselves stay, so the containers find their mounts after a
# restore. Only DATA_DIR is read: restore leftovers and lost+found beside it on the volume are not.
# Names are relative to the directory ("./state/config/..."), so the anchored patterns match from the top.
# Numeric owners: containers run as uid 1000, which has no name on the host.
exec tar -C "$dir" --numeric-owner \
  --anchored --exclude="./$data/tmp/*/*" --exclude="./$data/*/logs" \
  --exclude="./$data/storage/jibri/recordings/*" \
  --no-anchored --exclude='*.log' \
  -czf - "$@"
