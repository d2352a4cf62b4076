#!/bin/sh
# Starts the controller from the active application slot (docs/mqtt/ota.md): <root>/current when it
# holds an installed tree, else the factory tree this script ships in. tonewall.service's ExecStart;
# `exec` keeps the service's main PID (sd_notify, the watchdog).
# Usage: ota-start.sh <cli arguments…>   (TONEWALL_OTA_ROOT overrides /var/lib/tonewall/ota)
set -eu
root=${TONEWALL_OTA_ROOT:-/var/lib/tonewall/ota}
factory=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
dir=$factory
if [ -f "$root/current/dist/controller/app/cli.js" ]; then
  dir=$root/current
fi
exec "${NODE:-/usr/bin/node}" "$dir/dist/controller/app/cli.js" "$@"
