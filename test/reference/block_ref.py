"""PyTorch oracle for the engine's autodiff and train step (llm.c style).

The oracle of one production decoder layer (electron/engine/models/llava.ts
decoderLayer; test/unit/engine/train/decoder-layer-vs-torch.test.ts), written
independently: a Llama-style transformer block in HF conventions (RMSNorm, q/k/v/o
projections with W [out, in], non-interleaved rotary, causal softmax
attention, SiLU-gated MLP, residuals), computed in float64 with autograd.
Usage: block_ref.py OUT_DIR [--hidden H --heads N --inter I --seq T --batch B --steps S]
Writes OUT_DIR/manifest.json and one little-endian float32 file per tensor:
inputs (x, cos, sin, proj, every parameter), the loss sum(block(x) * proj),
the gradient of every parameter, and after S steps of AdamW with
clip_grad_norm_ the parameters, per-step losses and gradient norms.

Benchmark mode (bench/train-step.bench.ts): block_ref.py --bench --layers L
[--hidden ... --threads N] times S float32 train steps (forward, backward,
AdamW) of a stack of L blocks, eager, and prints JSON with seconds per step,
peak RSS and the BLAS library in use.
"""
import argparse
import json
import os
import re
import time

import numpy as np
import torch

ADAMW = {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}
CLIP = 1.0
THETA = 10000.0


def rms_norm(x, w, eps=1e-6):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def block(p, x, cos, sin, heads):
    b, t, h = x.shape
    hd = h // heads
    r = rms_norm(x, p["input_layernorm.weight"])

    def proj(name, v):
        return (v @ p[name].T).view(b, t, heads, hd).transpose(1, 2)

    q, k, v = proj("q_proj.weight", r), proj("k_proj.weight", r), proj("v_proj.weight", r)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    scores = q @ k.transpose(-1, -2) / hd**0.5
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    att = torch.softmax(scores, dim=-1) @ v
    x = x + att.transpose(1, 2).reshape(b, t, h) @ p["o_proj.weight"].T
    r = rms_norm(x, p["post_attention_layernorm.weight"])
    gate = r @ p["gate_proj.weight"].T
    up = r @ p["up_proj.weight"].T
    return x + (torch.nn.functional.silu(gate) * up) @ p["down_proj.weight"].T


def blas_library():
    """The BLAS torch's libblas.so.3 resolves to (Debian alternatives), read from the process maps."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line}
    return sorted(os.path.realpath(x) for x in libs if x.startswith("/"))


def vm_hwm_mib():
    """Peak RSS of this process image (VmHWM); ru_maxrss would include the parent's size at fork."""
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024


def bench(a):
    torch.set_num_threads(a.threads)
    h, hd = a.hidden, a.hidden // a.heads
    gen = torch.Generator().manual_seed(0)

    def weight(*shape):
        return (torch.randn(*shape, generator=gen) / shape[-1] ** 0.5).requires_grad_(True)

    layers = []
    for _ in range(a.layers):
        layers.append({
            "input_layernorm.weight": torch.ones(h, requires_grad=True),
            "q_proj.weight": weight(h, h), "k_proj.weight": weight(h, h),
            "v_proj.weight": weight(h, h), "o_proj.weight": weight(h, h),
            "post_attention_layernorm.weight": torch.ones(h, requires_grad=True),
            "gate_proj.weight": weight(a.inter, h), "up_proj.weight": weight(a.inter, h),
            "down_proj.weight": weight(h, a.inter),
        })
    x = torch.randn(a.batch, a.seq, h, generator=gen)
    target = torch.randn(a.batch, a.seq, h, generator=gen)
    inv_freq = 1.0 / (THETA ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    emb = torch.cat([torch.outer(torch.arange(a.seq, dtype=torch.float32), inv_freq)] * 2, dim=-1)
    cos, sin = emb.cos(), emb.sin()
    opt = torch.optim.AdamW([p for layer in layers for p in layer.values()], **ADAMW)

    def step():
        opt.zero_grad()
        y = x
        for layer in layers:
            y = block(layer, y, cos, sin, a.heads)
        loss = ((y - target) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for layer in layers for p in layer.values()], CLIP)
        opt.step()

    step()  # warm-up: allocator and thread pool
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    per_step = (time.perf_counter() - t0) / a.steps
    print(json.dumps({
        "seconds_per_step": per_step,
        "peak_rss_mib": vm_hwm_mib(),
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "torch": torch.__version__,
    }))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--inter", type=int, default=32)
    ap.add_argument("--seq", type=int, default=5)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    if a.bench:
        bench(a)
        return
    rng = np.random.default_rng(7)
    h, i, hd = a.hidden, a.inter, a.hidden // a.heads
    shapes = {
        "input_layernorm.weight": (h,),
        "q_proj.weight": (h, h),
        "k_proj.weight": (h, h),
        "v_proj.weight": (h, h),
        "o_proj.weight": (h, h),
        "post_attention_layernorm.weight": (h,),
        "gate_proj.weight": (i, h),
        "up_proj.weight": (i, h),
        "down_proj.weight": (h, i),
    }
    t64 = lambda arr: torch.tensor(arr, dtype=torch.float64)  # noqa: E731
    init = {}
    for name, shape in shapes.items():
        if name.endswith("layernorm.weight"):
            init[name] = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            init[name] = (rng.standard_normal(shape) / np.sqrt(shape[1])).astype(np.float32)
    x = rng.standard_normal((a.batch, a.seq, h)).astype(np.float32)
    proj = rng.standard_normal((a.batch, a.seq, h)).astype(np.float32)
    inv_freq = 1.0 / (THETA ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    freqs = np.outer(np.arange(a.seq, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)

    params = {k: t64(v).requires_grad_(True) for k, v in init.items()}
    tensors = {"x": x, "cos": cos, "sin": sin, "proj": proj}
    tensors.update({f"param.{k}": v for k, v in init.items()})

    def loss_fn():
        return (block(params, t64(x), t64(cos), t64(sin), a.heads) * t64(proj)).sum()

    loss = loss_fn()
    loss.backward()
    tensors["loss"] = np.array(loss.item(), dtype=np.float32)
    tensors.update({f"grad.{k}": v.grad.numpy().astype(np.float32) for k, v in params.items()})

    for v in params.values():
        v.grad = None
    opt = torch.optim.AdamW(params.values(), **ADAMW)
    losses, norms = [], []
    for _ in range(a.steps):
        opt.zero_grad()
        step_loss = loss_fn()
        step_loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params.values(), CLIP).item())
        losses.append(step_loss.item())
        opt.step()
    tensors["train.losses"] = np.array(losses, dtype=np.float32)
    tensors["train.grad_norms"] = np.array(norms, dtype=np.float32)
    tensors.update({f"trained.{k}": v.detach().numpy().astype(np.float32) for k, v in params.items()})

    os.makedirs(a.out, exist_ok=True)
    manifest = {"config": {**vars(a), "theta": THETA, "adamw": {**ADAMW, "betas": list(ADAMW["betas"])}, "clip": CLIP}, "tensors": {}}
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype="<f4")
        arr.tofile(os.path.join(a.out, f"{name}.f32"))
        manifest["tensors"][name] = list(arr.shape)
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
