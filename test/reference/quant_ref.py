"""numpy oracle for the engine's weight-only quantization (decision 0650).

Independently of electron/engine/weights/quantize.ts: generates a float32
weight W [N, K] (seeded) and inputs X [M, K], quantizes W per row in blocks of
B consecutive weights with llama.cpp's Q8_0/Q4_0 rule (scale = the block's
largest-magnitude weight / -2^(bits-1), codes = round(w / scale) clipped to
[-2^(bits-1), 2^(bits-1) - 1]), and computes Y = X @ dequant(W)^T in float64.
Usage: quant_ref.py OUT_DIR --n N --k K --m M --bits 8|4 --block B --seed S
Writes manifest.json and float32 files: w, x, scales, codes (as floats), y.
"""
import argparse
import json
import os

import numpy as np


def quantize(w, bits, block):
    qmax = 2 ** (bits - 1)
    n, k = w.shape
    blocks = w.reshape(n, k // block, block)
    idx = np.abs(blocks).argmax(axis=2)
    vmax = np.take_along_axis(blocks, idx[..., None], axis=2)[..., 0]
    scales = (vmax / -qmax).astype(np.float32)
    inv = np.where(scales == 0, 0.0, 1.0 / np.where(scales == 0, 1.0, scales.astype(np.float64)))
    codes = np.clip(np.floor(blocks.astype(np.float64) * inv[..., None] + 0.5), -qmax, qmax - 1)
    return scales, codes.reshape(n, k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--m", type=int, default=3)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    w = (rng.standard_normal((a.n, a.k)) * 0.05).astype(np.float32)
    w[0, 5] = 0.0  # a row with one exact zero, and
    w[1, : a.block] = 0.0  # an all-zero block: scale 0, codes 0
    x = rng.standard_normal((a.m, a.k)).astype(np.float32)
    scales, codes = quantize(w, a.bits, a.block)
    deq = codes.reshape(a.n, a.k // a.block, a.block) * scales.astype(np.float64)[..., None]
    y = x.astype(np.float64) @ deq.reshape(a.n, a.k).T
    tensors = {"w": w, "x": x, "scales": scales, "codes": codes.astype(np.float32), "y": y.astype(np.float32)}
    os.makedirs(a.out, exist_ok=True)
    for name, t in tensors.items():
        np.ascontiguousarray(t, dtype="<f4").tofile(os.path.join(a.out, f"{name}.f32"))
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"config": vars(a), "tensors": {k: list(v.shape) for k, v in tensors.items()}}, f)


if __name__ == "__main__":
    main()
