#!/usr/bin/python3
"""Independent PyTorch oracle for the InternLM-XComposer-2.5 decoder (issue 16, item 4).

Our own code, written from the semantics of the official remote code
(modeling_internlm2.py: InternLM2Attention with the packed wqkv rearranged as
"b q (h gs d) -> b q h gs d", repeat_kv, InternLM2MLP, RMSNorm in fp32, the
rotary classes incl. InternLM2DynamicNTKScalingRotaryEmbedding; build_mlp.py:
PLoRA, which adds Plora_B(Plora_A(x)) * alpha / r (= 256 / 256) at the rows where
im_mask is set). It reads an IXC2.5 folder written by random-ixc-checkpoint.ts
(every *.safetensors in it, so sharded folders too; bf16/fp16 widened exactly),
computes in float64, and follows the official module structure rather than the
engine's (gathered image rows, repeated K/V, a table per call), so the engine
is checked against a different computation.

Rotary: cos/sin for a call are built for its kv length T (cache + new tokens)
with the base the official class uses when T exceeds max_position_embeddings
(dynamic NTK), and indexed by position ids, so cached keys keep the rotation of
the call that made them: the HF generate path on a fresh model. Angles are
computed in float64 (the official table is fp32; the engine's is float64).

Usage: ixc_ref.py OUT_DIR MODEL_DIR REQUEST.json
       ixc_ref.py --bench MODEL_DIR REQUEST.json OUTPUT.json  (fp32 timings, KV cache;
       request: input_ids with -1 rows, image_rows, steps, threads, repeats)
Request: {"runs": [{"name", "input_ids": [... -1 at image rows ...],
  "image_rows": raw little-endian f32 file [rows, hidden] in order of the -1s,
  "logits": "all" (full pass, no cache: NAME.logits [T, V]),
  "steps": greedy decode steps with a KV cache (NAME.step_logits [steps, V],
           tokens and per-step head-mean attention rows of attention_layers),
  "attention_layers": [...], "plora": true, "rope": "config" | "none",
  "lora": safetensors file of MODULE.lora_A.weight / MODULE.lora_B.weight,
  "lora_scale": 1.0,
  "peft": a PEFT adapter folder in the official layout instead (adapter_config.json's r, lora_alpha,
          use_rslora give the scale; adapter_model.safetensors keys base_model.model.MODULE.lora_A.weight),
  "grad": {"targets": [...], "mask": [...]} (with lora: NAME.logprobs [T] and
          NAME.grad.MODULE.A / .B of sum(mask * log p(targets)), autograd)}]}
Writes OUT_DIR/manifest.json ({"config": {name: {"tokens", "attention"}},
"tensors": {name: dims}}) and OUT_DIR/NAME.f32 (test/helpers/reference.ts).
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llava_ref import read_safetensors  # noqa: E402

DT = torch.float64
PLORA_SCALE = 256 / 256  # lora_alpha / lora_r as the remote code hard-codes them


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = {}
    for f in sorted(os.listdir(model_dir)):
        if f.endswith(".safetensors"):
            w.update(read_safetensors(os.path.join(model_dir, f)))
    return cfg, w


class Model:
    def __init__(self, cfg, w, use_plora=True, rope="config", lora=None, lora_scale=1.0):
        self.cfg, self.w = cfg, w
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads") or self.nh
        self.hd = cfg["hidden_size"] // self.nh
        self.gs = self.nh // self.nkv
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.use_plora = use_plora
        self.scaling = cfg.get("rope_scaling") if rope == "config" else None
        self.lora, self.lora_scale = lora or {}, lora_scale
        self.tables = {}

    # ---- pieces
    def rms(self, x, name):
        return self.w[name] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def plora(self, x, name, im_mask):
        """PLoRA.forward: base linear on every row, the adapter added on the image rows only."""
        res = x @ self.w[f"{name}.weight"].T
        if f"{name}.bias" in self.w:
            res = res + self.w[f"{name}.bias"]
        if self.use_plora and bool(im_mask.any()):
            part = x[im_mask]
            res = res.clone()
            res[im_mask] += (part @ self.w[f"{name}.Plora_A.weight"].T) @ self.w[f"{name}.Plora_B.weight"].T * PLORA_SCALE
        if name in self.lora:  # fine-tuning LoRA (PEFT): every row, on top of PLoRA
            a, b = self.lora[name]
            res = res + (x @ a.T) @ b.T * self.lora_scale
        return res

    def rope_table(self, kv_len):
        """The rotary class's cos/sin cache for a call of kv length kv_len (made once per base and length, as its cache)."""
        key = (self.rope_base(kv_len), max(kv_len, self.cfg["max_position_embeddings"]))
        if key not in self.tables:
            self.tables[key] = self.make_table(*key)
        return self.tables[key]

    def rope_base(self, kv_len):
        base = self.cfg.get("rope_theta", 10000.0)
        sc = self.scaling or {}
        kind = sc.get("type", sc.get("rope_type"))
        max_pos = self.cfg["max_position_embeddings"]
        if kind == "dynamic" and kv_len > max_pos:
            f = sc["factor"]
            base = base * ((f * kv_len / max_pos) - (f - 1)) ** (self.hd / (self.hd - 2))
        return base

    def make_table(self, base, length):
        sc = self.scaling or {}
        kind = sc.get("type", sc.get("rope_type"))
        inv = 1.0 / (base ** (torch.arange(0, self.hd, 2, dtype=DT) / self.hd))
        t = torch.arange(length, dtype=DT)
        if kind == "linear":
            t = t / sc["factor"]
        freqs = torch.outer(t, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    @staticmethod
    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def attention(self, x, i, im_mask, pos, past, record):
        q_len = x.shape[0]
        name = f"model.layers.{i}.attention"
        qkv = self.plora(x, f"{name}.wqkv", im_mask).view(q_len, self.nkv, self.gs + 2, self.hd)
        q = qkv[:, :, : self.gs, :].reshape(q_len, self.nh, self.hd).transpose(0, 1)  # [nh, T, hd]
        k = qkv[:, :, -2, :].transpose(0, 1)  # [nkv, T, hd]
        v = qkv[:, :, -1, :].transpose(0, 1)
        kv_len = q_len + (past[0].shape[1] if past is not None else 0)
        cos, sin = self.rope_table(kv_len)
        cos, sin = cos[pos][None], sin[pos][None]
        q = q * cos + self.rotate_half(q) * sin
        k = k * cos + self.rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=1)
            v = torch.cat([past[1], v], dim=1)
        present = (k, v)
        k = torch.repeat_interleave(k, self.gs, dim=0)  # repeat_kv: kv head j serves q heads j*gs..
        v = torch.repeat_interleave(v, self.gs, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(self.hd)  # [nh, T, Tk]
        keys = torch.arange(kv_len)
        scores = scores.masked_fill(keys[None, None, :] > torch.as_tensor(pos)[None, :, None], -math.inf)
        probs = torch.softmax(scores, dim=-1)
        if record is not None:
            record[i] = probs.mean(0)[-1]
        out = (probs @ v).transpose(0, 1).reshape(q_len, self.nh * self.hd)
        return self.plora(out, f"{name}.wo", im_mask), present

    def layer(self, x, i, im_mask, pos, past, record):
        name = f"model.layers.{i}"
        a, present = self.attention(self.rms(x, f"{name}.attention_norm.weight"), i, im_mask, pos, past, record)
        h = x + a
        f = f"{name}.feed_forward"
        y = self.rms(h, f"{name}.ffn_norm.weight")
        gate = self.plora(y, f"{f}.w1", im_mask)
        mlp = self.plora(torch.nn.functional.silu(gate) * self.plora(y, f"{f}.w3", im_mask), f"{f}.w2", im_mask)
        return h + mlp, present

    def forward(self, embeds, im_mask, cache=None, record=None):
        """embeds [T, H] after the cache; returns logits [T, V] and the extended cache."""
        start = cache[0][0].shape[1] if cache else 0
        pos = list(range(start, start + embeds.shape[0]))
        x = embeds
        new_cache = []
        for i in range(self.cfg["num_hidden_layers"]):
            x, present = self.layer(x, i, im_mask, pos, cache[i] if cache else None, record)
            new_cache.append(present)
        x = self.rms(x, "model.norm.weight")
        head = self.w["output.weight"] if "output.weight" in self.w else self.w["model.tok_embeddings.weight"]
        return x @ head.T, new_cache


def read_lora(path, trainable=False):
    t = read_safetensors(path)
    mods = {}
    for k in t:
        if k.endswith(".lora_A.weight"):
            m = k[: -len(".lora_A.weight")]
            mods[m] = (t[k].requires_grad_(trainable), t[f"{m}.lora_B.weight"].requires_grad_(trainable))
    return mods


def read_peft(folder):
    """An adapter folder as PEFT's LoraModel reads it: scale alpha / r (alpha / sqrt(r) with rsLoRA), keys without
    the PeftModel wrapper's base_model.model. prefix, so MODULE is the model's own module path."""
    with open(os.path.join(folder, "adapter_config.json")) as f:
        c = json.load(f)
    r, alpha = c["r"], c["lora_alpha"]
    scale = alpha / math.sqrt(r) if c.get("use_rslora") else alpha / r
    t = read_safetensors(os.path.join(folder, "adapter_model.safetensors"))
    prefix = "base_model.model."
    mods = {}
    for k in t:
        if k.endswith(".lora_A.weight"):
            assert k.startswith(prefix), k
            m = k[len(prefix) : -len(".lora_A.weight")]
            mods[m] = (t[k], t[f"{prefix}{m}.lora_B.weight"])
            assert mods[m][0].shape[0] == r and mods[m][1].shape[1] == r, (k, r)
    return mods, scale


def main(out_dir, model_dir, req_path):
    cfg, w = load(model_dir)
    with open(req_path) as f:
        req = json.load(f)
    table = w["model.tok_embeddings.weight"]
    results, tensors = {}, {}

    def save(name, arr):
        a = np.ascontiguousarray(arr.detach().numpy().astype("<f4"))
        a.tofile(os.path.join(out_dir, f"{name}.f32"))
        tensors[name] = list(a.shape)

    for run in req["runs"]:
        grad = run.get("grad")
        lora = read_lora(run["lora"], grad is not None) if run.get("lora") else None
        scale = run.get("lora_scale", 1.0)
        if run.get("peft"):
            lora, scale = read_peft(run["peft"])
        m = Model(cfg, w, run.get("plora", True), run.get("rope", "config"), lora, scale)
        ids = torch.tensor(run["input_ids"])
        im_mask = ids < 0
        embeds = table[ids.clamp(min=0)].clone()
        if bool(im_mask.any()):
            rows = np.fromfile(run["image_rows"], dtype="<f4").reshape(-1, cfg["hidden_size"])
            embeds[im_mask] = torch.from_numpy(rows.copy()).to(DT)
        name = run["name"]
        res = {}
        if run.get("logits") == "all":
            with torch.no_grad():
                logits, _ = m.forward(embeds, im_mask)
            save(f"{name}.logits", logits)
        if grad is not None:
            # loss = sum of log p(targets[t]) where mask[t]; gradients w.r.t. every LoRA A and B (autograd)
            logits, _ = m.forward(embeds, im_mask)
            logp = torch.log_softmax(logits, -1).gather(1, torch.tensor(grad["targets"])[:, None])[:, 0]
            (logp * torch.tensor(grad["mask"], dtype=DT)).sum().backward()
            save(f"{name}.logprobs", logp)
            for module, (a, b) in lora.items():
                save(f"{name}.grad.{module}.A", a.grad)
                save(f"{name}.grad.{module}.B", b.grad)
        steps = run.get("steps", 0)
        if steps:
            torch.set_grad_enabled(False)
            layers = run.get("attention_layers", [])
            rec = {}
            logits, cache = m.forward(embeds, im_mask, None, rec)
            rows, toks, attn = [], [], {str(layer): [] for layer in layers}
            for s in range(steps):
                for layer in layers:
                    attn[str(layer)].append(rec[layer].tolist())
                last = logits[-1]
                rows.append(last)
                tok = int(torch.argmax(last))
                toks.append(tok)
                if s + 1 < steps:
                    rec = {}
                    # a decode step embeds ids: im_mask all false, as the remote code resets it
                    logits, cache = m.forward(table[tok][None], torch.zeros(1, dtype=torch.bool), cache, rec)
            save(f"{name}.step_logits", torch.stack(rows))
            res["tokens"] = toks
            res["attention"] = attn
            torch.set_grad_enabled(True)
        results[name] = res
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"config": results, "tensors": tensors}, f)


def bench(model_dir, req_path, out_path):
    """fp32 eager timings with a KV cache (HF generate's path): prefill over the prompt, greedy decode."""
    global DT
    import time

    import llava_ref

    DT = llava_ref.DT = torch.float32
    with open(req_path) as f:
        req = json.load(f)
    torch.set_num_threads(req.get("threads", 1))
    cfg, w = load(model_dir)
    m = Model(cfg, w)
    table = w["model.tok_embeddings.weight"]
    ids = torch.tensor(req["input_ids"])
    im_mask = ids < 0
    embeds = table[ids.clamp(min=0)].clone()
    rows = np.fromfile(req["image_rows"], dtype="<f4").reshape(-1, cfg["hidden_size"])
    embeds[im_mask] = torch.from_numpy(rows.copy())
    out = {"prompt_tokens": len(ids)}
    with torch.no_grad():
        for _ in range(req.get("repeats", 1)):  # the best round counts, as on our side
            t0 = time.perf_counter()
            logits, cache = m.forward(embeds, im_mask)
            out["prefill_s"] = min(out.get("prefill_s", math.inf), time.perf_counter() - t0)
            t0 = time.perf_counter()
            for _ in range(req["steps"]):
                tok = int(torch.argmax(logits[-1]))
                logits, cache = m.forward(table[tok][None], torch.zeros(1, dtype=torch.bool), cache)
            out["decode_s"] = min(out.get("decode_s", math.inf), time.perf_counter() - t0)
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    if sys.argv[1] == "--bench":
        bench(*sys.argv[2:5])
    else:
        main(*sys.argv[1:4])
