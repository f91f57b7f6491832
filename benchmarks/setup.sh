#!/bin/sh
# Installs what the startup benchmark (benchmarks/run.mjs) needs, when missing:
#   crun, runc          the peers (Debian packages)
#   gcc, libc6-dev      to build benchmarks/floor.c with `cc -O2 -static`
#   busybox-static      berth's built-in image (localhost/busybox) is made from it
#   util-linux          unshare, mount, umount
# Run as root. Installs nothing that is already there.
set -eu

need=""
have() { command -v "$1" >/dev/null 2>&1; }
have crun || need="$need crun"
have runc || need="$need runc"
have cc || need="$need gcc"
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] || need="$need libc6-dev"
static_busybox=no
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then static_busybox=yes; fi  # ldd fails on static binaries
done
[ "$static_busybox" = yes ] || need="$need busybox-static"
have unshare || need="$need util-linux"

if [ -z "$need" ]; then
  echo "benchmark prerequisites: all present ($(crun --version | head -1); $(runc --version | head -1))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing:$need — run this script as root to install them (apt-get install -y$need)" >&2
  exit 1
fi
if ! have apt-get; then
  echo "missing:$need — install them with your package manager (this script knows apt-get only)" >&2
  exit 1
fi
echo "installing:$need"
apt-get install -y $need || { apt-get update && apt-get install -y $need; }
