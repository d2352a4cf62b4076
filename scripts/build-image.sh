#!/bin/bash
# Builds the tonewall arm64 appliance image, caching what did not change.
#
#   scripts/build-image.sh base      -> prints the directory holding rootfs.img, vmlinuz, initrd.img
#   scripts/build-image.sh app DIR   -> DIR/app.img: the application disk (dist/, production
#                                       node_modules with arm64 native addons, overlay/ with units,
#                                       udev rules and the default config)
#   scripts/build-image.sh all [DIR] -> both; DIR (default $TONEWALL_IMAGE_CACHE/out) gets rootfs.img,
#                                       vmlinuz, initrd.img and app.img (what a board is flashed with)
#
# Cache: $TONEWALL_IMAGE_CACHE (default /var/cache/tonewall-image), keyed by a sha256 of the inputs:
#   base-<hash>/   firmware/image/{build-base.sh,kernel-initrd.sh,packages.txt}, suite, mirror
#   modules-<hash>/ package-lock.json, firmware/native sources (arm64 production node_modules)
# Extra files for the app disk's overlay (e.g. a test's config) can be given in $APP_OVERLAY_EXTRA.
# Everything comes from the repo, Debian and npm's lockfile; nothing is downloaded at install time.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${TONEWALL_IMAGE_CACHE:-/var/cache/tonewall-image}
SUITE=${SUITE:-trixie}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
export SUITE MIRROR
log() { echo "build-image: $*" >&2; }
hash_of() { (cd "$REPO" && cat "$@"; echo "$SUITE $MIRROR") | sha256sum | cut -c1-16; }

ensure_binfmt() {
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --import qemu-aarch64 || update-binfmts --enable qemu-aarch64
  grep -q 'flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64
}

build_base() {
  local key dir tmp t0
  key=$(hash_of firmware/image/build-base.sh firmware/image/kernel-initrd.sh firmware/image/packages.txt)
  dir="$CACHE/base-$key"
  if [ -s "$dir/rootfs.img" ] && [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ]; then
    log "base image cached ($dir)"; echo "$dir"; return
  fi
  ensure_binfmt
  mkdir -p "$CACHE"; tmp=$(mktemp -d "$CACHE/tmp-base-XXXXXX")
  t0=$(date +%s)
  IMG_OUT="$tmp" "$REPO/firmware/image/build-base.sh" >&2
  rm -rf "$tmp/rootfs"
  rm -rf "$dir"; mv "$tmp" "$dir"
  log "base image built in $(( $(date +%s) - t0 )) s ($dir)"
  echo "$dir"
}

# Production node_modules for linux-arm64: a copy of the host tree pruned of dev dependencies, with
# the native addons cross-compiled (better-sqlite3, onoff's epoll, our firmware/native addon).
# serialport ships an arm64 N-API prebuild and needs nothing.
build_modules() {
  local key dir tmp t0
  key=$(hash_of package-lock.json firmware/native/binding.gyp firmware/native/package.json firmware/native/build.sh firmware/native/src/tonewall_native.c)
  dir="$CACHE/modules-$key"
  if [ -d "$dir/node_modules" ]; then log "arm64 node_modules cached ($dir)"; echo "$dir"; return; fi
  mkdir -p "$CACHE"; tmp=$(mktemp -d "$CACHE/tmp-modules-XXXXXX")
  t0=$(date +%s)
  cp "$REPO/package.json" "$REPO/package-lock.json" "$tmp/"
  cp -a "$REPO/node_modules" "$tmp/node_modules"
  (cd "$tmp" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >&2)
  (
    cd "$tmp"
    export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
    export npm_config_arch=arm64 npm_config_target_arch=arm64 npm_config_platform=linux
    export npm_config_nodedir=/usr npm_config_build_from_source=true JOBS=2
    npm rebuild better-sqlite3 epoll >&2
  )
  file "$tmp/node_modules/better-sqlite3/build/Release/better_sqlite3.node" | grep -q aarch64
  mkdir -p "$tmp/native"
  "$REPO/firmware/native/build.sh" arm64 "$tmp/native" >&2
  rm -rf "$dir"; mv "$tmp" "$dir"
  log "arm64 node_modules built in $(( $(date +%s) - t0 )) s ($dir)"
  echo "$dir"
}

build_app() {
  local out=$1 mods stage
  mods=$(build_modules)
  stage=$(mktemp -d); trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/app/firmware/native/lib"
  cp -a "$REPO/dist" "$REPO/package.json" "$stage/app/"
  mkdir -p "$stage/app/scripts" && cp -a "$REPO"/scripts/ota-*.sh "$stage/app/scripts/"
  cp -a "$mods/node_modules" "$stage/app/node_modules"
  cp -a "$mods/native/." "$stage/app/firmware/native/lib/"
  # overlay/: copied onto the root filesystem at boot (QEMU) or at image build (board).
  local ov="$stage/app/overlay"
  mkdir -p "$ov/etc/systemd/system/multi-user.target.wants" "$ov/etc/udev/rules.d" "$ov/etc/tonewall"
  cp "$REPO"/systemd/*.service "$REPO"/systemd/*.path "$ov/etc/systemd/system/"
  cp "$REPO"/systemd/*.rules "$ov/etc/udev/rules.d/"
  # Enabled: every unit with an [Install] section (tonewall-reboot.service is started by its .path only).
  for u in "$REPO"/systemd/*.service "$REPO"/systemd/*.path; do
    grep -q '^\[Install\]' "$u" || continue
    ln -sf "/etc/systemd/system/$(basename "$u")" "$ov/etc/systemd/system/multi-user.target.wants/$(basename "$u")"
  done
  cp "$REPO/firmware/config/default.json" "$ov/etc/tonewall/config.json"
  if [ -n "${APP_OVERLAY_EXTRA:-}" ]; then cp -a "$APP_OVERLAY_EXTRA/." "$ov/"; fi
  mkdir -p "$out"
  mke2fs -q -t ext4 -F -L tonewall-app -d "$stage/app" "$out/app.img" "${APP_IMG_SIZE:-256M}"
  log "application disk $out/app.img"
}

case "${1:-}" in
  base) build_base ;;
  modules) build_modules ;;
  app) build_app "${2:?usage: build-image.sh app OUTDIR}" ;;
  all)
    out=${2:-$CACHE/out}; mkdir -p "$out"
    base=$(build_base); cp --sparse=always "$base/rootfs.img" "$base/vmlinuz" "$base/initrd.img" "$out/"
    build_app "$out" ;;
  *) echo "usage: build-image.sh base | modules | app OUTDIR | all [OUTDIR]" >&2; exit 2 ;;
esac
