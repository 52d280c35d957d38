#!/bin/sh
# Uploads finished Jibri recordings to the stack's S3 bucket, checks each object's size and MD5 against
# the local file, and deletes a local file only once its object is verified. Runs inside the jibri
# container, which ships rclone.
# Usage: recording-upload.sh DIR             Jibri's finalize step (JIBRI_FINALIZE_RECORDING_SCRIPT_PATH)
#        recording-upload.sh --pending ROOT  the recorder's retry timer: every finished session under ROOT
#        recording-upload.sh --check         npm run verify: writes, reads back and deletes a probe object
# Settings: shell assignments in $RECORDING_UPLOAD_SETTINGS (default /config/recording-upload.env):
# RCLONE_S3_* (endpoint, region, keys), RECORDING_BUCKET, RECORDING_PREFIX, UPLOAD_ATTEMPTS,
# UPLOAD_RETRY_SECONDS.
# Object keys: PREFIX ROOM/YYYY-MM-DD/SESSION/FILE, where ROOM and the date (the recording's start, in the
# recorder's time zone) come from Jibri's file name ROOM_YYYY-MM-DD-HH-MM-SS.mp4 and SESSION is the
# directory Jibri made for the session (docs/recording.md).
# A session whose upload failed keeps every file, plus .upload-failed with the reason; the retry timer
# takes it again, after a reboot too. Sessions are locked (flock) so the finalize step and the timer
# never upload the same one at once.
# Exit codes: 0 uploaded and verified (or nothing to do); 1 an upload failed, files kept; 2 usage or settings.
set -eu

settings=${RECORDING_UPLOAD_SETTINGS:-/config/recording-upload.env}
# Sessions Jibri never finalized (a crash or reboot mid-meeting) count as finished after this long unchanged.
stale_minutes=${UPLOAD_STALE_MINUTES:-360}

say() { echo "recording-upload: $*" >&2; }

if [ ! -r "$settings" ]; then
  say "cannot read the settings file $settings"
  exit 2
fi
set -a
# shellcheck disable=SC1090 # written by cloud-init from the stack's settings
. "$settings"
set +a
: "${RECORDING_BUCKET:?RECORDING_BUCKET is not set in the settings file}"
: "${RCLONE_S3_ENDPOINT:?RCLONE_S3_ENDPOINT is not set in the settings file}"
prefix=${RECORDING_PREFIX:-}
attempts=${UPLOAD_ATTEMPTS:-3}
retry_seconds=${UPLOAD_RETRY_SECONDS:-20}
# Only the settings file decides where recordings go: no rclone.conf, no keys from the environment.
export RCLONE_CONFIG=/dev/null RCLONE_S3_PROVIDER="${RCLONE_S3_PROVIDER:-Other}" RCLONE_S3_ENV_AUTH=false
# The bucket exists already, and the keys may lack the right to create one.
export RCLONE_S3_NO_CHECK_BUCKET=true

# The files of a session, as "name;size;md5" lines sorted by name (Jibri's own names: no ';' or newline).
local_listing() {
  for file in "$1"/*; do
    [ -f "$file" ] || continue
    size=$(wc -c <"$file" | tr -d ' ')
    sum=$(md5sum <"$file" | cut -d ' ' -f 1)
    printf '%s;%s;%s\n' "${file##*/}" "$size" "$sum"
  done | LC_ALL=C sort
}

# ROOM/YYYY-MM-DD/SESSION for a session directory, from the name of its recording.
object_dir() {
  session=${1##*/}
  room=unknown-room
  day=$(date +%Y-%m-%d)
  for file in "$1"/*.mp4; do
    [ -f "$file" ] || continue
    name=${file##*/}
    stamp=$(printf '%s\n' "$name" | sed -n 's/^.*_\([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}\)-[0-9]\{2\}-[0-9]\{2\}-[0-9]\{2\}\.mp4$/\1/p')
    if [ -n "$stamp" ]; then
      day=$stamp
      room=${name%_????-??-??-??-??-??.mp4}
    fi
    break
  done
  printf '%s%s/%s/%s\n' "$prefix" "$room" "$day" "$session"
}

# One try: copy, then compare the bucket's listing (size and MD5 of each object) with the local one.
upload_once() {
  dir=$1
  remote=$2
  log=$3
  rclone copy "$dir" "$remote" --exclude '.upload*' --retries 1 --low-level-retries 2 \
    --contimeout 15s --timeout 60s >"$log" 2>&1 || return 1
  local_listing "$dir" >"$log.local"
  rclone lsf --files-only --format psh --hash MD5 --separator ';' "$remote" 2>>"$log" |
    LC_ALL=C sort >"$log.remote" || return 1
  # Every local file must be in the bucket with the same size and MD5; extra objects do no harm.
  missing=$(LC_ALL=C comm -23 "$log.local" "$log.remote")
  if [ -n "$missing" ]; then
    echo "in the bucket with another size or checksum, or not at all: $missing" >>"$log"
    return 1
  fi
}

# Why the last try failed, in one line.
reason() {
  if grep -q -e SignatureDoesNotMatch -e InvalidAccessKeyId -e 'AccessDenied' -e 'Forbidden' "$1"; then
    echo "the bucket refused the access key (wrong jitsi:recordingAccessKeyId or jitsi:recordingSecretAccessKey, or a key without write access to $RECORDING_BUCKET)"
  elif grep -q NoSuchBucket "$1"; then
    echo "bucket $RECORDING_BUCKET does not exist at $RCLONE_S3_ENDPOINT"
  else
    grep -v '^[[:space:]]*$' "$1" | tail -n 1
  fi
}

upload_session() {
  dir=${1%/}
  if [ ! -d "$dir" ]; then
    say "$dir is not a directory"
    return 2
  fi
  # The lock file is opened on descriptor 9 and released when this function's subshell ends.
  (
    if ! flock -n 9; then
      say "$dir is being uploaded by another run; leaving it to that one"
      exit 75
    fi
    key=$(object_dir "$dir")
    remote=":s3:$RECORDING_BUCKET/$key"
    log=$(mktemp "${TMPDIR:-/tmp}/recording-upload.XXXXXX")
    trap 'rm -f "$log" "$log.local" "$log.remote"' EXIT
    try=1
    while :; do
      if upload_once "$dir" "$remote" "$log"; then break; fi
      why=$(reason "$log")
      if [ "$try" -ge "$attempts" ]; then
        say "upload of $dir to s3://$RECORDING_BUCKET/$key failed after $try tries: $why; the recording stays on this recorder and the retry timer tries again"
        printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$why" >"$dir/.upload-failed" || true
        exit 1
      fi
      say "try $try of $attempts for $dir failed ($why); trying again in ${retry_seconds}s"
      try=$((try + 1))
      sleep "$retry_seconds"
    done
    # Verified: remove exactly the files that were compared, then the session's own bookkeeping.
    cut -d ';' -f 1 "$log.local" | while IFS= read -r name; do rm -f "$dir/$name"; done
    rm -f "$dir/.upload-failed"
    say "uploaded $dir to s3://$RECORDING_BUCKET/$key (size and MD5 verified)"
  ) 9>>"$dir/.upload.lock" || {
    status=$?
    [ "$status" -eq 75 ] && return 0
    return "$status"
  }
  rm -f "$dir/.upload.lock"
  rmdir "$dir" 2>/dev/null || say "$dir still holds files that were not part of this upload; kept"
}

case "${1:-}" in
  --check)
    probe_dir=$(mktemp -d "${TMPDIR:-/tmp}/recording-check.XXXXXX")
    trap 'rm -rf "$probe_dir"' EXIT
    name=jitsi-stack-write-check-$(date -u +%Y%m%dT%H%M%SZ)-$$
    echo "written by npm run verify to check the recorder's keys; safe to delete" >"$probe_dir/$name"
    remote=":s3:$RECORDING_BUCKET/${prefix}.jitsi-stack-checks"
    if upload_once "$probe_dir" "$remote" "$probe_dir.log"; then
      rclone deletefile "$remote/$name" >>"$probe_dir.log" 2>&1 || true
      rm -f "$probe_dir.log" "$probe_dir.log.local" "$probe_dir.log.remote"
      echo "bucket $RECORDING_BUCKET at $RCLONE_S3_ENDPOINT is writable with this recorder's keys (probe written, verified, deleted)"
      exit 0
    fi
    why=$(reason "$probe_dir.log")
    rm -f "$probe_dir.log" "$probe_dir.log.local" "$probe_dir.log.remote"
    say "bucket $RECORDING_BUCKET at $RCLONE_S3_ENDPOINT is not writable: $why"
    exit 1
    ;;
  --pending)
    [ "$#" -eq 2 ] || { say "usage: $0 --pending RECORDINGS_DIR"; exit 2; }
    failed=0
    for dir in "$2"/*/; do
      [ -d "$dir" ] || continue
      # Finished: Jibri wrote its metadata (it does so before the finalize step), a past upload failed,
      # or nothing was written to it for a long time.
      if [ -f "$dir/metadata.json" ] || [ -f "$dir/.upload-failed" ] ||
        [ -z "$(find "$dir" -type f -mmin "-$stale_minutes" ! -name '.upload*' | head -n 1)" ]; then
        upload_session "$dir" || failed=1
      fi
    done
    exit "$failed"
    ;;
  "" | -*)
    say "usage: $0 SESSION_DIR | --pending RECORDINGS_DIR"
    exit 2
    ;;
  *)
    [ "$#" -eq 1 ] || { say "usage: $0 SESSION_DIR"; exit 2; }
    upload_session "$1"
    ;;
esac
