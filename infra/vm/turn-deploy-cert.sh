#!/bin/sh
# certbot's deploy hook on the TURN VM: certbot runs it after the first issuance and after every
# renewal, with RENEWED_LINEAGE naming the certificate's folder. Copies the certificate and key where
# coturn's user may read them, then has coturn reload them: coturn.service's ExecReload sends SIGUSR2,
# on which coturn re-reads both files without dropping an allocation.
# TURN_CERT_DIR (default /etc/jitsi-stack/coturn-certs) is where coturn reads them.
set -eu
: "${RENEWED_LINEAGE:?is set by certbot}"
cert_dir=${TURN_CERT_DIR:-/etc/jitsi-stack/coturn-certs}

umask 077
mkdir -p "$cert_dir"
chgrp turnserver "$cert_dir"
chmod 0750 "$cert_dir"
for name in fullchain.pem privkey.pem; do
  # Copy beside, then rename over: coturn never reads half a file.
  cp "$RENEWED_LINEAGE/$name" "$cert_dir/.$name.new"
  chgrp turnserver "$cert_dir/.$name.new"
  chmod 0640 "$cert_dir/.$name.new"
  mv -f "$cert_dir/.$name.new" "$cert_dir/$name"
done
# Reloads coturn if it runs; before the first start, turn-setup.sh starts it.
systemctl try-reload-or-restart coturn.service
