#!/bin/sh
# Installs docker-jitsi-meet at a pinned release, on the VM, from cloud-init.
# Usage: install-jitsi.sh REPOSITORY TAG COMMIT JITSI_DIR CONFIG_DIR UID DIR...
# Fetches TAG into JITSI_DIR (which may already hold .env and other files written by cloud-init),
# refuses to go on unless TAG resolves to COMMIT, then creates each config DIR owned by UID.
# FETCH_RETRY_SECONDS (default 10) is the pause between the five fetch attempts.
set -eu
retry_seconds=${FETCH_RETRY_SECONDS:-10}

if [ "$#" -lt 6 ]; then
  echo "usage: $0 REPOSITORY TAG COMMIT JITSI_DIR CONFIG_DIR UID DIR..." >&2
  exit 2
fi
repository=$1
tag=$2
commit=$3
jitsi_dir=$4
config_dir=$5
uid=$6
shift 6

mkdir -p "$jitsi_dir"
cd "$jitsi_dir"
if [ ! -d .git ]; then
  git init --quiet
  git remote add origin "$repository"
fi

# The default branch points at :unstable images between releases: fetch the tag, never a branch.
attempt=1
until git fetch --quiet --depth 1 origin "refs/tags/$tag:refs/tags/$tag"; do
  if [ "$attempt" -ge 5 ]; then
    echo "install-jitsi: could not fetch tag $tag from $repository after $attempt attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$retry_seconds"
done

resolved=$(git rev-parse "refs/tags/$tag^{commit}")
if [ "$resolved" != "$commit" ]; then
  echo "install-jitsi: refusing to start: tag $tag resolves to $resolved, expected $commit" >&2
  exit 1
fi
git -c advice.detachedHead=false checkout --quiet --detach "$commit"

for dir in "$@"; do
  mkdir -p "$config_dir/$dir"
  chown "$uid:$uid" "$config_dir/$dir"
done
echo "install-jitsi: $tag ($commit) ready in $jitsi_dir"
