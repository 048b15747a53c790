#!/usr/bin/env python3
"""Writes the safetensors seed corpus of tests/fuzz/fuzz_safetensors.c (small valid and invalid
files). Run from the repository root: python3 tests/fuzz/make_seeds.py"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), 'corpus', 'safetensors')
SIZES = {'F32': 4, 'F16': 2, 'BF16': 2, 'F64': 8, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1,
         'U8': 1, 'BOOL': 1}


def layout(tensors, metadata=None):
    """tensors: [(name, dtype, shape)] -> header dict with back-to-back offsets, data bytes"""
    header, offset = {}, 0
    if metadata is not None:
        header['__metadata__'] = metadata
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + n]}
        offset += n
    return header, bytes((i * 37 + 11) & 0xff for i in range(offset))


def file_bytes(header, data, length=None):
    text = json.dumps(header, separators=(',', ':')).encode()
    return struct.pack('<Q', len(text) if length is None else length) + text + data


def write(name, blob):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(blob)


def main():
    os.makedirs(OUT, exist_ok=True)
    h, d = layout([('decoder.lm_heads.0.weight', 'F32', [4, 3]),
                   ('decoder.model.decoder.layer_norm.bias', 'F16', [3]),
                   ('text_encoder.shared.weight', 'BF16', [2, 3]),
                   ('audio_encoder.quantizer.layers.0.codebook.inited', 'F32', [1]),
                   ('count', 'I64', [2]), ('flags', 'BOOL', [3]), ('scalar', 'F64', []),
                   ('empty', 'F32', [0, 4])], {'format': 'pt'})
    write('valid-mixed.safetensors', file_bytes(h, d))
    conv = 'audio_encoder.decoder.layers.0.conv.'
    h, d = layout([(conv + 'weight_g', 'F16', [2, 1, 1]), (conv + 'weight_v', 'F16', [2, 1, 3]),
                   (conv + 'bias', 'F16', [2])])
    write('valid-weight-norm.safetensors', file_bytes(h, d))
    write('empty-header.safetensors', file_bytes({}, b''))
    padded = file_bytes(h, d)
    text = json.dumps(h).encode() + b'    '  # writers may pad the header with spaces
    write('padded-header.safetensors', struct.pack('<Q', len(text)) + text + d)
    write('truncated.safetensors', padded[: len(padded) - 5])
    write('length-past-end.safetensors', file_bytes(h, d, length=1 << 40))
    write('short.safetensors', b'\x02\x00\x00')
    h2 = json.loads(json.dumps(h))
    h2[conv + 'bias']['data_offsets'] = [0, 4]
    write('overlap.safetensors', file_bytes(h2, d))
    h3 = json.loads(json.dumps(h))
    h3[conv + 'bias']['shape'] = [-1]
    write('negative-dim.safetensors', file_bytes(h3, d))
    h4 = json.loads(json.dumps(h))
    h4[conv + 'bias']['dtype'] = 'F8_E5M2'
    write('unknown-dtype.safetensors', file_bytes(h4, d))
    h5 = json.loads(json.dumps(h))
    h5[conv + 'bias']['shape'] = [4294967296, 4294967296]
    write('overflow.safetensors', file_bytes(h5, d))


if __name__ == '__main__':
    main()
