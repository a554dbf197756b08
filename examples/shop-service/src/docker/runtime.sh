#!/usr/bin/env bash
# Builds the service's runtime into a root file system for `FROM scratch`: a jlinked Java
# runtime at /opt/java/openjdk (where eclipse-temurin images keep theirs) and the glibc files it
# links against. Only needed where no image hub is reachable; elsewhere, base the image on
# eclipse-temurin:17-jre instead (see the README).
#
#   runtime.sh OUTPUT_DIR
set -euo pipefail
out=${1:?usage: runtime.sh OUTPUT_DIR}
modules=java.base,java.logging,java.management,java.naming,java.security.jgss,java.security.sasl,java.sql,jdk.crypto.ec,jdk.httpserver

java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
jre=$out/opt/java/openjdk
if [ -x "$jre/bin/java" ] && [ "$(cat "$out/.modules" 2>/dev/null)" = "$modules" ]; then
  echo "runtime in $out is up to date"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out/tmp" "$(dirname "$jre")"
chmod 1777 "$out/tmp"
"$java_home/bin/jlink" --module-path "$java_home/jmods" --add-modules "$modules" \
  --strip-debug --no-header-files --no-man-pages --output "$jre"

# Every shared library the runtime's ELF files need, copied to the same path in the image.
find "$jre" -type f \( -name '*.so' -o -path '*/bin/*' \) -print0 |
  xargs -0 ldd 2>/dev/null |
  grep -oE '(/[^ ]+\.so[^ ]*)' | sort -u |
  while read -r lib; do
    case "$lib" in "$jre"/*) continue ;; esac
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done
echo "$modules" >"$out/.modules"
echo "runtime: $(du -sh "$out" | cut -f1) in $out"
