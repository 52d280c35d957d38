#!/bin/sh
# Keeps containers away from Hetzner's metadata service. It serves this VM's user-data, and with it
# every secret of the deployment, to anything that can reach 169.254.169.254, including a container
# through Docker's NAT. Docker sends forwarded container traffic through the DOCKER-USER chain and
# never flushes it. Runs before every start of the stack; adds the rule only once.
set -eu

if ! iptables -C DOCKER-USER -d 169.254.169.254/32 -j DROP 2>/dev/null; then
  iptables -I DOCKER-USER -d 169.254.169.254/32 -j DROP
fi
