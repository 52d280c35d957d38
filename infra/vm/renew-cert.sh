#!/bin/sh
# Renews the meeting site's Let's Encrypt certificate. The release's own renewal never succeeds
# (docker-jitsi-meet issue 2321: its pre-hook uses [[ under dash, so nginx keeps the challenge port),
# but the web container's start-up step renews a certificate that is due. So, when fewer than DAYS
# remain, this restarts the web container (a few seconds without the web front end; meetings go on,
# clients reconnect their signalling) and checks that a new certificate arrived.
# Usage: renew-cert.sh CERT_FILE DAYS WAIT_SECONDS COMMAND...   (COMMAND restarts the web container)
# POLL_SECONDS (default 10) is the pause between checks for the new certificate.
# Exit codes: 0 not due, or renewed; 1 the restart did not bring a new certificate; 2 usage.
set -eu
if [ "$#" -lt 4 ]; then
  echo "usage: $0 CERT_FILE DAYS WAIT_SECONDS COMMAND..." >&2
  exit 2
fi
cert=$1
days=$2
wait_seconds=$3
shift 3
poll_seconds=${POLL_SECONDS:-10}

if [ ! -f "$cert" ]; then
  echo "renew-cert: no certificate at $cert yet; the web container issues the first one when it starts"
  exit 0
fi
expiry() { openssl x509 -noout -enddate -in "$cert" | sed 's/^notAfter=//'; }
before=$(expiry)
if openssl x509 -noout -checkend $((days * 86400)) -in "$cert" >/dev/null; then
  echo "renew-cert: not due: the certificate is valid until $before (more than $days days)"
  exit 0
fi

echo "renew-cert: the certificate expires $before, in under $days days: restarting the web container to renew it"
"$@"
waited=0
while [ "$waited" -lt "$wait_seconds" ]; do
  sleep "$poll_seconds"
  waited=$((waited + poll_seconds))
  if [ -f "$cert" ] && [ "$(expiry)" != "$before" ]; then
    echo "renew-cert: renewed: valid until $(expiry)"
    exit 0
  fi
done
echo "renew-cert: no new certificate after ${wait_seconds} s (still valid until $before); read 'docker compose logs web' in the Jitsi directory" >&2
exit 1
