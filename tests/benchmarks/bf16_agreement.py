"""bf16 autocast against fp32 on every chunk of the bench sets: the quantisation check.

`qa index` embeds under bf16 autocast where the CPU has native bfloat16. This builds each
bench set's index as `qa index` does (bf16 on), embeds the same chunk texts on fp32, and
prints the lowest and mean cosine between the two, per set. Issue 12 asks for cosine
>= .99 on every chunk. Not a test: prints numbers.

    python tests/benchmarks/bf16_agreement.py [--shared /work/shared/bench]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    from qa.index.embedding import SentenceTransformerEmbedder, bf16_supported
    from qa.index.indexing import build_index, load_index

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("/work/shared/bench"))
    args = parser.parse_args()
    sets = {
        "seeds": ROOT / "seeds",
        "superbowl": ROOT / "tests" / "data" / "bench" / "superbowl" / "sources",
        "squad2-dev": args.shared / "squad2-dev" / "sources",
    }
    fp32, bf16 = SentenceTransformerEmbedder(bf16=False), SentenceTransformerEmbedder(bf16=True)
    print(f"native bfloat16: {bf16_supported()} (without it autocast is emulated: valid but slow)")
    for name, sources in sets.items():
        if not sources.is_dir():
            print(f"{name:10s} skipped: {sources} is missing")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            build_index(sources, Path(tmp) / "idx", embedder=bf16)
            index = load_index(Path(tmp) / "idx", embedder=bf16)
            texts = [c.text for c in index.chunks]
            built = np.array(index.embeddings, dtype=np.float32)  # a copy: the folder goes
        cosine = np.sum(built * fp32.embed(texts), axis=1)
        print(f"{name:10s} {len(texts):5d} chunks  cosine bf16 build vs fp32: min {cosine.min():.5f}  "
              f"mean {cosine.mean():.5f}  below .99: {int((cosine < 0.99).sum())}")


if __name__ == "__main__":
    main()
