"""Independent oracle for InternLM-XComposer-2.5's HD image side, written from
the official semantics (ixc_utils.Image_transform, the model's vis_processor,
CLIPVisionTower.forward) with PIL + numpy + torch. torchvision is not installed
here: its PIL paths are spelled out (F.resize on a PIL image is Image.resize with
BILINEAR; F.pad with a constant fill is ImageOps.expand; ToTensor divides the
uint8 values by 255 in float32; Normalize subtracts and divides by float32 tensors).

Usage: ixc_hd_ref.py OUT pixels JOB.json
  JOB = {"items": [{"name", "image", "hd_num", "variant": "chat"|"train"}]}
  writes NAME_global [3,560,560], NAME_crops [n,3,560,560]; config[NAME] = geometry.
  With "repeat": N in JOB, config.seconds = each item's median time over N runs
  (file read, decode and transform; interpreter start excluded), for benchmarks.
Usage: ixc_hd_ref.py OUT layout GRIDS WIDTH SEED   (GRIDS like "1x1,2x3")
  random ViT features for the images' global views and crops, one batch, and the
  separators; writes features, glb_GN, sub_GN and tokens (the merged layout);
  config.lengths = tokens per image.
Output: OUT/manifest.json + OUT/NAME.f32 (see test/helpers/reference.ts).
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

CROP = 560
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def hd_image(img, hd_num, variant):
    """The padded canvas (PIL) and its geometry, chat or finetune variant."""
    flipped = img.width < img.height
    if flipped:
        img = img.transpose(Image.TRANSPOSE)
    long_side, short_side = img.size
    ratio = long_side / short_side
    s = 1
    while s * np.ceil(s / ratio) <= hd_num:
        s += 1
    s -= 1
    factor = 1.5 if variant == "train" else 1.0
    s = min(np.ceil(long_side * factor / CROP), s)
    new_long = int(s * CROP)
    new_short = int(new_long / ratio)
    img = img.resize((new_long, new_short), Image.BILINEAR)
    target = int(np.ceil(new_short / CROP) * CROP)
    top = int((target - new_short) / 2) if variant == "train" else 0
    img = ImageOps.expand(img, border=(0, top, 0, target - new_short - top), fill=(255, 255, 255))
    if flipped:
        img = img.transpose(Image.TRANSPOSE)
    return img, {"transposed": flipped, "scale": int(s), "padded": list(img.size)}


def normalise(img):
    t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous().float().div(255)
    mean = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(STD, dtype=torch.float32)[:, None, None]
    return t.sub(mean).div(std)


def split(t):
    """[3, H, W] -> global view [3, 560, 560] and row-major crops [n, 3, 560, 560]."""
    _, h, w = t.shape
    rows, cols = h // CROP, w // CROP
    crops = t.reshape(3, rows, CROP, cols, CROP).permute(1, 3, 0, 2, 4).reshape(-1, 3, CROP, CROP)
    glb = F.interpolate(t[None], size=(CROP, CROP), mode="bicubic", align_corners=False)[0]
    return glb, crops, rows, cols


def run_pixels(job_path, write):
    with open(job_path) as f:
        job = json.load(f)
    config, seconds = {}, []
    for item in job["items"]:
        times = []
        for _ in range(job.get("repeat", 1)):
            start = time.perf_counter()
            img = Image.open(item["image"]).convert("RGB")
            canvas, geo = hd_image(img, item["hd_num"], item.get("variant", "chat"))
            glb, crops, rows, cols = split(normalise(canvas))
            times.append(time.perf_counter() - start)
        seconds.append(statistics.median(times))
        geo.update(rows=rows, cols=cols)
        config[item["name"]] = geo
        write(item["name"] + "_global", glb)
        write(item["name"] + "_crops", crops)
    if "repeat" in job:
        config["seconds"] = seconds
    return config


def merge2x2(x, side):
    """[B, (2*side)^2, C] -> [B, side, side, 4C], blocks (dy, dx) in order (0,0), (0,1), (1,0), (1,1)."""
    b, _, c = x.shape
    return x.reshape(b, side, 2, side, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, side, side, 4 * c)


def layout(features, shapes, glb_gn, sub_gn):
    """The official forward's walk over a batch: per image, global rows + sub_GN, glb_GN, crop-grid rows + sub_GN."""
    side = math.isqrt(features.shape[1]) // 2
    out, lengths, at = [], [], 0
    for rows, cols in shapes:
        n = rows * cols
        glb = merge2x2(features[at : at + 1], side)
        glb = torch.cat([glb, sub_gn.repeat(1, side, 1, 1)], dim=2).reshape(1, -1, glb.shape[-1])
        sub = merge2x2(features[at + 1 : at + 1 + n], side)
        sub = sub.reshape(1, rows, cols, side, side, -1).permute(0, 1, 3, 2, 4, 5)
        sub = sub.reshape(1, rows * side, cols * side, -1)
        sub = torch.cat([sub, sub_gn.repeat(1, rows * side, 1, 1)], dim=2).reshape(1, -1, sub.shape[-1])
        image = torch.cat([glb, glb_gn, sub], dim=1)
        out.append(image)
        lengths.append(image.shape[1])
        at += 1 + n
    assert at == features.shape[0]
    return torch.cat(out, dim=1)[0], lengths


def run_layout(grids, width, seed, write):
    shapes = [tuple(int(v) for v in g.split("x")) for g in grids.split(",")]
    gen = torch.Generator().manual_seed(seed)
    crops = sum(1 + r * c for r, c in shapes)
    features = torch.randn(crops, 1600, width, generator=gen)
    glb_gn = torch.randn(1, 1, 4 * width, generator=gen)
    sub_gn = torch.randn(1, 1, 1, 4 * width, generator=gen)
    tokens, lengths = layout(features, shapes, glb_gn, sub_gn)
    write("features", features)
    write("glb_GN", glb_gn.reshape(-1))
    write("sub_GN", sub_gn.reshape(-1))
    write("tokens", tokens)
    return {"lengths": lengths}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    dims = {}

    def write(name, t):
        arr = np.ascontiguousarray(t.detach().numpy().astype("<f4"))
        arr.tofile(os.path.join(out, name + ".f32"))
        dims[name] = list(arr.shape)

    if sys.argv[2] == "pixels":
        config = run_pixels(sys.argv[3], write)
    else:
        config = run_layout(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), write)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"config": config, "tensors": dims}, f)


if __name__ == "__main__":
    main()
