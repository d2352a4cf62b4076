#!/bin/bash
# Builds and packages the native addon with @mapbox/node-pre-gyp for one target:
#   firmware/native/build.sh x64|arm64 [OUTDIR]
# x64 builds with the host compiler; arm64 cross-compiles with aarch64-linux-gnu-gcc against the
# host's Node headers (/usr/include/node, same ABI as Debian trixie's node 20). Results:
#   firmware/native/lib/binding/napi-v8-linux-<arch>/tonewall_native.node   (what the loader finds)
#   firmware/native/build/stage/v<version>/tonewall_native-v<version>-napi-v8-linux-<arch>.tar.gz
# With OUTDIR, the lib/binding tree is also copied there (the image's firmware/native/lib).
# Nothing is downloaded: the package's host is a reserved .invalid name and is never contacted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ARCH=${1:?usage: build.sh x64|arm64 [OUTDIR]}
PREGYP="$HERE/../../node_modules/@mapbox/node-pre-gyp/bin/node-pre-gyp"
cd "$HERE"
case "$ARCH" in
  x64) ;;
  arm64) export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar ;;
  *) echo "build.sh: arch \"$ARCH\" is not x64 or arm64" >&2; exit 2 ;;
esac
rm -rf build build-tmp-napi-v*
node "$PREGYP" rebuild package --target_arch="$ARCH" --nodedir=/usr --loglevel=warn >&2
out=$(ls lib/binding/napi-v8-linux-"$ARCH"/tonewall_native.node)
file "$out" | grep -q "$( [ "$ARCH" = arm64 ] && echo aarch64 || echo x86-64 )"
if [ -n "${2:-}" ]; then mkdir -p "$2/binding"; cp -a "lib/binding/napi-v8-linux-$ARCH" "$2/binding/"; fi
echo "$HERE/$out"
