"""The state_dict names and shapes of an InternLM-XComposer-2.5 module tree.

A torch module tree with the attribute names and layer sizes of the official HF
remote code (modeling_internlm_xcomposer2 / modeling_internlm2 / build_mlp, read
for their structure only; this is our own code, and no forward pass), built on
the meta device so a 7B-sized tree costs nothing. torch forms the names
(`vision_proj.0.weight`, parameters, persistent buffers), which makes it an
independent oracle for the engine's shape table.

Usage: ixc_modules_ref.py '<config json>'   (prints {"name": [shape], ...})
Config: hidden, heads, kv_heads, inter, layers, vocab, bias, rank, v_hidden,
v_heads, v_inter, v_layers, image, patch.
"""
import json
import sys

import torch
from torch import nn

META = "meta"


def linear(i, o, bias):
    return nn.Linear(i, o, bias=bias, device=META)


class PartialLoRA(nn.Linear):
    """A linear with the image-token adapter and the 2.5 mode adapters as attributes."""

    def __init__(self, i, o, bias, rank):
        super().__init__(i, o, bias=bias, device=META)
        self.Plora_A = linear(i, rank, False)
        self.Plora_B = linear(rank, o, False)
        for mode, r in (("sft", 256), ("dpo", 256), ("web", 512)):
            setattr(self, f"lora_{mode}_A", linear(i, r, False))
            setattr(self, f"lora_{mode}_B", linear(r, o, False))


class RMSNorm(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(h, device=META))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        hd = c["hidden"] // c["heads"]
        self.wqkv = PartialLoRA(c["hidden"], (c["heads"] + 2 * c["kv_heads"]) * hd, c["bias"], c["rank"])
        self.wo = PartialLoRA(c["heads"] * hd, c["hidden"], c["bias"], c["rank"])


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = PartialLoRA(c["hidden"], c["inter"], False, c["rank"])
        self.w3 = PartialLoRA(c["hidden"], c["inter"], False, c["rank"])
        self.w2 = PartialLoRA(c["inter"], c["hidden"], False, c["rank"])


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.feed_forward = FeedForward(c)
        self.attention_norm = RMSNorm(c["hidden"])
        self.ffn_norm = RMSNorm(c["hidden"])


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_embeddings = nn.Embedding(c["vocab"], c["hidden"], device=META)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["hidden"])


class ClipEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = c["v_hidden"]
        positions = (c["image"] // c["patch"]) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.empty(w, device=META))
        self.patch_embedding = nn.Conv2d(3, w, c["patch"], c["patch"], bias=False, device=META)
        self.position_embedding = nn.Embedding(positions, w, device=META)
        # Older transformers saved this buffer with the weights.
        self.register_buffer("position_ids", torch.empty(1, positions, dtype=torch.int64, device=META))


class ClipAttention(nn.Module):
    def __init__(self, w):
        super().__init__()
        for n in ("k_proj", "v_proj", "q_proj", "out_proj"):
            setattr(self, n, linear(w, w, True))


class ClipMlp(nn.Module):
    def __init__(self, w, inter):
        super().__init__()
        self.fc1 = linear(w, inter, True)
        self.fc2 = linear(inter, w, True)


class ClipLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = c["v_hidden"]
        self.self_attn = ClipAttention(w)
        self.layer_norm1 = nn.LayerNorm(w, device=META)
        self.mlp = ClipMlp(w, c["v_inter"])
        self.layer_norm2 = nn.LayerNorm(w, device=META)


class ClipEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([ClipLayer(c) for _ in range(c["v_layers"])])


class ClipTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = ClipEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c["v_hidden"], device=META)
        self.encoder = ClipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c["v_hidden"], device=META)


class ClipVisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vision_model = ClipTransformer(c)


class VisionTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vision_tower = ClipVisionModel(c)


class XComposer(nn.Module):
    def __init__(self, c):
        super().__init__()
        merged = 4 * c["v_hidden"]
        self.model = Decoder(c)
        self.output = linear(c["hidden"], c["vocab"], False)
        self.plora_glb_GN = nn.Parameter(torch.empty(1, 1, merged, device=META))
        self.plora_sub_GN = nn.Parameter(torch.empty(1, 1, 1, merged, device=META))
        self.vit = VisionTower(c)
        self.vision_proj = nn.Sequential(linear(merged, c["hidden"], True), nn.GELU(), linear(c["hidden"], c["hidden"], True))


def main():
    c = json.loads(sys.argv[1])
    sd = XComposer(c).state_dict()
    json.dump({k: list(v.shape) for k, v in sd.items()}, sys.stdout)


if __name__ == "__main__":
    main()
