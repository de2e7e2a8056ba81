#!/usr/bin/env bash
# ensure-package.sh EXECUTABLE PACKAGE WHAT
# Makes sure a Debian package's program (or, given a path, any file it ships: a shared library, a font) is there:
# installs it with apt-get when missing and running as root, otherwise stops and says how to install it.
set -euo pipefail
EXECUTABLE="$1"; PACKAGE="$2"; WHAT="$3"
if [ -x "$EXECUTABLE" ] || [ -f "$EXECUTABLE" ] || command -v "$EXECUTABLE" >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing $PACKAGE for $WHAT (apt-get install $PACKAGE)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$PACKAGE" >/dev/null
  exit 0
fi
echo "$PACKAGE is missing ($WHAT): install it with 'sudo apt-get install -y $PACKAGE'." >&2
exit 1
