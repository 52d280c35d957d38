#!/bin/sh
# Restores the stack's data (JITSI_DIR/DATA_DIR, the CONFIG the containers mount) from a tar.gz read on
# stdin. Run on the VM over SSH by scripts/restore.ts as
#   sh -c "<this script>" restore.sh MODE JITSI_DIR DATA_DIR SHA256 STAMP CONTROL RELEASE_CHECK [TAG COMMIT]
# MODE is "restore" or "dry-run". CONTROL is a program called as `CONTROL stop` / `CONTROL start`; empty
# means `systemctl stop|start jitsi-meet.service`. RELEASE_CHECK says what to do when TAG and COMMIT (the
# backup's release) are not the release in JITSI_DIR/.jitsi-stack-release.json: "refuse", "allow" (go on),
# or "skip" (the caller compared them with the stack outputs already).
# Only DATA_DIR is replaced. JITSI_DIR/.env, the release file and the checkout are never written: the
# backup's .env is only compared with this VM's, by variable name.
# Progress and reasons go to stderr. Facts for restore.ts go to stdout, every field ended by a NUL:
#   vm-release TAG COMMIT | setting KIND NAME | entries LIVE BACKUP | data KIND WHAT PATH
# Exit codes: 0 done; 3 refused, nothing changed; 4 failed, the previous data is back and started;
# 5 failed and the rollback failed too (the message says what to do by hand).
set -u

usage="usage: restore.sh MODE JITSI_DIR DATA_DIR SHA256 STAMP CONTROL RELEASE_CHECK [TAG COMMIT]"
mode=${1:?$usage}
dir=${2:?missing JITSI_DIR}
data=${3:?missing DATA_DIR}
want=${4:?missing SHA256}
stamp=${5:?missing STAMP}
control=${6:-}
release_check=${7:?missing RELEASE_CHECK}
backup_tag=${8:-}
backup_commit=${9:-}
release_file=.jitsi-stack-release.json

say() { printf 'restore: %s\n' "$*" >&2 || true; }
refuse() { say "$*; nothing was changed"; exit 3; }
fact() { printf '%s\0' "$@"; }

control_stack() {
  if [ -n "$control" ]; then "$control" "$1"; else systemctl "$1" jitsi-meet.service; fi
}

[ "$mode" = restore ] || [ "$mode" = dry-run ] || refuse "unknown mode '$mode'"
case $release_check in refuse | allow | skip) ;; *) refuse "unknown release check '$release_check'" ;; esac
[ -d "$dir" ] || refuse "$dir does not exist on $(hostname)"
[ -f "$dir/.env" ] || refuse "$dir has no .env, so it is not a deployed Jitsi directory"
config="$dir/$data"
state=$(dirname "$config")
name=$(basename "$config")
{ [ -d "$config" ] && [ ! -L "$config" ]; } || refuse "$config is not a directory; is the state volume mounted at $state?"
aside="$state/$name.before-restore-$stamp"
[ ! -e "$aside" ] || refuse "$aside already exists"

# The release this VM runs, from the file cloud-init wrote (JSON, one "key": "value" pair each).
json_value() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$dir/$release_file" | head -n 1; }
vm_tag=
vm_commit=
if [ -f "$dir/$release_file" ]; then
  vm_tag=$(json_value tag)
  vm_commit=$(json_value commit)
fi
fact vm-release "$vm_tag" "$vm_commit"
if [ "$release_check" != skip ] && { [ -z "$backup_tag" ] || [ "$backup_tag" != "$vm_tag" ] || [ "$backup_commit" != "$vm_commit" ]; }; then
  theirs="${backup_tag:-an unknown release}${backup_commit:+ ($backup_commit)}"
  ours="${vm_tag:-an unknown release}${vm_commit:+ ($vm_commit)}"
  [ "$release_check" = allow ] ||
    refuse "the backup was made on Jitsi $theirs but this VM runs $ours (its $dir/$release_file); restore a backup made on that release, or pass --allow-release-mismatch"
  say "the backup was made on Jitsi $theirs but this VM runs $ours; going on as asked"
fi

# Everything is staged beside the data (same filesystem, so the swap is two renames).
work=$(mktemp -d "$state/.$name.restore.XXXXXX") || refuse "cannot create a staging directory in $state"
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

unsafe="the archive holds links or special files that could reach outside $data"
# GNU tar lists one member a line (odd characters escaped), the type first: - file, d directory,
# l symlink, h hard link. Anything else (devices, FIFOs) is refused before it is unpacked; so are hard
# links to anything but a member of DATA_DIR, and ones with "..", which GNU tar never writes (-P lists
# names as they are stored).
tar -tvzPf "$work/archive.tar.gz" >"$work/listing" || refuse "the archive does not list"
names() { sed -E 's/^([^ ]+ +){5}//' | head -n 3 | tr '\n' ' '; }
bad=$(grep -v '^[-dlh]' "$work/listing" | names)
[ -z "$bad" ] || refuse "$unsafe: $bad(device files or FIFOs)"
bad=$(grep '^h' "$work/listing" | while IFS= read -r line; do
  target=${line##* link to }
  case ${target#./} in
    "$data"/*) case /$target/ in */../*) printf '%s\n' "$line" ;; esac ;;
    *) printf '%s\n' "$line" ;;
  esac
done | names)
[ -z "$bad" ] || refuse "$unsafe: $bad(hard links out of $data)"
# Only DATA_DIR and the two reference files belong in a backup (an older format held the whole directory).
tar -tzPf "$work/archive.tar.gz" >"$work/members" || refuse "the archive does not list"
parent=$(dirname "$data")
bad=$(while IFS= read -r member; do
  case ${member#./} in
    "" | .env | "$release_file" | "$parent" | "$parent/" | "$data" | "$data"/*) ;;
    *) printf '%s ' "$member" ;;
  esac
done <"$work/members" | cut -c 1-200)
[ -z "$bad" ] || refuse "the archive holds entries that are not part of a backup (only ./$data/, ./.env and ./$release_file are): $bad"

if [ "$(id -u)" = 0 ]; then owners="--same-owner --numeric-owner"; else owners="--no-same-owner"; fi
mkdir "$work/tree" || refuse "cannot create $work/tree"
say "unpacking into a staging directory"
# shellcheck disable=SC2086 # $owners holds two flags on purpose
tar -xzpf "$work/archive.tar.gz" -C "$work/tree" $owners || refuse "the archive does not unpack"
rm -f "$work/archive.tar.gz" "$work/listing" "$work/members"
{ [ -f "$work/tree/.env" ] && [ ! -L "$work/tree/.env" ]; } || refuse "the archive holds no .env to compare the settings with"
tree=$(realpath "$work/tree") || refuse "cannot resolve $work/tree"
staged="$tree/$data"
{ [ -d "$staged" ] && [ "$(realpath "$staged")" = "$staged" ]; } || refuse "the archive holds no $data directory, so there is no data to restore"

# Symlinks are judged where they lead once unpacked (following the tree's own links): absolute ones and
# ones that resolve outside DATA_DIR are refused. DATA_DIR moves as a whole, so relative links keep
# pointing where they point here.
bad=$(find "$staged" -type l -exec sh -c '
  root=$1 data=$2; shift 2
  for link do
    target=$(readlink -- "$link")
    case $target in
      /*) printf "./%s/%s -> %s\n" "$data" "${link#"$root"/}" "$target" ;;
      *) case $(realpath -m -- "$link") in
           "$root" | "$root"/*) ;;
           *) printf "./%s/%s -> %s\n" "$data" "${link#"$root"/}" "$target" ;;
         esac ;;
    esac
  done' sh "$staged" "$data" {} + | head -n 3 | tr '\n' ' ')
[ -z "$bad" ] || refuse "$unsafe: $bad(symlinks out of $data)"

# Settings: which variables the backup's .env sets differently from this VM's, as docker compose reads
# them (the last NAME=value wins, one pair of quotes removed). Only names leave awk, never a value.
say "comparing the backup's .env with $dir/.env (names only)"
awk '
  function unquoted(text) {
    sub(/^[ \t]+/, "", text)
    sub(/[ \t\r]+$/, "", text)
    if (length(text) >= 2 && (text ~ /^".*"$/ || text ~ /^\047.*\047$/)) text = substr(text, 2, length(text) - 2)
    return text
  }
  {
    line = $0
    sub(/^[ \t]+/, "", line)
    sub(/^export[ \t]+/, "", line)
    if (line !~ /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/) next
    eq = index(line, "=")
    key = substr(line, 1, eq - 1)
    sub(/[ \t]+$/, "", key)
    side = FILENAME == ARGV[1] ? "backup" : "vm"
    value[side, key] = unquoted(substr(line, eq + 1))
    seen[key] = 1
  }
  END {
    for (key in seen) {
      if (!(("vm", key) in value)) print "backup-only", key
      else if (!(("backup", key) in value)) print "vm-only", key
      else if (value["backup", key] != value["vm", key]) print "differ", key
    }
  }' "$tree/.env" "$dir/.env" | sort | while read -r kind key; do fact setting "$kind" "$key"; done

count() { find "$1" -mindepth 1 -printf . | wc -c; }
fact entries "$(count "$config")" "$(count "$staged")"

if [ "$mode" = dry-run ]; then
  say "dry run: comparing $config with the backup's $data"
  # What the restore would change in the data, entry by entry: type, mode, numeric owner, content or link
  # target; then what would go (it stays in the kept copy).
  (cd "$staged" && find . -mindepth 1 -exec sh -c '
    live=$1; shift
    for entry do
      rel=${entry#./}
      if [ ! -e "$live/$rel" ] && [ ! -L "$live/$rel" ]; then printf "%s\0" data added "" "$rel"; continue; fi
      mine=$(find "$entry" -maxdepth 0 -printf "%y %m %U:%G")
      theirs=$(find "$live/$rel" -maxdepth 0 -printf "%y %m %U:%G")
      what=
      if [ "${mine%% *}" != "${theirs%% *}" ]; then what=type
      else
        m=${mine#* }; t=${theirs#* }
        [ "${m%% *}" = "${t%% *}" ] || what="$what mode"
        [ "${m#* }" = "${t#* }" ] || what="$what owner"
        case ${mine%% *} in
          f) cmp -s "$entry" "$live/$rel" || what="$what content" ;;
          l) [ "$(readlink "$entry")" = "$(readlink "$live/$rel")" ] || what="$what target" ;;
        esac
      fi
      [ -z "$what" ] || printf "%s\0" data changed "${what# }" "$rel"
    done' sh "$config" {} +)
  (cd "$config" && find . -mindepth 1 -exec sh -c '
    staged=$1; shift
    for entry do
      rel=${entry#./}
      [ -e "$staged/$rel" ] || [ -L "$staged/$rel" ] || printf "%s\0" data removed "" "$rel"
    done' sh "$staged" {} +)
  say "dry run: the archive arrived intact and unpacks; would stop the stack, move $config to $aside, put the backup's $data at $config and start the stack; $dir/.env, $dir/$release_file and the checkout would stay as they are"
  exit 0
fi

# From here on a dropped connection must not stop the script halfway through the swap.
trap '' HUP INT TERM PIPE

say "stopping the stack"
control_stack stop || { control_stack start; refuse "stopping the stack failed (it was asked to start again)"; }

# rollback REASON [KEEP_AT]: whatever is at $config goes to KEEP_AT (kept) or into the staging folder (deleted).
rollback() {
  say "$1; rolling back"
  control_stack stop || say "stopping the half-started stack failed (continuing the rollback)"
  if [ -e "$config" ] || [ -L "$config" ]; then mv -T "$config" "${2:-$work/failed-tree}" || { say "cannot move $config away; the previous directory is at $aside: move it back by hand and start the stack"; exit 5; }; fi
  mv -T "$aside" "$config" || { say "cannot move $aside back to $config: do it by hand and start the stack"; exit 5; }
  control_stack start || { say "the previous directory is back at $config but starting it failed: check 'systemctl status jitsi-meet'"; exit 5; }
  say "the previous directory is back at $config and the stack was started again"
  exit 4
}

# mv -T: a tree never lands inside a directory that exists by then.
mv -T "$config" "$aside" || { control_stack start; refuse "cannot move $config aside"; }
if [ -e "$config" ] || [ -L "$config" ]; then
  stray="$state/$name.appeared-during-restore-$stamp"
  rollback "$config appeared again after it was moved aside; what appeared is kept at $stray" "$stray"
fi
mv -T "$staged" "$config" || rollback "cannot move the restored data into place"
say "starting the stack"
control_stack start || rollback "starting the restored stack failed"
say "restored $config; the previous directory is kept at $aside (delete it once the stack works); $dir/.env and $dir/$release_file were not changed"
exit 0
