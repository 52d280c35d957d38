#!/bin/sh
# Waits until this VM holds the given IPv4 address, for at most the given number of seconds, and fails
# after that so the unit retries later. The private network's interface comes up by DHCP after boot, and
# Docker refuses to publish a port on an address the host does not have yet ("cannot assign requested
# address"), which would leave Prosody's XMPP port unpublished.
# Usage: wait-address.sh ADDRESS SECONDS
set -eu

address="$1"
seconds="$2"

has_address() {
  ip -o -4 addr show | awk '{ sub(/\/.*/, "", $4); print $4 }' | grep -qxF "$address"
}

waited=0
until has_address; do
  if [ "$waited" -ge "$seconds" ]; then
    echo "jitsi-stack: $address is not on any interface after ${seconds}s; is the server attached to the private network?" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "jitsi-stack: $address is up"
