"""Independent oracle for InternLM-XComposer-2.5's vision side after the HD
transform, written from the official semantics (build_mlp.CLIPVisionTower.forward,
the model's vision_proj and img2emb): the CLIP tower (transformers'
CLIPVisionModel semantics: bias-free patch conv, class token, learned positions,
pre_layrnorm, pre-norm encoder layers) run on every global view and crop of a
batch of images at once, hidden_states[-1] (the last encoder layer's output, no
post_layernorm) without the class token, the 2x2 merge and the separator layout
(ixc_hd_ref.layout), then vision_proj = Linear, GELU (exact), Linear. float64.
Attention here is torch's nn.MultiheadAttention (the engine writes its own), the
patch embedding a Conv2d (the engine unfolds and multiplies).

Usage: ixc_vision_ref.py OUT MODEL_DIR JOB.json
  JOB = {"images": [{"pixels": "FILE.f32", "rows": R, "cols": C}, ...]}: each FILE
  holds raw little-endian float32 [1 + R*C, 3, S, S], the global view then the crops.
  Writes image<i> [tokens, H] per image and separators [2, H] (projected glb, sub);
  config.lengths = tokens per image.
  With "bench": {"repeat": N, "threads": T} in JOB: float32, each image run on its
  own (img2emb: one ViT batch of its global view and crops, layout, vision_proj);
  config.seconds = each image's median over N runs after one warm-up; no tensors.
Output: OUT/manifest.json + OUT/NAME.f32 (see test/helpers/reference.ts).
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from ixc_hd_ref import layout  # noqa: E402  the official forward's merge + separator walk
from llava_ref import read_safetensors  # noqa: E402  safetensors parsed with numpy, float64

DT = torch.float64  # float32 in bench mode
VIT = "vit.vision_tower.vision_model."


def load(model_dir):
    w = {}
    for f in sorted(os.listdir(model_dir)):
        if f.endswith(".safetensors"):
            w.update(read_safetensors(os.path.join(model_dir, f)))
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    return w, cfg


def act_fn(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unsupported vision hidden_act {name}")


def clip_last_hidden(w, vc, pixels):
    """hidden_states[-1] of a CLIPVisionModel: [N, 1 + P, D]."""
    d, heads, eps = vc["hidden_size"], vc["num_attention_heads"], vc.get("layer_norm_eps", 1e-5)
    act = act_fn(vc.get("hidden_act", "quick_gelu"))
    x = nn.functional.conv2d(pixels, w[VIT + "embeddings.patch_embedding.weight"], stride=vc["patch_size"])
    x = x.flatten(2).transpose(1, 2)
    cls = w[VIT + "embeddings.class_embedding"].reshape(1, 1, d).expand(x.shape[0], 1, d)
    x = torch.cat([cls, x], dim=1) + w[VIT + "embeddings.position_embedding.weight"].unsqueeze(0)
    x = nn.functional.layer_norm(x, (d,), w[VIT + "pre_layrnorm.weight"], w[VIT + "pre_layrnorm.bias"], eps)
    for i in range(vc["num_hidden_layers"]):
        p = VIT + f"encoder.layers.{i}."
        mha = nn.MultiheadAttention(d, heads, batch_first=True, dtype=DT)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([w[p + f"self_attn.{n}_proj.weight"] for n in "qkv"], 0))
            mha.in_proj_bias.copy_(torch.cat([w[p + f"self_attn.{n}_proj.bias"] for n in "qkv"], 0))
            mha.out_proj.weight.copy_(w[p + "self_attn.out_proj.weight"])
            mha.out_proj.bias.copy_(w[p + "self_attn.out_proj.bias"])
        h = nn.functional.layer_norm(x, (d,), w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], eps)
        x = x + mha(h, h, h, need_weights=False)[0]
        h = nn.functional.layer_norm(x, (d,), w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], eps)
        h = nn.functional.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
        x = x + nn.functional.linear(act(h), w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    return x


def vision_proj(w, hidden):
    inp = w["vision_proj.0.weight"].shape[1]
    seq = nn.Sequential(nn.Linear(inp, hidden, dtype=DT), nn.GELU(), nn.Linear(hidden, hidden, dtype=DT))
    with torch.no_grad():
        for i in (0, 2):
            seq[i].weight.copy_(w[f"vision_proj.{i}.weight"])
            seq[i].bias.copy_(w[f"vision_proj.{i}.bias"])
    return seq


def embed(w, cfg, pixels, shapes):
    """Rows of every image in the batch [sum of lengths, H], the lengths, and the projected separators [2, H]."""
    vc = cfg["vision_config"]
    d = 4 * vc["hidden_size"]
    features = clip_last_hidden(w, vc, pixels)[:, 1:]
    tokens, lengths = layout(features, shapes, w["plora_glb_GN"].reshape(1, 1, d), w["plora_sub_GN"].reshape(1, 1, 1, d))
    proj = vision_proj(w, cfg["hidden_size"])
    seps = proj(torch.cat([w["plora_glb_GN"].reshape(1, d), w["plora_sub_GN"].reshape(1, d)], 0))
    return proj(tokens), lengths, seps


def bench(out, w, cfg, batch, shapes, opts):
    global DT
    DT = torch.float32
    torch.set_num_threads(opts.get("threads", 1))
    w = {k: v.float() for k, v in w.items()}
    seconds = []
    with torch.no_grad():
        for px, shape in zip(batch, shapes):
            px = px.float()
            times = []
            for r in range(opts.get("repeat", 1) + 1):
                t = time.perf_counter()
                embed(w, cfg, px, [shape])
                if r > 0:
                    times.append(time.perf_counter() - t)
            seconds.append(statistics.median(times))
    json.dump({"config": {"seconds": seconds}, "tensors": {}}, open(os.path.join(out, "manifest.json"), "w"))


def main():
    out, model_dir, job_path = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    w, cfg = load(model_dir)
    vc = cfg["vision_config"]
    s = vc["image_size"]
    job = json.load(open(job_path))
    batch, shapes = [], []
    for im in job["images"]:
        n = 1 + im["rows"] * im["cols"]
        raw = np.fromfile(im["pixels"], dtype="<f4").reshape(n, 3, s, s)
        batch.append(torch.from_numpy(raw.copy()).to(DT))
        shapes.append((im["rows"], im["cols"]))
    if "bench" in job:
        return bench(out, w, cfg, batch, shapes, job["bench"])
    pixels = torch.cat(batch, 0)  # every image's global view and crops in one ViT batch, as vit(img_list) runs them
    with torch.no_grad():
        embeds, lengths, seps = embed(w, cfg, pixels, shapes)
    dims = {}

    def write(name, t):
        a = t.detach().to(torch.float32).contiguous().numpy()
        a.astype("<f4").tofile(os.path.join(out, name + ".f32"))
        dims[name] = list(a.shape)

    at = 0
    for i, n in enumerate(lengths):
        write(f"image{i}", embeds[at : at + n])
        at += n
    write("separators", seps)
    json.dump({"config": {"lengths": lengths}, "tensors": dims}, open(os.path.join(out, "manifest.json"), "w"))


if __name__ == "__main__":
    main()
