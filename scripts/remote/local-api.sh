#!/bin/sh
# Calls a Jitsi component's HTTP API on the VM's loopback, where the release publishes it and from where
# it never leaves the VM: the videobridge on 127.0.0.1:8080 (drain, stats) and jicofo on 127.0.0.1:8888
# (debug: the bridges it sees). Run over SSH by scripts/lib/bridges/bridgeApi.ts as
#   sh -c "<this script>" local-api.sh METHOD PORT PATH
# Only 127.0.0.1, and only the requests jitsi-stack makes, are accepted.
# The response body goes to stdout, curl's reason to stderr. Exit codes: 0 done; 2 refused; other: curl's.
set -eu

usage="usage: local-api.sh METHOD PORT PATH"
method=${1:?$usage}
port=${2:?$usage}
path=${3:?$usage}

case "$port" in
  '' | *[!0-9]*)
    echo "local-api: refusing port '$port'" >&2
    exit 2
    ;;
esac
case "$method $path" in
  "POST /colibri/drain/enable" | "GET /colibri/stats" | "GET /debug") ;;
  *)
    echo "local-api: refusing $method $path" >&2
    exit 2
    ;;
esac

exec curl -fsS --max-time 10 -X "$method" "http://127.0.0.1:$port$path"
