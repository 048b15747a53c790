#!/usr/bin/env python3
"""The persistent step's block clocks (DGXM_CUDA_PERSIST_TIMELINE=FILE, gpu_run.sh
timeline-small) as a table: per phase, microseconds from the last block passing the phase's
barrier to the median block having its x ready, to warp 0 done, to the median block's
arrival at the next barrier, and to the last block passing it (the phase's length).
Usage: python3 tests/bench/timeline.py FILE.csv [FIRST_PHASE [LAST_PHASE]]"""
import csv
import statistics
import sys

KINDS = {0: 'gemv', 1: 'self-attention', 2: 'cross-attention', -1: 'end'}
STAMPS = ('arrive_ns', 'pass_ns', 'ready_ns', 'landed_ns', 'done_ns')


def load(path):
    """{phase: {'kind': int, stamp: [ns of the blocks that recorded it]}}"""
    phases = {}
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            p = phases.setdefault(int(row['phase']), {'kind': int(row['kind'])})
            for s in STAMPS:
                v = int(row[s])
                if v >= 0:
                    p.setdefault(s, []).append(v)
    return phases


def table(phases, first=0, last=None):
    last = max(phases) - 1 if last is None else last
    out = ['| phase | kind | x ready | warp 0 done | arrival (median) | phase |',
           '|---|---|---|---|---|---|']
    for i in range(first, last + 1):
        p, nxt = phases.get(i), phases.get(i + 1)
        if not p or not nxt or 'pass_ns' not in p:
            continue  # the end of the launch records arrivals only
        start = max(p['pass_ns'])

        def rel(stamp, of=p, pick=statistics.median):
            return '%.2f' % ((pick(of[stamp]) - start) / 1e3) if of.get(stamp) else ''
        out.append('| %d | %s | %s | %s | %s | %s |' % (
            i, KINDS.get(p['kind'], str(p['kind'])), rel('ready_ns'), rel('done_ns'),
            rel('arrive_ns', nxt), rel('pass_ns', nxt, max)))
    return '\n'.join(out)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__ + '\n')
        return 2
    try:
        phases = load(argv[1])
    except (OSError, KeyError, ValueError) as e:
        sys.stderr.write('timeline.py: %s: %s\n' % (argv[1], e))
        return 1
    bounds = [int(a) for a in argv[2:4]]
    print(table(phases, *bounds))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
