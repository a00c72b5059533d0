#!/usr/bin/env bash
# Python 3.14 and 3.15 for CI on a Debian 12 machine whose own Pythons stop at 3.13: a Debian unstable ("sid")
# chroot, built with debootstrap from Debian's packages, holding Debian's python3.14 and python3.15 (with their venv
# modules; python3 and python3-venv too, a new student's Python there, for .ci/readme-start.sh) and Chromium (for the browser test in the Binder-sized box, which runs on 3.14).
#
#   .ci/newest-pythons.sh DIR        build DIR (about 2 minutes; skipped when DIR already has both Pythons)
#
# Nothing on the host changes but DIR. The chroot is used by .ci/run, which mounts /proc, /sys, a tmpfs /dev/shm
# and the repository inside it, each time in a private mount namespace (unshare --mount), so no mount outlives a stage.
# (The workplace's shared/tools/newest-pythons.sh was the model; this is the project's own copy, so that CI
# installs everything from the repository's files.)
set -euo pipefail
D=${1:?usage: .ci/newest-pythons.sh DIR}
if [ -x "$D/usr/bin/python3" ] && [ -x "$D/usr/bin/python3.14" ] && [ -x "$D/usr/bin/python3.15" ] && [ -x "$D/usr/bin/chromium" ]; then
  echo "$D: already built"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3.14,python3.14-venv,python3.15,python3.15-venv,ca-certificates,procps sid "$D" >/dev/null
cp /etc/resolv.conf "$D/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$D/etc/ssl/certs/ca-certificates.crt"
# Debian's mirror can serve a Release file whose Valid-Until date has passed (seen here); it is still signed.
echo 'Acquire::Check-Valid-Until "false";' > "$D/etc/apt/apt.conf.d/99course-ci"
# apt's package scripts want /proc: mount it in a private mount namespace that ends with the install.
unshare --mount sh -c "mount -t proc proc '$D/proc' &&
  chroot '$D' apt-get update -qq &&
  chroot '$D' env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null"
echo "$D: $(chroot "$D" python3.14 -V), $(chroot "$D" python3.15 -V), $(chroot "$D" chromium --version)"
