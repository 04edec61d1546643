#!/usr/bin/python3
"""Independent PyTorch oracle for the full-parameter SFT step (issue 14 item 2).

Every weight of a llava-hf folder trainable, in float64 with torch autograd and
torch.optim.AdamW: llava_ref.py's vision tower + projector (image_features)
and language model (lm_forward), each example run alone without padding; the
loss is the mean NLL over all answer tokens of the batch; clip_grad_norm_;
AdamW with weight decay on every weight but norms, biases and embeddings
(token, position, class), lr set per step as a scheduler does.

Usage: sft_ref.py MODEL_DIR REQUEST.json OUTPUT.json

Request:
  pixel_values_raw, pixel_shape   images (llava_ref.py's fields); examples' "images" index them
  examples   [{"prompt_ids", "answer_ids", "images"}]   one batch, every step
  lrs        per step
  betas, eps, weight_decay, clip_norm (or null)
Output: {"steps": [{"loss", "grad_norm"}], "final": {name: [values...]} (trained weights only)}
"""
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llava_ref as R  # noqa: E402

DT = R.DT
NO_DECAY = re.compile(r"norm|bias|embed_tokens|position_embedding|class_embedding")


def batch_loss(w, cfg, pixels, examples):
    feats = R.image_features(w, cfg, pixels)  # [N, F, D]
    table = w["language_model.model.embed_tokens.weight"]
    total, tokens = 0, 0
    for e in examples:
        emb, pids = R.merge(w, cfg, e["prompt_ids"], feats[e["images"]])
        ans = torch.tensor(e["answer_ids"])
        x = torch.cat([emb, table[ans]], dim=0)
        logits, _ = R.lm_forward(w, cfg, x, [])
        lp = torch.log_softmax(logits[len(pids) - 1:-1], dim=-1)[torch.arange(len(ans)), ans]
        total = total - lp.sum()
        tokens += len(ans)
    return total / tokens


def main(model_dir, req_path, out_path):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    req = json.load(open(req_path))
    w = R.load_weights(model_dir)
    pixels = R.load_pixels(req)
    for t in w.values():
        t.requires_grad_(True)
    # The weights the forward reads: those that get a gradient from a first loss.
    batch_loss(w, cfg, pixels, req["examples"]).backward()
    used = {k: t for k, t in w.items() if t.grad is not None}
    for t in w.values():
        t.grad = None
    groups = [
        {"params": [t for k, t in used.items() if not NO_DECAY.search(k)], "weight_decay": req["weight_decay"]},
        {"params": [t for k, t in used.items() if NO_DECAY.search(k)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1.0, betas=tuple(req["betas"]), eps=req["eps"])
    steps = []
    for lr in req["lrs"]:
        opt.zero_grad()
        loss = batch_loss(w, cfg, pixels, req["examples"])
        loss.backward()
        clip = req.get("clip_norm")
        norm = torch.nn.utils.clip_grad_norm_(list(used.values()), clip if clip is not None else float("inf"))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        steps.append({"loss": float(loss), "grad_norm": float(norm)})
    final = {k: t.detach().flatten().tolist() for k, t in used.items()}
    with open(out_path, "w") as f:
        json.dump({"steps": steps, "final": final}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
