#!/bin/sh
# Install the Debian packages that the benchmarks start as their peers, when they are missing
# and this user may install them: Orthanc with its DICOMweb plugin (bench/imaging.py) and
# IIPImage behind lighttpd's FastCGI (bench/pathology.py). A benchmark whose peer is missing
# says so in its figures instead of a ratio.
set -u
missing=""
command -v Orthanc >/dev/null 2>&1 || missing="$missing orthanc"
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || ls /usr/share/orthanc/plugins*/libOrthancDicomWeb* >/dev/null 2>&1 || missing="$missing orthanc-dicomweb"
[ -x /usr/lib/iipimage-server/iipsrv.fcgi ] || missing="$missing iipimage-server"
command -v lighttpd >/dev/null 2>&1 || missing="$missing lighttpd"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing the benchmarks' peers:$missing"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "missing the benchmarks' peers:$missing (install them for the side-by-side figures)"
fi
exit 0
