#!/bin/sh
# Sets up the TURN VM. Run by jitsi-stack-turn.service at every boot, and again every 15 minutes
# until it succeeds: each step checks what is already done.
# Usage: turn-setup.sh SETTINGS_FILE
# SETTINGS_FILE (written by cloud-init, shell-quoted) sets COTURN_VERSION, TURN_HOSTNAME, ACME_EMAIL,
# ACME_STAGING (1 for Let's Encrypt's staging CA), CONFIG_FILE, CERT_DIR and DEPLOY_HOOK; LETSENCRYPT_DIR
# defaults to /etc/letsencrypt.
#  1. installs coturn (held at COTURN_VERSION by an apt pin) and certbot, and refuses any other coturn;
#  2. lets coturn's user read CONFIG_FILE (cloud-init wrote it before that user existed);
#  3. gets the certificate for TURN_HOSTNAME with certbot's standalone server on port 80 and DEPLOY_HOOK,
#     which certbot keeps for every renewal (Ubuntu's certbot.timer) and which copies it to CERT_DIR;
#  4. starts coturn, which reads CONFIG_FILE and CERT_DIR.
set -eu

if [ "$#" -ne 1 ]; then
  echo "usage: $0 SETTINGS_FILE" >&2
  exit 2
fi
# shellcheck source=/dev/null
. "$1"
: "${COTURN_VERSION:?}" "${TURN_HOSTNAME:?}" "${ACME_EMAIL:?}" "${ACME_STAGING:?}"
: "${CONFIG_FILE:?}" "${CERT_DIR:?}" "${DEPLOY_HOOK:?}"
letsencrypt_dir=${LETSENCRYPT_DIR:-/etc/letsencrypt}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
if ! installed coturn || ! installed certbot; then
  # Wait for a first-boot unattended upgrade rather than fail on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends coturn certbot
fi
coturn_version=$(dpkg-query -W -f='${Version}' coturn)
case $coturn_version in
  "$COTURN_VERSION"-*) ;;
  *)
    echo "coturn $coturn_version is installed, but jitsi-stack pins $COTURN_VERSION; not starting it" >&2
    exit 1
    ;;
esac

chgrp turnserver "$CONFIG_FILE"
chmod 0640 "$CONFIG_FILE"

# The hook reads where to put the certificate; certbot passes its environment on.
export TURN_CERT_DIR="$CERT_DIR"
live="$letsencrypt_dir/live/$TURN_HOSTNAME"
if [ ! -s "$live/fullchain.pem" ]; then
  set -- certonly --standalone --non-interactive --agree-tos --email "$ACME_EMAIL" \
    --domain "$TURN_HOSTNAME" --key-type ecdsa --deploy-hook "$DEPLOY_HOOK"
  if [ "$ACME_STAGING" = 1 ]; then set -- "$@" --staging; fi
  certbot "$@"
fi
# certbot ran the hook when it issued the certificate; run it here if an earlier attempt stopped short.
if [ ! -s "$CERT_DIR/fullchain.pem" ] || [ ! -s "$CERT_DIR/privkey.pem" ]; then
  RENEWED_LINEAGE=$live "$DEPLOY_HOOK"
fi

systemctl enable coturn.service
systemctl restart coturn.service
