#!/usr/bin/env python3
"""Make the test fixtures: a tiny T5 tokenizer, four tiny random MusicGen checkpoints in the
Hugging Face on-disk format, and the reference outputs of the Hugging Face implementation.

    python3 tests/reference/make_fixtures.py --out tests/fixtures
    python3 tests/reference/make_fixtures.py --out /tmp/fx --only tokenizer   # no torch needed

See README.md beside this file for what is written.
"""

import argparse
import json
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import tokenizer_fixtures  # noqa: E402


def library_versions():
    versions = {"python": platform.python_version()}
    for name in ["torch", "transformers", "tokenizers", "sentencepiece", "safetensors", "numpy", "google.protobuf"]:
        try:
            mod = __import__(name, fromlist=["__version__"])
            versions[name] = getattr(mod, "__version__", "?")
        except ImportError:
            versions[name] = None
    return versions


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="fixture root, e.g. tests/fixtures")
    ap.add_argument("--only", choices=["tokenizer", "all"], default="all")
    ap.add_argument("--models", default="mono,mono-legacy,stereo,stereo-legacy", help="comma-separated subset")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    versions = library_versions()
    print("versions:", json.dumps(versions), flush=True)

    _, spiece, tok_summary = tokenizer_fixtures.write_tokenizer_fixtures(args.out)
    print("tokenizer:", json.dumps(tok_summary, ensure_ascii=False, indent=1), flush=True)
    with open(os.path.join(args.out, "tokenizer", "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": versions, **tok_summary}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    if args.only == "tokenizer":
        return

    import model_fixtures

    tdir = os.path.join(args.out, "tokenizer")
    names = [n for n in args.models.split(",") if n]
    model_fixtures.write_model_fixtures(args.out, tdir, spiece, names, versions)


if __name__ == "__main__":
    main()
