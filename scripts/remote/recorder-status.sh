#!/bin/sh
# Reports a recorder's state for npm run verify. Run on the recorder over SSH as
#   sh -c "<this script>" recorder-status.sh JITSI_DIR RECORDINGS_DIR [DOCKER]
# Prints three lines: health=<Jibri's health JSON, or "down: reason">, bucket=<"ok" or the reason the
# upload script's --check gave>, pending=<sessions not yet uploaded>.
# Exit codes: 0 reported (whatever the state); 2 usage.
set -eu

dir=${1:?usage: recorder-status.sh JITSI_DIR RECORDINGS_DIR [DOCKER]}
recordings=${2:?missing RECORDINGS_DIR}
docker=${3:-/usr/bin/docker}
cd "$dir"

if health=$("$docker" compose -f docker-compose.yml -f jibri.yml exec -T jibri \
  curl -fsS http://127.0.0.1:2222/jibri/api/v1.0/health 2>&1); then
  printf 'health=%s\n' "$(printf '%s' "$health" | tr -d '\n')"
else
  printf 'health=down: %s\n' "$(printf '%s' "$health" | tail -n 1)"
fi

if check=$("$docker" compose -f docker-compose.yml -f jibri.yml run --rm --no-deps -T \
  --entrypoint /config/recording-upload.sh jibri --check 2>&1); then
  echo "bucket=ok"
else
  printf 'bucket=%s\n' "$(printf '%s' "$check" | tail -n 1)"
fi

pending=0
for session in "$recordings"/*/; do
  [ -d "$session" ] && pending=$((pending + 1))
done
echo "pending=$pending"
