#!/bin/sh
# Installs docker-jitsi-meet at a pinned release. Runs before every start of jitsi-meet.service, so a
# first boot that failed half-way heals on the unit's next try.
# Usage: install-jitsi.sh REPOSITORY TAG COMMIT JITSI_DIR CONFIG_DIR UID DIR...
# Installs REQUIRED_PACKAGES when one of their commands is missing, fetches TAG into JITSI_DIR (which may
# already hold .env and other files written by cloud-init), refuses to go on unless TAG resolves to
# COMMIT, creates each config DIR owned by UID, then copies MANAGED_CONFIG_DIR (files the settings
# decide) into CONFIG_DIR, after dropping nginx locations that a past setting left there.
# FETCH_RETRY_SECONDS (default 10) is the pause between the five fetch attempts.
# Exit codes: 0 ready; 1 failed, worth another try; 2 usage; 3 refused (the tag does not match).
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

# A transient apt failure during cloud-init's package step leaves these missing: install them here.
if [ -n "${REQUIRED_PACKAGES:-}" ] && ! { command -v git && command -v docker && docker compose version; } >/dev/null 2>&1; then
  echo "install-jitsi: installing $REQUIRED_PACKAGES" >&2
  # shellcheck disable=SC2086 # a list of package names on purpose
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $REQUIRED_PACKAGES; } >&2; then
    echo "install-jitsi: installing $REQUIRED_PACKAGES failed" >&2
    exit 1
  fi
fi

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
  exit 3
fi
git -c advice.detachedHead=false checkout --quiet --detach "$commit"

for dir in "$@"; do
  mkdir -p "$config_dir/$dir"
  chown "$uid:$uid" "$config_dir/$dir"
done

if [ -n "${MANAGED_CONFIG_DIR:-}" ]; then
  # The state volume outlives settings: a location for a service no longer deployed must not stay.
  find "$config_dir/web/nginx-custom" -maxdepth 1 -type f -name '*.conf' -exec rm -f {} +
  if [ -d "$MANAGED_CONFIG_DIR" ]; then cp -R "$MANAGED_CONFIG_DIR/." "$config_dir/"; fi
fi
echo "install-jitsi: $tag ($commit) ready in $jitsi_dir"
