#!/usr/bin/env bash
# jackd_dummy.sh NAME RATE: a private JACK server named NAME on the dummy driver (no sound card),
# for the host tests; it runs until it gets SIGTERM or SIGINT, which it passes to jackd.
#
# Why a wrapper: jackd 1.9 keeps at most 8 servers in a registry in /dev/shm and frees an entry
# only when its server exits cleanly or a server of the same name starts. Servers killed in
# earlier runs (SIGKILL, a crash, a machine under load past a timeout) can fill it, and then
# every start fails with "Too many servers already active". This jackd lists --replace-registry
# but does not parse it. So when a start fails that way and no JACK server is alive on this
# machine (the registry then holds only dead entries), the registry is removed, as that option
# would do, and the start is tried once more.
set -uo pipefail
name=$1 rate=$2
export JACK_NO_AUDIO_RESERVATION=1 # no D-Bus device reservation
registry=/dev/shm/jack-shm-registry

log=$(mktemp)
jackd --no-realtime -n "$name" -d dummy -r "$rate" -p 256 </dev/null >"$log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
# jackd either ends at once (a refused start) or stays up; 3 s tells the two apart.
for _ in $(seq 30); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  cat "$log"
  rm -f "$log"
  status=0
  while kill -0 "$pid" 2>/dev/null; do # wait returns early when the trap has passed on a signal
    wait "$pid"
    status=$?
  done
  exit "$status"
fi
wait "$pid"
status=$?
cat "$log"
# A zombie (killed, not yet reaped) is no server: ps's state tells it apart, pgrep's match not.
server_alive() { ps -eo stat=,comm= | awk '$1 !~ /^Z/ && ($2 == "jackd" || $2 == "jackdbus") { f = 1 } END { exit !f }'; }
if grep -q 'Too many servers already active' "$log" && ! server_alive; then
  echo "jackd_dummy: the JACK registry $registry is full of servers that are no longer running;" \
    "removing it and starting again"
  rm -f "$registry" "$log"
  trap - TERM INT
  exec jackd --no-realtime -n "$name" -d dummy -r "$rate" -p 256 </dev/null
fi
rm -f "$log"
exit "$status"
