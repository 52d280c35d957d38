#!/bin/sh
# Lists the recordings a recorder still holds (not yet uploaded to the bucket). Run on a recorder over
# SSH by teardown and verify as
#   sh -c "<this script>" pending-recordings.sh RECORDINGS_DIR
# Prints one line per session directory: NAME<TAB>BYTES<TAB>FAILED (1 when an upload already failed).
# Exit codes: 0 listed (maybe nothing); 2 usage.
set -eu

dir=${1:?usage: pending-recordings.sh RECORDINGS_DIR}
[ -d "$dir" ] || exit 0
for session in "$dir"/*/; do
  [ -d "$session" ] || continue
  bytes=$(du -sk "$session" | cut -f 1)
  failed=0
  [ -f "$session/.upload-failed" ] && failed=1
  name=${session%/}
  printf '%s\t%s\t%s\n' "${name##*/}" "$((bytes * 1024))" "$failed"
done
