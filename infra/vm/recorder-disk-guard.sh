#!/bin/sh
# Keeps a recorder whose disk runs low from taking a recording it could not finish. Jibri itself never
# checks free space (jitsi/jibri: FileRecordingJibriService only checks that the directory is writable),
# and ffmpeg fails mid-meeting when the disk fills. Run every minute by jitsi-stack-recorder-disk.timer.
# Usage: recorder-disk-guard.sh RECORDINGS_DIR MIN_FREE_MB PAUSE_FILE COMPOSE_COMMAND...
# Below MIN_FREE_MB free: an idle Jibri is stopped, so it leaves jicofo's pool and no new recording comes
# to it (a busy one finishes first: MIN_FREE_MB is sized to hold a whole recording); PAUSE_FILE records
# that this script stopped it. With enough space again (uploads free it), a Jibri stopped here starts.
# Exit codes: 0 done; 1 a compose command failed; 2 usage.
set -eu

if [ "$#" -lt 4 ]; then
  echo "usage: $0 RECORDINGS_DIR MIN_FREE_MB PAUSE_FILE COMPOSE_COMMAND..." >&2
  exit 2
fi
dir=$1
min_mb=$2
pause_file=$3
shift 3

free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
free_mb=$((free_kb / 1024))

if [ "$free_mb" -lt "$min_mb" ]; then
  if ! "$@" ps --status running --services 2>/dev/null | grep -qx jibri; then
    exit 0
  fi
  # Jibri's HTTP API (127.0.0.1:2222 in its container) says BUSY while it records.
  health=$("$@" exec -T jibri curl -fsS http://127.0.0.1:2222/jibri/api/v1.0/health 2>/dev/null || true)
  if printf '%s' "$health" | grep -q '"busyStatus" *: *"BUSY"'; then
    echo "recorder-disk-guard: ${free_mb} MB free (< ${min_mb} MB); Jibri is recording, it stops taking recordings once that ends" >&2
    exit 0
  fi
  echo "recorder-disk-guard: ${free_mb} MB free (< ${min_mb} MB); stopping Jibri so it takes no new recording until uploads free the disk" >&2
  : >"$pause_file"
  "$@" stop jibri || exit 1
elif [ -f "$pause_file" ]; then
  echo "recorder-disk-guard: ${free_mb} MB free again; starting Jibri" >&2
  "$@" start jibri || exit 1
  rm -f "$pause_file"
fi
