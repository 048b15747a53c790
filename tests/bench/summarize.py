#!/usr/bin/env python3
"""Markdown tables from a gpu_run.sh output folder: the Hugging Face baseline (hf-SIZE.json),
our engine (dgxm-SIZE-DTYPE.json), ours against HF per size and dtype, the ratio to the byte
floor, and projected GB10 (DGX Spark) figures.

Floor: bytes one decode step reads (our bench's bytes_per_step: weights + KV cache at the middle
position) over the bandwidth measured on the same machine: HF's 1 GiB torch copy (reads +
writes) when present, else our bench's own figure.

GB10 projection (a projection, not a measurement): bytes_per_step / 273 GB/s (GB10's LPDDR5X
peak; 230 GB/s is what a saturating read kernel reaches) + our fixed overhead per step, i.e.
what our measured middle step costs beyond its own floor on the measured machine (launches,
ramps, tails; taken as device-independent). Per audio second: 50 steps.

Usage: summarize.py OUT_DIR     (standard library only; torch not needed)
"""
import glob
import json
import os
import re
import sys

GB10_PEAK_GBS = 273.0
GB10_REAL_GBS = 230.0
STEPS_PER_AUDIO_SECOND = 50
SIZES = ('small', 'medium', 'large')


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {'error': '%s: %s' % (os.path.basename(path), e)}


def fmt(v, digits=2):
    if v is None:
        return '-'
    if isinstance(v, float):
        return '%.*f' % (digits, v)
    return str(v)


def read_dir(out):
    hf, ours = {}, {}
    for path in glob.glob(os.path.join(out, 'hf-*.json')):
        m = re.fullmatch(r'hf-(\w+)\.json', os.path.basename(path))
        if m:
            hf[m.group(1)] = load(path)
    for path in glob.glob(os.path.join(out, 'dgxm-*-*.json')):
        m = re.fullmatch(r'dgxm-(\w+)-(\w+)\.json', os.path.basename(path))
        if m:
            ours[(m.group(1), m.group(2))] = load(path)
    return hf, ours


def order(size):
    return SIZES.index(size) if size in SIZES else len(SIZES)


def moved_gbs(hf_size, our_run):
    bw = (hf_size or {}).get('bandwidth', {}).get('moved_gbs')
    if bw:
        return bw, 'torch 1 GiB copy (reads + writes)'
    return our_run.get('bandwidth_gbs'), 'dgxm bench'


def hf_table(hf):
    lines = ['### Hugging Face transformers (random weights, real shapes)', '',
             '| size | dtype | end to end s | decoder ms/step | step early / middle / late ms '
             '| T5 ms | EnCodec ms | copy GB/s |',
             '|---|---|---|---|---|---|---|---|']
    for size in sorted(hf, key=order):
        h = hf[size]
        if 'error' in h and 'runs' not in h:
            lines.append('| %s | - | %s | | | | | |' % (size, h['error']))
            continue
        for dt, r in h.get('runs', {}).items():
            if 'error' in r:
                lines.append('| %s | %s | failed: %s | | | | | |' % (size, dt, r['error']))
                continue
            lines.append('| %s | %s | %s | %s | %s / %s / %s | %s | %s | %s |' % (
                size, dt, fmt(r.get('end_to_end_s')), fmt(r.get('decoder_ms_per_step')),
                fmt(r.get('step_ms_early')), fmt(r.get('step_ms_middle')),
                fmt(r.get('step_ms_late')), fmt(r.get('t5_ms'), 1), fmt(r.get('encodec_ms'), 1),
                fmt(h.get('bandwidth', {}).get('copy_gbs'), 0)))
    return lines


def ours_table(hf, ours):
    lines = ['### dgx-music (`dgxm bench --random SIZE --device cuda`)', '',
             '| size | dtype | end to end s | step early / middle / late ms | kernels/step '
             '| MB/step | floor ms | middle / floor | T5 ms | EnCodec ms | mean step ms '
             '| first step ms (with set-up) | first use ms: T5 / warm-up generation / EnCodec |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for (size, dt) in sorted(ours, key=lambda k: (order(k[0]), k[1])):
        r = ours[(size, dt)]
        if 'error' in r:
            lines.append('| %s | %s | failed: %s | | | | | | | | | | |' % (size, dt, r['error']))
            continue
        floor = floor_ms(hf.get(size), r)
        mid = r.get('step_ms_middle')
        first_use = ' / '.join(fmt(r.get(k), 1) for k in ('t5_first_ms', 'warm_generation_ms',
                                                          'encodec_first_ms'))
        lines.append('| %s | %s | %s | %s / %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            size, dt, fmt(r.get('end_to_end_s')), fmt(r.get('step_ms_early')), fmt(mid),
            fmt(r.get('step_ms_late')), fmt(r.get('kernels_per_step')),
            fmt(r['bytes_per_step'] / 1e6, 0) if r.get('bytes_per_step') else '-',
            fmt(floor, 3), fmt(mid / floor if mid and floor else None),
            fmt(r.get('t5_ms'), 1), fmt(r.get('encodec_ms'), 1),
            fmt(r.get('step_ms_mean'), 4), fmt(r.get('first_step_ms'), 1), first_use))
    return lines


def floor_ms(hf_size, r):
    bw, _ = moved_gbs(hf_size, r)
    if r.get('bytes_per_step') and bw:
        return r['bytes_per_step'] / (bw * 1e9) * 1e3
    return r.get('floor_ms')


def hf_step(h, dt):
    r = (h or {}).get('runs', {}).get(dt, {})
    return r.get('step_ms_middle') or r.get('decoder_ms_per_step'), r.get('end_to_end_s')


def compare_table(hf, ours):
    lines = ['### Ours against Hugging Face, same machine', '',
             '| size | our dtype | HF dtype | our ms/step (middle) | HF ms/step | step speed-up '
             '| our end to end s | HF end to end s | end-to-end speed-up |',
             '|---|---|---|---|---|---|---|---|---|']
    hf_name = {'bf16': 'bf16', 'f32': 'fp32', 'f16': 'fp16'}
    for (size, dt) in sorted(ours, key=lambda k: (order(k[0]), k[1])):
        r = ours[(size, dt)]
        if 'error' in r or size not in hf:
            continue
        for hdt in dict.fromkeys([hf_name.get(dt, dt), 'fp16', 'fp32']):
            hs, he = hf_step(hf[size], hdt)
            if hs is None:
                continue
            os_, oe = r.get('step_ms_middle'), r.get('end_to_end_s')
            lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                size, dt, hdt, fmt(os_), fmt(hs), fmt(hs / os_ if os_ else None, 1) + 'x',
                fmt(oe), fmt(he), fmt(he / oe if oe and he else None, 1) + 'x'))
    return lines


def gb10_table(hf, ours):
    lines = ['### Projected GB10 (DGX Spark) decode step: PROJECTIONS, not measurements', '',
             'bytes per step / bandwidth + our fixed overhead per step (measured middle step '
             'minus its floor on this machine).', '',
             '| size | dtype | MB/step | overhead ms | ms/step @273 GB/s | ms/step @230 GB/s '
             '| s per audio s @273 / @230 | real-time factor @273 / @230 |',
             '|---|---|---|---|---|---|---|---|']
    for (size, dt) in sorted(ours, key=lambda k: (order(k[0]), k[1])):
        r = ours[(size, dt)]
        b, mid = r.get('bytes_per_step'), r.get('step_ms_middle')
        if 'error' in r or not b or not mid:
            continue
        floor = floor_ms(hf.get(size), r) or 0.0
        overhead = max(0.0, mid - floor)
        peak = b / (GB10_PEAK_GBS * 1e9) * 1e3 + overhead
        real = b / (GB10_REAL_GBS * 1e9) * 1e3 + overhead
        spa = [x * STEPS_PER_AUDIO_SECOND / 1e3 for x in (peak, real)]
        lines.append('| %s | %s | %s | %s | %s | %s | %s / %s | %s / %s |' % (
            size, dt, fmt(b / 1e6, 0), fmt(overhead, 3), fmt(peak), fmt(real), fmt(spa[0]),
            fmt(spa[1]), fmt(1 / spa[0]), fmt(1 / spa[1])))
    return lines


def smi_device(out):
    """The GPU's name from gpu_run.sh's nvidia-smi query (gpu.txt: a CSV header, then a row)."""
    try:
        with open(os.path.join(out, 'gpu.txt'), encoding='utf-8') as f:
            rows = f.read().splitlines()
    except OSError:
        return None
    return rows[1].split(',')[0].strip() if len(rows) > 1 and rows[1].strip() else None


def summarize(out):
    hf, ours = read_dir(out)
    if not hf and not ours:
        return 'summarize: no hf-*.json or dgxm-*-*.json in %s\n' % out
    device = next((h.get('device') for h in hf.values() if h.get('device')), None)
    device = device or smi_device(out) or 'unknown device'
    head = ['## GPU benchmark: %s' % device, '',
            'Workload: one prompt, 16 s of audio (800 decoder steps), guidance 3, top-k 250, '
            'sampling; random weights at the real shapes.', '']
    bw_notes = sorted({moved_gbs(hf.get(s), r)[1] for (s, _), r in ours.items()})
    tail = ['', 'Floor bandwidth from: %s.' % ', '.join(bw_notes)] if bw_notes else []
    parts = [hf_table(hf), ours_table(hf, ours), compare_table(hf, ours), gb10_table(hf, ours)]
    body = []
    for p in parts:
        body += p + ['']
    return '\n'.join(head + body + tail) + '\n'


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: summarize.py OUT_DIR')
    sys.stdout.write(summarize(sys.argv[1]))


if __name__ == '__main__':
    main()
