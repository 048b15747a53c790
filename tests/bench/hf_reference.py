#!/usr/bin/env python3
"""The Hugging Face MusicGen baseline on a GPU, at the real shapes, with random weights.

Builds transformers' MusicgenForConditionalGeneration from configs at the exact shapes of
facebook/musicgen-small / -medium / -large (t5-base text encoder for all three, EnCodec 32 kHz,
4 codebooks x 2048), so no download is needed, and times the same workload as `dgxm bench`:
one prompt, 16 s of audio (max_new_tokens=800), guidance_scale=3, do_sample=True, top_k=250.

Per dtype (fp32, fp16, bf16): a short warm-up generate, then --repeats timed generates with
torch.cuda.synchronize() around them. Reported (JSON on stdout; progress on stderr):
  end_to_end_s          generate() of 800 tokens including T5 and the EnCodec decode
  decoder_ms_per_step   (end_to_end - t5 - encodec) / steps
  step_ms_early/middle/late   median step time over steps 1-50 / the middle 50 / the last 50,
                        from a streamer that synchronizes and stamps every step
  t5_ms                 text encoder alone (median of 5)
  encodec_ms            audio_encoder.decode of 800 frames alone (median of 3)
Plus the device-to-device copy bandwidth of a 1 GiB tensor (best of 10), so the byte floor
uses a figure measured on the same machine: copy_gbs counts bytes copied, moved_gbs reads +
writes (2x).

Usage: hf_reference.py --size small [--dtypes fp32,fp16,bf16] [--repeats 1] [--tiny]
--tiny: a toy config on whatever device there is (CPU too), 20 tokens: a smoke test of the
script itself. Needs torch and transformers; no network.
"""
import argparse
import json
import statistics
import sys
import time

SIZES = {  # hidden, layers, heads, ffn (facebook/musicgen-*/config.json)
    'small': (1024, 24, 16, 4096),
    'medium': (1536, 48, 24, 6144),
    'large': (2048, 48, 32, 8192),
    'tiny': (64, 2, 4, 128),
}
DTYPES = ('fp32', 'fp16', 'bf16')


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def build_config(size, tiny):
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, T5Config
    hidden, layers, heads, ffn = SIZES[size]
    if tiny:
        t5 = T5Config(vocab_size=32128, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                      feed_forward_proj='relu')
    else:  # t5-base, the text encoder of every MusicGen size
        t5 = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12,
                      num_heads=12, relative_attention_num_buckets=32,
                      relative_attention_max_distance=128, feed_forward_proj='relu',
                      layer_norm_epsilon=1e-6)
    encodec = EncodecConfig(
        sampling_rate=32000, audio_channels=1, num_filters=64, upsampling_ratios=[8, 5, 4, 4],
        hidden_size=128, codebook_size=2048, codebook_dim=128, target_bandwidths=[2.2],
        num_residual_layers=1, residual_kernel_size=3, dilation_growth_rate=2, compress=2,
        kernel_size=7, last_kernel_size=7, num_lstm_layers=2, use_causal_conv=False,
        pad_mode='reflect', norm_type='weight_norm', use_conv_shortcut=False,
        trim_right_ratio=1.0, normalize=False, chunk_length_s=None, overlap=None)
    decoder = MusicgenDecoderConfig(
        vocab_size=2048, max_position_embeddings=2048, num_hidden_layers=layers, ffn_dim=ffn,
        num_attention_heads=heads, hidden_size=hidden, num_codebooks=4, audio_channels=1,
        activation_function='gelu', dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
        layerdrop=0.0, scale_embedding=False, pad_token_id=2048, bos_token_id=2048,
        tie_word_embeddings=False)
    try:
        return MusicgenConfig.from_sub_models_config(t5, encodec, decoder)
    except AttributeError:  # removed in some releases: the plain constructor takes dicts
        return MusicgenConfig(text_encoder=t5.to_dict(), audio_encoder=encodec.to_dict(),
                              decoder=decoder.to_dict())


def sync(torch, device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def copy_bandwidth(torch, device, tiny):
    """Best of 10 device-to-device copies of a 1 GiB tensor (16 MiB with --tiny)."""
    n = (16 << 20) if tiny else (1 << 30)
    src = torch.empty(n, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    best = float('inf')
    for i in range(11):
        sync(torch, device)
        t0 = time.perf_counter()
        dst.copy_(src)
        sync(torch, device)
        if i:
            best = min(best, time.perf_counter() - t0)
    del src, dst
    return {'bytes': n, 'copy_gbs': n / best / 1e9, 'moved_gbs': 2 * n / best / 1e9}


class StepClock:
    """A generate() streamer: put() is called once with the prompt and once per new token
    step; each call synchronizes and records the time."""

    def __init__(self, torch, device):
        self.torch, self.device, self.stamps = torch, device, []

    def put(self, value):
        sync(self.torch, self.device)
        self.stamps.append(time.perf_counter())

    def end(self):
        pass

    def steps_ms(self):
        s = self.stamps
        return [(b - a) * 1e3 for a, b in zip(s[1:], s[2:])]  # skip the prompt's put


def median_ms(torch, device, fn, n):
    times = []
    for _ in range(n):
        sync(torch, device)
        t0 = time.perf_counter()
        fn()
        sync(torch, device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run_dtype(torch, model, device, dtype_name, args, prompt_ids):
    dtype = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}[dtype_name]
    model = model.to(dtype)
    ids, mask = prompt_ids
    tokens = 20 if args.tiny else args.tokens
    gen = dict(input_ids=ids, attention_mask=mask, do_sample=True, top_k=250,
               guidance_scale=3.0, max_new_tokens=tokens)
    with torch.inference_mode():
        model.generate(**dict(gen, max_new_tokens=min(10, tokens)))  # warm-up
        t5_ms = median_ms(torch, device,
                          lambda: model.text_encoder(input_ids=ids, attention_mask=mask), 5)
        codes = torch.randint(0, 2048, (1, 1, 4, tokens), device=device)
        encodec_ms = median_ms(torch, device,
                               lambda: model.audio_encoder.decode(codes, [None]), 3)
        runs, steps = [], []
        for r in range(args.repeats):
            clock = StepClock(torch, device)
            sync(torch, device)
            t0 = time.perf_counter()
            try:
                model.generate(**gen, streamer=clock)
            except TypeError:  # a generate() without streamer support: end to end only
                clock = None
                model.generate(**gen)
            sync(torch, device)
            runs.append(time.perf_counter() - t0)
            if clock:
                steps = clock.steps_ms()
            log('  %s run %d: %.2f s' % (dtype_name, r + 1, runs[-1]))
    e2e = statistics.median(runs)
    out = {'end_to_end_s': e2e, 'tokens': tokens, 't5_ms': t5_ms, 'encodec_ms': encodec_ms,
           'decoder_ms_per_step': (e2e * 1e3 - t5_ms - encodec_ms) / tokens}
    if len(steps) >= 3:
        k = max(1, min(50, len(steps) // 3))
        mid = len(steps) // 2
        out['step_ms_early'] = statistics.median(steps[:k])
        out['step_ms_middle'] = statistics.median(steps[mid - k // 2: mid - k // 2 + k])
        out['step_ms_late'] = statistics.median(steps[-k:])
        out['steps_timed'] = len(steps)
    return model, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--size', choices=('small', 'medium', 'large'), default='small')
    ap.add_argument('--dtypes', default=','.join(DTYPES))
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--tokens', type=int, default=800, help='max_new_tokens (16 s = 800)')
    ap.add_argument('--tiny', action='store_true', help='toy shapes, any device: smoke test')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    dtypes = [d for d in args.dtypes.split(',') if d]
    for d in dtypes:
        if d not in DTYPES:
            ap.error('--dtypes: %s is not one of %s' % (d, ', '.join(DTYPES)))

    import torch
    import transformers
    from transformers import MusicgenForConditionalGeneration
    if not args.tiny and not torch.cuda.is_available():
        ap.error('no CUDA device visible to torch (use --tiny for a CPU smoke test)')
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(args.seed)
    size = 'tiny' if args.tiny else args.size
    config = build_config(size, args.tiny)
    t0 = time.perf_counter()
    with torch.device(device):  # random init straight on the device: large is 13 GB in fp32
        model = MusicgenForConditionalGeneration(config)
    model.eval()
    log('%s: built in %.1f s on %s' % (size, time.perf_counter() - t0, device))
    params = {part: sum(p.numel() for p in getattr(model, part).parameters())
              for part in ('text_encoder', 'decoder', 'audio_encoder')}
    # A 12-token prompt ending in </s> (id 1), like a short text prompt through T5's tokenizer.
    ids = torch.randint(3, 32000, (1, 12), device=device)
    ids[0, -1] = 1
    mask = torch.ones_like(ids)
    result = {
        'size': size, 'device': torch.cuda.get_device_name(0) if device.type == 'cuda' else 'cpu',
        'torch': torch.__version__, 'transformers': transformers.__version__,
        'workload': {'max_new_tokens': 20 if args.tiny else args.tokens, 'guidance_scale': 3.0,
                     'do_sample': True, 'top_k': 250, 'prompt_tokens': 12},
        'params': params, 'bandwidth': copy_bandwidth(torch, device, args.tiny), 'runs': {},
    }
    log('copy bandwidth: %.0f GB/s copied' % result['bandwidth']['copy_gbs'])
    for d in dtypes:
        try:
            model, result['runs'][d] = run_dtype(torch, model, device, d, args, (ids, mask))
            log('%s %s: %.2f s, %.2f ms/step' % (size, d, result['runs'][d]['end_to_end_s'],
                                                  result['runs'][d]['decoder_ms_per_step']))
        except Exception as e:  # noqa: BLE001 -- one dtype failing must not lose the others
            result['runs'][d] = {'error': '%s: %s' % (type(e).__name__, e)}
            log('%s %s failed: %s' % (size, d, result['runs'][d]['error']))
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main()
