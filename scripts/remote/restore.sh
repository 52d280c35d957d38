#!/bin/sh
# Restores the Jitsi directory from a tar.gz read on stdin. Run on the VM over SSH by scripts/restore.ts as
#   sh -c "<this script>" restore.sh MODE JITSI_DIR SHA256 STAMP [CONTROL]
# MODE is "restore" or "dry-run". CONTROL is a program called as `CONTROL stop` / `CONTROL start`;
# empty means `systemctl stop|start jitsi-meet.service`.
# Exit codes: 0 done; 3 refused, nothing changed; 4 failed, the previous directory is back and started;
# 5 failed and the rollback failed too (the message says what to do by hand).
set -u

mode=${1:?usage: restore.sh MODE JITSI_DIR SHA256 STAMP [CONTROL]}
dir=${2:?missing JITSI_DIR}
want=${3:?missing SHA256}
stamp=${4:?missing STAMP}
control=${5:-}

say() { printf 'restore: %s\n' "$*" >&2 || true; }
refuse() { say "$*; nothing was changed"; exit 3; }

control_stack() {
  if [ -n "$control" ]; then "$control" "$1"; else systemctl "$1" jitsi-meet.service; fi
}

[ "$mode" = restore ] || [ "$mode" = dry-run ] || refuse "unknown mode '$mode'"
[ -d "$dir" ] || refuse "$dir does not exist on $(hostname)"
parent=$(dirname "$dir")
base=$(basename "$dir")
aside="$parent/$base.before-restore-$stamp"
[ ! -e "$aside" ] || refuse "$aside already exists"

# Everything is staged beside the directory (same filesystem, so the swap is two renames).
work=$(mktemp -d "$parent/.$base.restore.XXXXXX") || refuse "cannot create a staging directory in $parent"
# shellcheck disable=SC2317 # called through the traps
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
# PIPE too: after a dropped connection the next message to stderr raises SIGPIPE, and dash does not run the
# EXIT trap when a signal kills it, so the staging folder (with the secrets) would stay behind.
trap 'cleanup; trap - EXIT; exit 3' HUP INT TERM PIPE

say "receiving the archive"
cat >"$work/archive.tar.gz" || refuse "the upload was interrupted"
got=$(sha256sum "$work/archive.tar.gz" | cut -d' ' -f1)
[ "$got" = "$want" ] || refuse "the uploaded archive's sha256 is $got, not $want (upload damaged or cut short)"

unsafe="the archive holds links or special files that could reach outside the directory"
# GNU tar lists one member a line (odd characters escaped), the type first: - file, d directory,
# l symlink, h hard link. Anything else (devices, FIFOs) is refused before it is unpacked; so are hard
# links to absolute paths or with "..", which GNU tar never writes (-P lists names as they are stored).
tar -tvzPf "$work/archive.tar.gz" >"$work/listing" || refuse "the archive does not list"
names() { sed -E 's/^([^ ]+ +){5}//' | head -n 3 | tr '\n' ' '; }
bad=$(grep -v '^[-dlh]' "$work/listing" | names)
[ -z "$bad" ] || refuse "$unsafe: $bad(device files or FIFOs)"
bad=$(grep '^h' "$work/listing" | grep -E ' link to (/|(.*/)?\.\.(/|$))' | names)
[ -z "$bad" ] || refuse "$unsafe: $bad(hard links out of the directory)"

if [ "$(id -u)" = 0 ]; then owners="--same-owner --numeric-owner"; else owners="--no-same-owner"; fi
mkdir "$work/tree" || refuse "cannot create $work/tree"
say "unpacking into a staging directory"
# shellcheck disable=SC2086 # $owners holds two flags on purpose
tar -xzpf "$work/archive.tar.gz" -C "$work/tree" $owners || refuse "the archive does not unpack"
rm -f "$work/archive.tar.gz" "$work/listing"
[ -f "$work/tree/.env" ] || refuse "the archive holds no .env, so it is not a Jitsi directory"

# Symlinks are judged where they lead once unpacked (following the tree's own links): absolute ones and
# ones that resolve outside the tree are refused. The tree moves as a whole, so relative links keep pointing
# where they point here.
tree=$(realpath "$work/tree") || refuse "cannot resolve $work/tree"
bad=$(find "$tree" -type l -exec sh -c '
  root=$1; shift
  for link do
    target=$(readlink -- "$link")
    case $target in
      /*) printf "./%s -> %s\n" "${link#"$root"/}" "$target" ;;
      *) case $(realpath -m -- "$link") in
           "$root" | "$root"/*) ;;
           *) printf "./%s -> %s\n" "${link#"$root"/}" "$target" ;;
         esac ;;
    esac
  done' sh "$tree" {} + | head -n 3 | tr '\n' ' ')
[ -z "$bad" ] || refuse "$unsafe: $bad(symlinks out of the directory)"

if [ "$mode" = dry-run ]; then
  say "dry run: the archive arrived intact and unpacks ($(find "$work/tree" | wc -l) entries)"
  say "dry run: would stop the stack, move $dir to $aside, put the restored tree at $dir, start the stack"
  exit 0
fi

# From here on a dropped connection must not stop the script halfway through the swap.
trap '' HUP INT TERM PIPE

say "stopping the stack"
control_stack stop || { control_stack start; refuse "stopping the stack failed (it was asked to start again)"; }

# rollback REASON [KEEP_AT]: whatever is at $dir goes to KEEP_AT (kept) or into the staging folder (deleted).
rollback() {
  say "$1; rolling back"
  control_stack stop || say "stopping the half-started stack failed (continuing the rollback)"
  if [ -e "$dir" ] || [ -L "$dir" ]; then mv -T "$dir" "${2:-$work/failed-tree}" || { say "cannot move $dir away; the previous directory is at $aside: move it back by hand and start the stack"; exit 5; }; fi
  mv -T "$aside" "$dir" || { say "cannot move $aside back to $dir: do it by hand and start the stack"; exit 5; }
  control_stack start || { say "the previous directory is back at $dir but starting it failed: check 'systemctl status jitsi-meet'"; exit 5; }
  say "the previous directory is back at $dir and the stack was started again"
  exit 4
}

# mv -T: a tree never lands inside a directory that exists by then.
mv -T "$dir" "$aside" || { control_stack start; refuse "cannot move $dir aside"; }
if [ -e "$dir" ] || [ -L "$dir" ]; then
  stray="$dir.appeared-during-restore-$stamp"
  rollback "$dir appeared again after it was moved aside; what appeared is kept at $stray" "$stray"
fi
mv -T "$work/tree" "$dir" || rollback "cannot move the restored tree into place"
say "starting the stack"
control_stack start || rollback "starting the restored stack failed"
say "restored; the previous directory is kept at $aside (delete it once the stack works)"
exit 0
