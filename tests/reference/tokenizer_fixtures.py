"""The tiny T5-style tokenizer: SentencePiece training, the Hugging Face tokenizer files,
the 2020-layout tokenizer.json, and prompts.jsonl with the ids of all three.

Needs sentencepiece, tokenizers, transformers and protobuf; no torch.
"""

import io
import json
import os
import shutil
import tempfile

import prompt_text

SPM_SEED = 1234
PROMPT_SEED = 4321
VOCAB_SIZE = 1000
EXTRA_IDS = 100
METASPACE = "\u2581"


def train_spiece(path):
    """Train the unigram model on the synthetic corpus and write spiece.model to path."""
    import sentencepiece as spm

    lines = prompt_text.training_corpus(SPM_SEED)
    spm.set_random_generator_seed(SPM_SEED)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=VOCAB_SIZE,
        model_type="unigram",
        normalization_rule_name="nmt_nfkc",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        character_coverage=0.9995,
        byte_fallback=False,
        num_threads=1,  # one thread: the EM sums are then in a fixed order
        minloglevel=2,
    )
    with open(path, "wb") as f:
        f.write(model.getvalue())
    return len(lines)


def build_hf_tokenizer(spiece_path):
    """The transformers T5 tokenizer built from spiece.model (what from_pretrained does)."""
    from transformers import T5Tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(spiece_path, os.path.join(tmp, "spiece.model"))
        tok = T5Tokenizer.from_pretrained(tmp, extra_ids=EXTRA_IDS)
    return tok


def special_tokens_map():
    """special_tokens_map.json as transformers 4.x wrote it for T5 (transformers 5 no longer does)."""
    return {
        "additional_special_tokens": [f"<extra_id_{i}>" for i in range(EXTRA_IDS)],
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
    }


def save_tokenizer_dir(tok, spiece_path, out_dir):
    """Write tokenizer.json, tokenizer_config.json, special_tokens_map.json, spiece.model."""
    os.makedirs(out_dir, exist_ok=True)
    tok.save_pretrained(out_dir)
    path = os.path.join(out_dir, "special_tokens_map.json")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(special_tokens_map(), f, indent=2, ensure_ascii=False)
            f.write("\n")
    dst = os.path.join(out_dir, "spiece.model")
    if os.path.abspath(spiece_path) != os.path.abspath(dst):
        shutil.copy(spiece_path, dst)


def _legacy_metaspace(entry, with_str_rep):
    """Rewrite a Metaspace entry into the spelling of tokenizers < 0.15 (add_prefix_space)."""
    assert entry["type"] == "Metaspace", entry
    assert entry.get("prepend_scheme", "always") == "always", entry
    out = {"type": "Metaspace", "replacement": entry["replacement"]}
    if with_str_rep:
        out["str_rep"] = entry["replacement"]
    out["add_prefix_space"] = True
    return out


def build_legacy_tokenizer_json(spiece_path):
    """tokenizer.json in the layout of the 2020 SpmConverter (T5Converter).

    Assembled with the tokenizers library, then the Metaspace entries are re-spelled the way
    the 2020 files have them (add_prefix_space, str_rep) and the Unigram model loses the
    byte_fallback key, which older files do not have. Returns (json_text, info).
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as model_pb2
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    proto = model_pb2.ModelProto()
    with open(spiece_path, "rb") as f:
        proto.ParseFromString(f.read())
    sp = spm.SentencePieceProcessor(model_file=spiece_path)
    assert sp.get_piece_size() == len(proto.pieces)

    vocab = [(p.piece, p.score) for p in proto.pieces]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(EXTRA_IDS - 1, -1, -1)]
    tok = Tokenizer(Unigram(vocab, unk_id=proto.trainer_spec.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single=["$A", "</s>"],
        pair=["$A", "</s>", "$B", "</s>"],
        special_tokens=[("</s>", 1)],
    )
    # As PreTrainedTokenizerFast did in 2020: pad/eos/unk, then the additional special tokens.
    specials = ["<pad>", "</s>", "<unk>"] + [f"<extra_id_{i}>" for i in range(EXTRA_IDS)]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])

    library_json = json.loads(tok.to_str())
    j = json.loads(tok.to_str())
    j["pre_tokenizer"]["pretokenizers"][1] = _legacy_metaspace(j["pre_tokenizer"]["pretokenizers"][1], True)
    j["decoder"] = _legacy_metaspace(j["decoder"], False)
    j["model"].pop("byte_fallback", None)
    text = json.dumps(j, indent=2, ensure_ascii=False) + "\n"

    # The re-spelled file must load and behave exactly like the library's own spelling.
    reloaded = Tokenizer.from_str(text)
    library = Tokenizer.from_str(json.dumps(library_json))
    for s in ["90s rock song", "  a  b ", "ＡＢＣ", "x </s> <extra_id_3>", ""]:
        assert reloaded.encode(s).ids == library.encode(s).ids, s
    info = {
        "library_pre_tokenizer": library_json["pre_tokenizer"],
        "library_decoder": library_json["decoder"],
        "written_pre_tokenizer": j["pre_tokenizer"],
        "written_decoder": j["decoder"],
    }
    return text, info


def write_tokenizer_fixtures(out_root):
    """Everything under <out_root>/tokenizer/. Returns (tokenizer, spiece path, summary)."""
    import sentencepiece as spm
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tdir = os.path.join(out_root, "tokenizer")
    os.makedirs(os.path.join(tdir, "legacy"), exist_ok=True)
    spiece = os.path.join(tdir, "spiece.model")
    n_lines = train_spiece(spiece)

    tok = build_hf_tokenizer(spiece)
    save_tokenizer_dir(tok, spiece, tdir)
    # Exactly what MusicgenProcessor does: AutoTokenizer on the saved folder.
    hf = AutoTokenizer.from_pretrained(tdir)

    legacy_text, legacy_info = build_legacy_tokenizer_json(spiece)
    legacy_path = os.path.join(tdir, "legacy", "tokenizer.json")
    with open(legacy_path, "w", encoding="utf-8") as f:
        f.write(legacy_text)
    legacy = Tokenizer.from_file(legacy_path)

    sp = spm.SentencePieceProcessor(model_file=spiece)

    prompts = prompt_text.test_prompts(PROMPT_SEED)
    counts = {"prompts": 0, "ids_vs_spm": 0, "ids_vs_legacy": 0, "spm_vs_legacy": 0, "with_unk": 0}
    skipped = 0
    with open(os.path.join(tdir, "prompts.jsonl"), "w", encoding="utf-8") as f:
        for text in prompts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                skipped += 1  # lone surrogates cannot travel in JSON; tested elsewhere
                continue
            ids = hf(text)["input_ids"]
            spm_ids = sp.encode(text) + [1]
            legacy_ids = legacy.encode(text).ids
            rec = {
                "text": text,
                "ids": ids,
                "spm_ids": spm_ids,
                "legacy_ids": legacy_ids,
                "ids_differ_spm": ids != spm_ids,
                "ids_differ_legacy": ids != legacy_ids,
            }
            counts["prompts"] += 1
            counts["ids_vs_spm"] += ids != spm_ids
            counts["ids_vs_legacy"] += ids != legacy_ids
            counts["spm_vs_legacy"] += spm_ids != legacy_ids
            counts["with_unk"] += 2 in ids[:-1]
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    new_json = json.load(open(os.path.join(tdir, "tokenizer.json"), encoding="utf-8"))
    summary = {
        "training_lines": n_lines,
        "spm_pieces": sp.get_piece_size(),
        "hf_len": len(hf),
        "extra_id_0": hf.convert_tokens_to_ids("<extra_id_0>"),
        "extra_id_99": hf.convert_tokens_to_ids("<extra_id_99>"),
        "counts": counts,
        "skipped_invalid_utf8": skipped,
        "new_normalizer_type": new_json["normalizer"]["type"],
        "new_pre_tokenizer": new_json["pre_tokenizer"],
        "new_decoder": new_json["decoder"],
        "legacy": legacy_info,
    }
    return hf, spiece, summary
