#!/bin/sh
# Install the Debian packages that the real-client tests drive, when they are missing and
# this user may install them. Never fails the build by itself: the tests report what is
# missing (and fail under CI, where everything must be present).
set -u
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v storescu >/dev/null 2>&1 || missing="$missing dcmtk"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages:$missing"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "missing Debian packages:$missing (install them to run the browser and DICOM tests)"
fi
exit 0
