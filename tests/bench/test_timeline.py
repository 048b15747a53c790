#!/usr/bin/env python3
"""timeline.py on a made-up two-block, two-phase timeline whose answers follow by hand, and its
error for a file that is not a timeline. Run: python3 tests/bench/test_timeline.py"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timeline  # noqa: E402

CSV = """phase,kind,block,arrive_ns,pass_ns,ready_ns,landed_ns,done_ns
0,0,0,0,1000,2000,2100,3000
0,0,1,0,1500,2600,2700,4000
1,1,0,5000,7000,-1,-1,-1
1,1,1,6000,7500,-1,-1,-1
2,-1,0,9000,-1,-1,-1,-1
2,-1,1,11000,-1,-1,-1,-1
"""


class Timeline(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, 't.csv')
        with open(self.path, 'w') as f:
            f.write(CSV)

    def tearDown(self):
        self.dir.cleanup()

    def test_phase_rows(self):
        text = timeline.table(timeline.load(self.path))
        # phase 0 starts when the last block passes, 1500 ns: ready median 2300 -> 0.80 us,
        # warp 0 done median 3500 -> 2.00, next arrivals median 5500 -> 4.00, last pass of
        # barrier 1 at 7500 -> 6.00
        self.assertIn('| 0 | gemv | 0.80 | 2.00 | 4.00 | 6.00 |', text)
        # phase 1 has no ready or done stamps, and the end has no pass: arrivals only
        self.assertIn('| 1 | self-attention |  |  | 2.50 |  |', text)

    def test_not_a_timeline(self):
        bad = os.path.join(self.dir.name, 'bad.csv')
        with open(bad, 'w') as f:
            f.write('a,b\n1,2\n')
        self.assertEqual(timeline.main(['timeline.py', bad]), 1)


if __name__ == '__main__':
    unittest.main()
