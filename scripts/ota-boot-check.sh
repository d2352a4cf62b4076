#!/bin/sh
# Crash-loop guard for application updates (docs/mqtt/ota.md), run by tonewall.service as
# ExecStartPre before every start. It does not depend on the new version running at all:
#
#   no <root>/pending, or a decided one (result=…)       → nothing to do
#   current → the pending to_slot: count this start (attempts+1)
#       attempts > max  → switch `current` back to from_slot (atomic rename), add result=crash-loop;
#                         the old version reports `rolled_back` when it starts
#   current anywhere else                                 → nothing to count
#
# Usage: ota-boot-check.sh [root (default /var/lib/tonewall/ota)] [max starts (default 3)]
set -eu
root=${1:-/var/lib/tonewall/ota}
max=${2:-3}
pending=$root/pending
[ -f "$pending" ] || exit 0
grep -q '^result=' "$pending" && exit 0

field() { sed -n "s/^$1=//p" "$pending" | head -n 1; }
to_slot=$(field to_slot)
from_slot=$(field from_slot)
attempts=$(field attempts)
case "$to_slot" in a|b) ;; *) echo "ota-boot-check: $pending has no valid to_slot; left alone" >&2; exit 0 ;; esac
case "$from_slot" in a|b|factory) ;; *) echo "ota-boot-check: $pending has no valid from_slot; left alone" >&2; exit 0 ;; esac
case "$attempts" in ''|*[!0-9]*) attempts=0 ;; esac

current=$(readlink "$root/current" 2>/dev/null || true)
[ "$current" = "slots/$to_slot" ] || exit 0

attempts=$((attempts + 1))
tmp=$pending.new
if [ "$attempts" -gt "$max" ]; then
  if [ "$from_slot" = factory ]; then
    rm -f "$root/current"
  else
    ln -sfn "slots/$from_slot" "$root/current.new"
    mv -T "$root/current.new" "$root/current"
  fi
  { grep -v '^attempts=' "$pending"; echo "attempts=$((attempts - 1))"; echo "result=crash-loop"; } > "$tmp"
  echo "ota-boot-check: slot $to_slot failed to start $((attempts - 1)) times; switched back to $from_slot" >&2
else
  { grep -v '^attempts=' "$pending"; echo "attempts=$attempts"; } > "$tmp"
  echo "ota-boot-check: start $attempts of $max for slot $to_slot on probation" >&2
fi
sync "$tmp" 2>/dev/null || true
mv -f "$tmp" "$pending"
sync "$root" 2>/dev/null || true
exit 0
