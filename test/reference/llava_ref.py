#!/usr/bin/python3
"""Independent PyTorch oracle for the LLaVA-family engine (issue #5).

Written from the Hugging Face semantics in shared/LLAVA-HF.md, without the
transformers library: it reads a llava-hf model folder (safetensors parsed
with numpy), runs the model eagerly in float64 with no KV cache (every step
recomputes the whole sequence, so the engine's cache path is checked against
a different computation) and writes reference outputs as JSON (large arrays as raw float32 files beside it:
OUTPUT.logits.f32 and OUTPUT.features.f32).

Usage: llava_ref.py MODEL_DIR REQUEST.json OUTPUT.json
       llava_ref.py --bench MODEL_DIR REQUEST.json OUTPUT.json  (fp32 timings, KV cache)

Request fields (all optional except input_ids):
  input_ids            prompt token ids, with image_token_index placeholders
                       (one per image, or already expanded to one per feature)
  pixel_values         path to a .npy float32 array [N, 3, H, W]
  pixel_values_raw     path to raw little-endian float32, with pixel_shape
  steps                greedy decode steps (new tokens), default 0
  attention_layers     decoder layers whose head-averaged attention rows are
                       recorded for every decode step, default []
  include_prefill_row  also record the prefill's last attention row
  logits               "last" (default) or "all": prefill logits to return
  score                list of {"prompt_ids": [...], "response_ids": [...]}
  adapter              PEFT adapter folder applied merged (W + s * B @ A)
  lora_grad            {"adapter": DIR, "rows": [{"prompt_ids", "response_ids",
                       "images": [indices into the pixel batch]}, ...]}: the
                       adapter applied unmerged (y += s * (x A^T) B^T) with A and
                       B requiring grad; loss = sum over rows of the response
                       tokens' log-probs, each row run alone (no padding);
                       writes lora_logprobs (per row) and lora_grads
                       ({module: {"A": [...], "B": [...]}}, row-major)
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

DT = torch.float64


# ---------------------------------------------------------------- weights
def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {dt}, not a float")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy()).to(DT)
    return out


def canonical(name):
    """Map both llava-hf layouts onto the older one."""
    for p in ("model.language_model.", "model.vision_tower.", "model.multi_modal_projector."):
        if name.startswith(p):
            name = name[len("model."):]
            break
    if name.startswith("language_model.") and not name.startswith("language_model.model.") \
            and not name.startswith("language_model.lm_head"):
        name = "language_model.model." + name[len("language_model."):]
    if name.startswith("lm_head."):
        name = "language_model." + name
    return name


def load_weights(model_dir):
    files = sorted(f for f in os.listdir(model_dir) if f.endswith(".safetensors"))
    w = {}
    for f in files:
        for k, v in read_safetensors(os.path.join(model_dir, f)).items():
            w[canonical(k)] = v
    return w


def read_adapter(adapter_dir):
    """(scale, {canonical module: (A [r, in], B [out, r])}) of a PEFT folder."""
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    t = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    mods = {}
    for k, a in t.items():
        if ".lora_A." in k:
            module = canonical(k[len("base_model.model."):].replace(".lora_A.weight", ".weight"))[:-len(".weight")]
            mods[module] = (a, t[k.replace(".lora_A.", ".lora_B.")])
    return scale, mods


def apply_adapter(w, adapter_dir):
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    t = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    for k, a in t.items():
        if ".lora_A." not in k:
            continue
        b = t[k.replace(".lora_A.", ".lora_B.")]
        base = canonical(k[len("base_model.model."):].replace(".lora_A.weight", ".weight"))
        w[base] = w[base] + scale * (b @ a)


# ---------------------------------------------------------------- vision
def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


ACTS = {
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "gelu": lambda x: torch.nn.functional.gelu(x),
    "gelu_pytorch_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "silu": torch.nn.functional.silu,
}


def vision_hidden_states(w, vc, pixels, kind):
    p = "vision_tower.vision_model."
    d, heads = vc["hidden_size"], vc["num_attention_heads"]
    hd = d // heads
    eps = vc.get("layer_norm_eps", 1e-5 if kind == "clip" else 1e-6)
    act = ACTS[vc.get("hidden_act", "quick_gelu" if kind == "clip" else "gelu_pytorch_tanh")]
    x = torch.nn.functional.conv2d(pixels, w[p + "embeddings.patch_embedding.weight"],
                                   w.get(p + "embeddings.patch_embedding.bias"), stride=vc["patch_size"])
    x = x.flatten(2).transpose(1, 2)  # [N, P, D]
    if kind == "clip":
        cls = w[p + "embeddings.class_embedding"].expand(x.shape[0], 1, d)
        x = torch.cat([cls, x], dim=1)
    x = x + w[p + "embeddings.position_embedding.weight"][None]
    if kind == "clip":
        x = layer_norm(x, w[p + "pre_layrnorm.weight"], w[p + "pre_layrnorm.bias"], eps)
    states = [x]
    for i in range(vc["num_hidden_layers"]):
        q = p + f"encoder.layers.{i}."
        h = layer_norm(x, w[q + "layer_norm1.weight"], w[q + "layer_norm1.bias"], eps)
        n, t, _ = h.shape

        def proj(name):
            return (h @ w[q + f"self_attn.{name}.weight"].T + w[q + f"self_attn.{name}.bias"]) \
                .view(n, t, heads, hd).transpose(1, 2)

        att = torch.softmax(proj("q_proj") @ proj("k_proj").transpose(-1, -2) * hd ** -0.5, dim=-1)
        o = (att @ proj("v_proj")).transpose(1, 2).reshape(n, t, d)
        x = x + o @ w[q + "self_attn.out_proj.weight"].T + w[q + "self_attn.out_proj.bias"]
        h = layer_norm(x, w[q + "layer_norm2.weight"], w[q + "layer_norm2.bias"], eps)
        h = act(h @ w[q + "mlp.fc1.weight"].T + w[q + "mlp.fc1.bias"])
        x = x + h @ w[q + "mlp.fc2.weight"].T + w[q + "mlp.fc2.bias"]
        states.append(x)
    return states


def image_features(w, cfg, pixels):
    vc = cfg["vision_config"]
    kind = {"clip_vision_model": "clip", "siglip_vision_model": "siglip"}[vc.get("model_type", "clip_vision_model")]
    states = vision_hidden_states(w, vc, pixels, kind)
    layer = cfg.get("vision_feature_layer", -2)
    layers = layer if isinstance(layer, list) else [layer]
    feats = torch.cat([states[i] for i in layers], dim=-1)
    if cfg.get("vision_feature_select_strategy", "default") == "default":
        feats = feats[:, 1:]
    act = ACTS[cfg.get("projector_hidden_act", "gelu")]
    m = "multi_modal_projector."
    h = feats @ w[m + "linear_1.weight"].T + w[m + "linear_1.bias"]
    if m + "linear_2.weight" in w:
        h = act(h) @ w[m + "linear_2.weight"].T + w[m + "linear_2.bias"]
    return h  # [N, F, text_hidden]


# ---------------------------------------------------------------- language model
def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rope(tc, start, t, hd):
    theta = tc.get("rope_theta", 10000.0)
    inv = theta ** (-torch.arange(0, hd, 2, dtype=DT) / hd)
    pos = torch.arange(start, start + t, dtype=DT)
    sc = tc.get("rope_scaling") or {}
    if sc.get("rope_type", sc.get("type")) == "linear":
        pos = pos / sc["factor"]
    ang = torch.outer(pos, inv)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()


def sliding_window(tc):
    """Mistral's window (4096 when the field is absent, none when null); the engine refuses Qwen2's."""
    if tc.get("model_type", "llama") != "mistral":
        return None
    return tc["sliding_window"] if "sliding_window" in tc else 4096


def lm_forward(w, cfg, embeds, record_layers, cache=None, lora=None, dropout=0.0):
    """embeds [T, D] -> (logits [T, V], {layer: attention [T, Tk] mean over heads}).

    cache: None (whole sequence, the oracle's way) or a list that receives and
    extends each layer's (keys, values), HF-style, for the benchmark.
    lora: None or (scale, {module: (A, B)}), added unmerged to those modules.
    dropout: LoRA dropout on the branch input (PEFT's lora_dropout, training mode), for the benchmark.
    """

    def lin(x, module):
        y = x @ w[module + ".weight"].T
        b = w.get(module + ".bias")
        if b is not None:
            y = y + b
        if lora is not None and module in lora[1]:
            a_, b_ = lora[1][module]
            xd = torch.nn.functional.dropout(x, dropout, training=True) if dropout > 0 else x
            y = y + lora[0] * ((xd @ a_.T) @ b_.T)
        return y

    tc = cfg["text_config"]
    p = "language_model.model."
    d, heads = tc["hidden_size"], tc["num_attention_heads"]
    kv = tc.get("num_key_value_heads") or heads
    hd = tc.get("head_dim") or d // heads
    eps = tc.get("rms_norm_eps", 1e-6)
    t = embeds.shape[0]
    start = cache[0][0].shape[1] if cache else 0
    cos, sin = rope(tc, start, t, hd)
    mask = torch.full((t, start + t), float("-inf"), dtype=DT).triu(start + 1)
    window = sliding_window(tc)
    if window is not None:  # transformers' sliding_window_overlay: key k visible to query q iff q - k < window
        dist = torch.arange(start, start + t)[:, None] - torch.arange(start + t)[None, :]
        mask = mask.masked_fill(dist >= window, float("-inf"))
    x = embeds
    rows = {}
    for i in range(tc["num_hidden_layers"]):
        q = p + f"layers.{i}."
        h = rms_norm(x, w[q + "input_layernorm.weight"], eps)

        def proj(name, n):
            return lin(h, q + f"self_attn.{name}").view(t, n, hd).transpose(0, 1)  # [n, T, hd]

        qs, ks, vs = proj("q_proj", heads), proj("k_proj", kv), proj("v_proj", kv)
        qs = qs * cos + rotate_half(qs) * sin
        ks = ks * cos + rotate_half(ks) * sin
        if cache is not None:
            if len(cache) > i:
                ks, vs = torch.cat([cache[i][0], ks], 1), torch.cat([cache[i][1], vs], 1)
                cache[i] = (ks, vs)
            else:
                cache.append((ks, vs))
        ks = ks.repeat_interleave(heads // kv, dim=0)
        vs = vs.repeat_interleave(heads // kv, dim=0)
        att = torch.softmax(qs @ ks.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
        if i in record_layers:
            rows[i] = att.mean(0)
        o = (att @ vs).transpose(0, 1).reshape(t, heads * hd)  # [T, H*hd]
        x = x + lin(o, q + "self_attn.o_proj")
        h = rms_norm(x, w[q + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(h, q + "mlp.gate_proj")) * lin(h, q + "mlp.up_proj")
        x = x + lin(g, q + "mlp.down_proj")
    x = rms_norm(x, w[p + "norm.weight"], eps)
    head = w.get("language_model.lm_head.weight")
    if head is None:
        head = w[p + "embed_tokens.weight"]
    return x @ head.T, rows


def merge(w, cfg, ids, feats):
    """Token ids with image placeholders + features [N, F, D] -> embeddings [T, D], expanded ids."""
    img = cfg.get("image_token_index", cfg.get("image_token_id", 32000))
    n_img = 0 if feats is None else feats.shape[0]
    n_feat = 0 if feats is None else feats.shape[1]
    slots = [i for i, t in enumerate(ids) if t == img]
    if len(slots) == n_img and n_feat != 1:
        out = []
        for t in ids:
            out.extend([img] * n_feat if t == img else [t])
        ids = out
    elif len(slots) != n_img * n_feat:
        raise ValueError(f"{len(slots)} image tokens for {n_img} images of {n_feat} features")
    table = w["language_model.model.embed_tokens.weight"]
    emb = table[torch.tensor([0 if t == img else t for t in ids])].clone()
    if n_img:
        pos = torch.tensor([i for i, t in enumerate(ids) if t == img])
        emb[pos] = feats.reshape(-1, feats.shape[-1])
    return emb, ids


# ---------------------------------------------------------------- driver
def load_pixels(req):
    if "pixel_values" in req:
        return torch.from_numpy(np.load(req["pixel_values"]).astype(np.float32)).to(DT)
    if "pixel_values_raw" in req:
        arr = np.fromfile(req["pixel_values_raw"], dtype="<f4").reshape(req["pixel_shape"])
        return torch.from_numpy(arr.copy()).to(DT)
    return None


def log_softmax(v):
    return torch.log_softmax(v, dim=-1)


def main(model_dir, req_path, out_path):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    req = json.load(open(req_path))
    w = load_weights(model_dir)
    if req.get("adapter"):
        apply_adapter(w, req["adapter"])
    pixels = load_pixels(req)
    feats = image_features(w, cfg, pixels) if pixels is not None else None
    out = {}
    if feats is not None:
        feats.numpy().astype("<f4").tofile(out_path + ".features.f32")
        out["image_features_shape"] = list(feats.shape)

    layers = req.get("attention_layers", [])
    emb, ids = merge(w, cfg, req["input_ids"], feats)
    out["input_ids"] = ids
    logits, rows = lm_forward(w, cfg, emb, layers)
    (logits if req.get("logits") == "all" else logits[-1:]).numpy().astype("<f4").tofile(out_path + ".logits.f32")
    out["vocab"] = logits.shape[-1]
    att = {str(l): [] for l in layers}
    if req.get("include_prefill_row"):
        for l in layers:
            att[str(l)].append(rows[l][-1].tolist())
    tokens, logprobs, maxprobs = [], [], []
    table = w["language_model.model.embed_tokens.weight"]
    for step in range(req.get("steps", 0)):
        lp = log_softmax(logits[-1])
        tok = int(torch.argmax(lp))
        tokens.append(tok)
        logprobs.append(float(lp[tok]))
        maxprobs.append(float(lp.exp().max()))
        if step + 1 == req["steps"]:
            break
        emb = torch.cat([emb, table[tok][None]], dim=0)
        logits, rows = lm_forward(w, cfg, emb, layers)
        for l in layers:
            att[str(l)].append(rows[l][-1].tolist())
    out.update(tokens=tokens, token_logprobs=logprobs, max_probs=maxprobs, attention=att)

    scores = []
    for item in req.get("score", []):
        e, pids = merge(w, cfg, item["prompt_ids"], feats)
        resp = item["response_ids"]
        e = torch.cat([e, table[torch.tensor(resp)]], dim=0)
        lg, _ = lm_forward(w, cfg, e, [])
        lp = log_softmax(lg[len(pids) - 1:-1])
        scores.append([float(lp[i, t]) for i, t in enumerate(resp)])
    out["scores"] = scores
    if "lora_grad" in req:
        out.update(lora_grads(w, cfg, req["lora_grad"], feats))
    with open(out_path, "w") as f:
        json.dump(out, f)


def lora_grads(w, cfg, spec, feats):
    """Gradients of sum(response log-probs) over the rows w.r.t. every LoRA A and B (unmerged)."""
    scale, mods = read_adapter(spec["adapter"])
    for a, b in mods.values():
        a.requires_grad_(True)
        b.requires_grad_(True)
    table = w["language_model.model.embed_tokens.weight"]
    total = torch.zeros((), dtype=DT)
    rows = []
    for row in spec["rows"]:
        imgs = row.get("images", [])
        e, pids = merge(w, cfg, row["prompt_ids"], feats[imgs] if imgs else None)
        resp = row["response_ids"]
        e = torch.cat([e, table[torch.tensor(resp)]], dim=0)
        lg, _ = lm_forward(w, cfg, e, [], lora=(scale, mods))
        lp = log_softmax(lg[len(pids) - 1:-1])[torch.arange(len(resp)), torch.tensor(resp)]
        rows.append(lp.tolist())
        total = total + lp.sum()
    total.backward()
    grads = {m: {"A": a.grad.flatten().tolist(), "B": b.grad.flatten().tolist()} for m, (a, b) in mods.items()}
    return {"lora_logprobs": rows, "lora_grads": grads}


def bench(model_dir, req_path, out_path):
    """fp32 eager timings with a KV cache (what HF generate does): vision, prefill, greedy decode."""
    global DT
    DT = torch.float32
    req = json.load(open(req_path))
    torch.set_num_threads(req.get("threads", 1))
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = load_weights(model_dir)
    pixels = load_pixels(req)
    table = w["language_model.model.embed_tokens.weight"]
    layer = req.get("attention_layer")
    out = {}
    with torch.no_grad():
        t0 = time.perf_counter()
        feats = image_features(w, cfg, pixels)
        out["vision_s"] = time.perf_counter() - t0
        emb, ids = merge(w, cfg, req["input_ids"], feats)
        out["prompt_tokens"] = len(ids)
        for _ in range(req.get("repeats", 1)):  # the best round counts, as on our side
            cache = []
            t0 = time.perf_counter()
            logits, _ = lm_forward(w, cfg, emb, [], cache)
            out["prefill_s"] = min(out.get("prefill_s", math.inf), time.perf_counter() - t0)
            t0 = time.perf_counter()
            for _ in range(req["steps"]):
                tok = int(torch.argmax(logits[-1]))
                logits, _ = lm_forward(w, cfg, table[tok][None], [layer] if layer is not None else [], cache)
            out["decode_s"] = min(out.get("decode_s", math.inf), time.perf_counter() - t0)
        out["decode_steps"] = req["steps"]
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    if sys.argv[1] == "--bench":
        bench(*sys.argv[2:5])
    else:
        main(*sys.argv[1:4])
