#!/usr/bin/python3
"""Independent PyTorch oracle for the DPO train step (issue 9).

LoRA-DPO on a llava-hf folder in float64 with torch autograd and
torch.optim.AdamW, written from TRL's DPOTrainer.dpo_loss: the model
(llava_ref.py's lm_forward with unmerged LoRA, each sequence run alone, no
padding), summed response log-probs, the loss variants, the SFT term,
clip_grad_norm_ and AdamW (lr set per step, as a scheduler does).

Usage: dpo_ref.py MODEL_DIR REQUEST.json OUTPUT.json
       dpo_ref.py --bench MODEL_DIR REQUEST.json  (fp32 step timings and peak RSS, JSON on stdout)

Request:
  pixel_values_raw, pixel_shape   images (llava_ref.py's fields); pair "images" index them
  reference  [{"prompt_ids", "chosen_ids", "rejected_ids", "images"}]: base-model
             summed log-probs of chosen and rejected (no adapter) -> "reference"
  runs       [{"adapter": PEFT DIR (initial A, B), "beta", "loss", "label_smoothing",
               "sft_weight", "betas": [b1, b2], "eps", "weight_decay", "clip_norm" (or null),
               "steps": [{"lr", "micro": [[pair, ...], ...]}]}]
             pair = {"prompt_ids", "chosen_ids", "rejected_ids", "images", "ref_chosen", "ref_rejected"};
             each step's micro-batches are accumulated (loss / number of micro-batches) before
             one optimizer step -> per run: "steps" (loss and metrics of each micro-batch,
             grad_norm before clipping) and "final" ({module: {"A": [...], "B": [...]}})
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llava_ref as R  # noqa: E402

DT = R.DT


def seq_logp(w, cfg, feats, prompt_ids, images, resp, lora):
    """Summed log-prob of `resp` after the prompt, and its length."""
    e, pids = R.merge(w, cfg, prompt_ids, feats[images] if images else None)
    table = w["language_model.model.embed_tokens.weight"]
    e = torch.cat([e, table[torch.tensor(resp)]], dim=0)
    lg, _ = R.lm_forward(w, cfg, e, [], lora=lora)
    lp = torch.log_softmax(lg[len(pids) - 1:-1], dim=-1)[torch.arange(len(resp)), torch.tensor(resp)]
    return lp.sum(), float(len(resp))


def dpo_loss(run, pc, pr, rc, rr):
    """TRL DPOTrainer.dpo_loss (per pair)."""
    beta, ls = run["beta"], run.get("label_smoothing", 0.0)
    logits = (pc - pr) - (rc - rr)
    kind = run["loss"]
    if kind == "sigmoid":
        return -F.logsigmoid(beta * logits) * (1 - ls) - F.logsigmoid(-beta * logits) * ls
    if kind == "robust":
        return (-F.logsigmoid(beta * logits) * (1 - ls) + F.logsigmoid(-beta * logits) * ls) / (1 - 2 * ls)
    if kind == "hinge":
        return torch.relu(1 - beta * logits)
    if kind == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    raise ValueError(kind)


def micro_batch(w, cfg, feats, run, pairs, lora):
    beta = run["beta"]
    losses, rc_, rr_, pcs, prs = [], [], [], [], []
    for p in pairs:
        pc, lc = seq_logp(w, cfg, feats, p["prompt_ids"], p.get("images", []), p["chosen_ids"], lora)
        pr, lr = seq_logp(w, cfg, feats, p["prompt_ids"], p.get("images", []), p["rejected_ids"], lora)
        rc = torch.tensor(p["ref_chosen"], dtype=DT)
        rr = torch.tensor(p["ref_rejected"], dtype=DT)
        sft = -pc / lc
        if run["loss"] == "ipo":  # TRL averages log-probs over the completion for IPO (policy and reference)
            pc, pr, rc, rr = pc / lc, pr / lr, rc / lc, rr / lr
        loss = dpo_loss(run, pc, pr, rc, rr)
        if run.get("sft_weight", 0):
            loss = loss + run["sft_weight"] * sft
        losses.append(loss)
        pcs.append(pc.detach())
        prs.append(pr.detach())
        rc_.append(beta * (pc - rc).detach())
        rr_.append(beta * (pr - rr).detach())
    loss = torch.stack(losses).mean()
    rc_t, rr_t = torch.stack(rc_), torch.stack(rr_)
    metrics = {
        "loss": float(loss),
        "rewards_chosen": float(rc_t.mean()),
        "rewards_rejected": float(rr_t.mean()),
        "margin": float((rc_t - rr_t).mean()),
        "accuracy": float((rc_t > rr_t).to(DT).mean()),
        "logp_chosen": float(torch.stack(pcs).mean()),
        "logp_rejected": float(torch.stack(prs).mean()),
    }
    return loss, metrics


def train(w, cfg, feats, run):
    scale, mods = R.read_adapter(run["adapter"])
    params = []
    for a, b in mods.values():
        a.requires_grad_(True)
        b.requires_grad_(True)
        params += [a, b]
    opt = torch.optim.AdamW(params, lr=1.0, betas=tuple(run.get("betas", [0.9, 0.999])),
                            eps=run.get("eps", 1e-8), weight_decay=run.get("weight_decay", 0.0))
    steps = []
    for st in run["steps"]:
        opt.zero_grad()
        n = len(st["micro"])
        for pairs in st["micro"]:
            loss, metrics = micro_batch(w, cfg, feats, run, pairs, (scale, mods))
            (loss / n).backward()
            steps.append(metrics)
        clip = run.get("clip_norm")
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip is not None else float("inf"))
        steps[-1]["grad_norm"] = float(norm)
        for g in opt.param_groups:
            g["lr"] = st["lr"]
        opt.step()
    final = {m: {"A": a.detach().flatten().tolist(), "B": b.detach().flatten().tolist()} for m, (a, b) in mods.items()}
    return {"steps": steps, "final": final}


def main(model_dir, req_path, out_path):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    req = json.load(open(req_path))
    w = R.load_weights(model_dir)
    pixels = R.load_pixels(req)
    feats = R.image_features(w, cfg, pixels) if pixels is not None else None
    out = {}
    with torch.no_grad():
        out["reference"] = [
            [float(seq_logp(w, cfg, feats, p["prompt_ids"], p.get("images", []), p[k], None)[0])
             for k in ("chosen_ids", "rejected_ids")]
            for p in req.get("reference", [])
        ]
    out["runs"] = [train(w, cfg, feats, run) for run in req.get("runs", [])]
    with open(out_path, "w") as f:
        json.dump(out, f)


def bench(model_dir, req_path):
    """fp32 LoRA-DPO steps as a PyTorch user would run them: dropout on the LoRA input, autograd, clip, AdamW.

    request: {"threads", "steps", "rank", "alpha", "dropout", "pairs": [{"prompt_ids", "chosen_ids",
    "rejected_ids", "images": [0]}], "beta"}; image features are random (the tower is frozen and cached).
    """
    import time
    global DT
    DT = torch.float32
    R.DT = torch.float32
    req = json.load(open(req_path))
    torch.set_num_threads(req["threads"])
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = {k: v.to(torch.float32) for k, v in R.load_weights(model_dir).items()}
    tc = cfg["text_config"]
    d = tc["hidden_size"]
    heads = tc["num_attention_heads"]
    kv = tc.get("num_key_value_heads") or heads
    hd = tc.get("head_dim") or d // heads
    inter = tc["intermediate_size"]
    vc = cfg["vision_config"]
    per = (vc["image_size"] // vc["patch_size"]) ** 2
    feats = torch.randn(1, per, d) * 0.1
    sizes = {"self_attn.q_proj": (heads * hd, d), "self_attn.k_proj": (kv * hd, d), "self_attn.v_proj": (kv * hd, d),
             "self_attn.o_proj": (d, heads * hd), "mlp.gate_proj": (inter, d), "mlp.up_proj": (inter, d),
             "mlp.down_proj": (d, inter)}
    r = req["rank"]
    mods, params = {}, []
    for i in range(tc["num_hidden_layers"]):
        for name, (o, n) in sizes.items():
            a = ((torch.rand(r, n) * 2 - 1) / math.sqrt(n)).requires_grad_(True)
            b = torch.zeros(o, r).requires_grad_(True)
            mods[f"language_model.model.layers.{i}.{name}"] = (a, b)
            params += [a, b]
    scale = req["alpha"] / r
    p_drop = req["dropout"]

    def lora_forward(e):  # PEFT: y += s * lora_B(lora_A(dropout(x)))
        return R.lm_forward(w, cfg, e, [], lora=(scale, mods), dropout=p_drop)

    opt = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.0)
    table = w["language_model.model.embed_tokens.weight"]
    ref = [(-50.0, -60.0) for _ in req["pairs"]]
    times = []
    for step in range(req["steps"] + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        losses = []
        for (rc, rr), p in zip(ref, req["pairs"]):
            lps = []
            for key in ("chosen_ids", "rejected_ids"):
                e, pids = R.merge(w, cfg, p["prompt_ids"], feats)
                resp = p[key]
                e = torch.cat([e, table[torch.tensor(resp)]], dim=0)
                lg, _ = lora_forward(e)
                lp = torch.log_softmax(lg[len(pids) - 1:-1], dim=-1)[torch.arange(len(resp)), torch.tensor(resp)]
                lps.append(lp.sum())
            logits = (lps[0] - lps[1]) - (rc - rr)
            losses.append(-F.logsigmoid(req["beta"] * logits))
        torch.stack(losses).mean().backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step > 0:  # the first step warms up, as on our side
            times.append(time.perf_counter() - t0)
    rss = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    print(json.dumps({"seconds_per_step": sum(times) / len(times), "peak_rss_mib": rss,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    if sys.argv[1] == "--bench":
        bench(*sys.argv[2:4])
    else:
        main(*sys.argv[1:4])
