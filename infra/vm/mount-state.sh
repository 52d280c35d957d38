#!/bin/sh
# Mounts the stack's state volume (a Hetzner Volume that Hetzner formatted ext4) at MOUNT_POINT before
# jitsi-meet.service starts the stack, and keeps an fstab line so that after a reboot it is mounted
# before Docker restarts any container. A replaced server gets the same volume back, with its data.
# Usage: mount-state.sh DEVICE MOUNT_POINT
# Exit codes: 0 mounted; 1 not attached yet, worth another try; 2 usage; 3 refused (not ext4: a person
# must look, nothing is ever formatted here).
set -eu
if [ "$#" -ne 2 ]; then
  echo "usage: $0 DEVICE MOUNT_POINT" >&2
  exit 2
fi
device=$1
mount_point=$2
fstab=${FSTAB:-/etc/fstab}
wait_seconds=${DEVICE_WAIT_SECONDS:-60}

# nofail: a missing volume never blocks boot; this script and the unit's retries handle it.
options=discard,nofail,x-systemd.before=docker.service,x-systemd.device-timeout=30s
grep -qsF "$device $mount_point " "$fstab" || printf '%s %s ext4 %s 0 2\n' "$device" "$mount_point" "$options" >>"$fstab"

if mountpoint -q "$mount_point"; then exit 0; fi

# Hetzner attaches the volume after it creates the server, so on a first boot it can be a moment late.
waited=0
while [ ! -e "$device" ]; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "mount-state: $device is not attached after ${waited} s; jitsi-meet.service will try again" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done

fs_type=$(blkid -o value -s TYPE "$device" || true)
if [ "$fs_type" != ext4 ]; then
  echo "mount-state: refusing to mount $device: it holds ${fs_type:-no filesystem}, not ext4; nothing was changed" >&2
  exit 3
fi
mkdir -p "$mount_point"
mount "$mount_point"
echo "mount-state: $device mounted at $mount_point"
