"""Pillow reference for MIA-DPO grid collages and pic-in-pic composites.

An independent implementation of the geometry in shared/MIA-DPO.md, used as
the oracle in test/unit/pipeline/composite-oracle.test.ts and as the baseline
in bench/composites.bench.ts. Reads one JSON job list on stdin:
  {"tile": 448, "margin": 40, "label_offset": 20, "font": PATH, "font_px": 36,
   "pip_scale": 0.7, "repeat": 1,
   "jobs": [{"kind": "grid", "images": [PATH, ...], "out": PATH},
            {"kind": "pip", "images": [HOST, INSET], "out": PATH}]}
and prints {"seconds": wall time of all repeats, "composites": count}.
"""
import json
import sys
import time

from PIL import Image, ImageDraw, ImageFont

LAYOUTS = {2: (1, 2), 3: (1, 3), 4: (2, 2), 6: (2, 3), 9: (3, 3)}


def fit(w, h, bw, bh):
    s = min(bw / w, bh / h)
    return max(1, min(bw, round(w * s))), max(1, min(bh, round(h * s)))


def grid(spec, paths, out, font):
    tile, margin = spec["tile"], spec["margin"]
    rows, cols = LAYOUTS[len(paths)]
    canvas = Image.new("RGB", (cols * tile + (cols - 1) * margin, rows * (tile + margin)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, p in enumerate(paths):
        r, c = divmod(i, cols)
        x, y = c * (tile + margin), r * (tile + margin) + margin
        img = Image.open(p).convert("RGB")
        img = img.resize(fit(img.width, img.height, tile, tile), Image.LANCZOS)
        canvas.paste(img, (x, y))
        draw.text((x + spec["label_offset"], y - margin), f"Image{i + 1}", fill="black", font=font)
    canvas.save(out, format="PNG", compress_level=6)


def pip(spec, paths, out):
    host = Image.open(paths[0]).convert("RGB")
    inset = Image.open(paths[1]).convert("RGB")
    bw, bh = round(host.width * spec["pip_scale"]), round(host.height * spec["pip_scale"])
    inset = inset.resize(fit(inset.width, inset.height, bw, bh), Image.LANCZOS)
    host.paste(inset, ((host.width - inset.width) // 2, (host.height - inset.height) // 2))
    host.save(out, format="PNG", compress_level=6)


def main():
    spec = json.load(sys.stdin)
    font = ImageFont.truetype(spec["font"], spec["font_px"])
    start = time.perf_counter()
    n = 0
    for _ in range(spec.get("repeat", 1)):
        for job in spec["jobs"]:
            if job["kind"] == "grid":
                grid(spec, job["images"], job["out"], font)
            else:
                pip(spec, job["images"], job["out"])
            n += 1
    print(json.dumps({"seconds": time.perf_counter() - start, "composites": n}))


if __name__ == "__main__":
    main()
