#!/usr/bin/env python3
"""summarize.py on the sample folder: every table is there, the numbers follow from the
inputs, and a failed HF dtype is shown, not dropped. Run: python3 tests/bench/test_summarize.py"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sample')


class Summarize(unittest.TestCase):
    def setUp(self):
        self.text = summarize.summarize(SAMPLE)

    def test_every_table(self):
        for title in ('Hugging Face transformers', 'dgx-music', 'Ours against Hugging Face',
                      'PROJECTIONS'):
            self.assertIn(title, self.text)

    def test_speed_up_and_floor(self):
        # HF bf16 middle 11.0 ms against our 1.1 ms: 10.0x; e2e 9.0 / 1.0 s: 9.0x
        self.assertIn('| small | bf16 | bf16 | 1.10 | 11.00 | 10.0x | 1.00 | 9.00 | 9.0x |',
                      self.text)
        # floor: 900 MB over HF's 3000 GB/s moved = 0.300 ms; 1.1 / 0.3 = 3.67
        self.assertIn('| 0.300 | 3.67 |', self.text)

    def test_gb10_projection(self):
        # overhead 1.1 - 0.3 = 0.8 ms; 900 MB / 273 GB/s = 3.297 ms -> 4.10 ms/step
        self.assertIn('| small | bf16 | 900 | 0.800 | 4.10 | 4.71 |', self.text)

    def test_failed_dtype_is_shown(self):
        self.assertIn('failed: RuntimeError: sample failure', self.text)

    def test_device_from_nvidia_smi_without_hf(self):
        # ours alone: the device's name comes from gpu_run.sh's nvidia-smi query
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(SAMPLE, 'dgxm-small-bf16.json'), encoding='utf-8') as f:
                ours = f.read()
            with open(os.path.join(d, 'dgxm-small-bf16.json'), 'w', encoding='utf-8') as f:
                f.write(ours)
            with open(os.path.join(d, 'gpu.txt'), 'w', encoding='utf-8') as f:
                f.write('name, driver_version\nNVIDIA H200, 580.159.04\n')
            self.assertIn('## GPU benchmark: NVIDIA H200\n', summarize.summarize(d))
            os.remove(os.path.join(d, 'gpu.txt'))
            self.assertIn('## GPU benchmark: unknown device\n', summarize.summarize(d))

    def test_empty_folder(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertIn('no hf-*.json', summarize.summarize(d))


if __name__ == '__main__':
    unittest.main()
