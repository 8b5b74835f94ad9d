#!/bin/sh
# The browser the tests drive: Debian's chromium (or $CHROMIUM), started as a desktop user's browser
# runs: without the right to raise thread priorities. As root (the test machines run as root)
# Chromium makes its audio threads real-time and its IO, WebRTC and compositor threads nice -8. With
# five pages on two cores those threads then take every cycle and starve the ones left at normal
# priority, the fake cameras' among them: cameras delivered 7 of their 20 frames a second. A user's
# browser has no such right (RLIMIT_RTPRIO and RLIMIT_NICE are 0 by default), so here too every
# thread competes on equal terms.
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ "$(id -u)" = 0 ]; then exec setpriv --bounding-set -sys_nice -- "$chromium" "$@"; fi
exec "$chromium" "$@"
