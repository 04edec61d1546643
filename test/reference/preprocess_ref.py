"""Independent oracle for image preprocessing: the steps of transformers'
CLIPImageProcessor (and LLaVA-1.5's expand2square) written with PIL + numpy.

Usage: preprocess_ref.py JOB.json
JOB = {"items": [{"image": path, "out": path, "aspect": "crop"|"pad", "config": {...}}]}
with config fields as in preprocessor_config.json (complete: no defaults are
applied here). Each item's float32 [3, H, W] tensor is written little-endian
to "out"; stdout is a JSON list of the dims. With "repeat": N in JOB, stdout is
{"dims": [...], "seconds": [...]}: each item's median time over N runs (file
read and decode included, interpreter start excluded), for benchmarks.
"""
import json
import statistics
import sys
import time

import numpy as np
from PIL import Image, ImageOps


def load_rgb(path):
    # transformers.image_utils.load_image: exif_transpose, then convert("RGB").
    image = ImageOps.exif_transpose(Image.open(path))
    return image.convert("RGB")


def expand2square(image, background):
    # LLaVA's llava/mm_utils.py expand2square.
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    result = Image.new(image.mode, (side, side), background)
    result.paste(image, ((side - width) // 2, (side - height) // 2))
    return result


def output_size(width, height, size):
    # get_resize_output_image_size(default_to_square=False).
    if "shortest_edge" not in size:
        return size["width"], size["height"]
    short, long = min(width, height), max(width, height)
    new_short, new_long = size["shortest_edge"], int(size["shortest_edge"] * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop(arr, crop_h, crop_w):
    # transformers.image_transforms.center_crop on a channels-last array.
    h, w = arr.shape[:2]
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    if top >= 0 and left >= 0 and top + crop_h <= h and left + crop_w <= w:
        return arr[top : top + crop_h, left : left + crop_w]
    new_h, new_w = max(crop_h, h), max(crop_w, w)
    padded = np.zeros((new_h, new_w) + arr.shape[2:], dtype=arr.dtype)
    top_pad, left_pad = -(-(new_h - h) // 2), -(-(new_w - w) // 2)
    padded[top_pad : top_pad + h, left_pad : left_pad + w] = arr
    top, left = top + top_pad, left + left_pad
    return padded[max(0, top) : min(new_h, top + crop_h), max(0, left) : min(new_w, left + crop_w)]


def preprocess(path, config, aspect):
    image = load_rgb(path)
    if aspect == "pad":
        image = expand2square(image, tuple(int(x * 255) for x in config["image_mean"]))
    if config["do_resize"]:
        width, height = output_size(image.width, image.height, config["size"])
        if (width, height) != image.size:
            image = image.resize((width, height), resample=config["resample"])
    arr = np.array(image)
    if config["do_center_crop"]:
        arr = center_crop(arr, config["crop_size"]["height"], config["crop_size"]["width"])
    if config["do_rescale"]:
        arr = (arr.astype(np.float64) * config["rescale_factor"]).astype(np.float32)
    else:
        arr = arr.astype(np.float32)
    if config["do_normalize"]:
        mean = np.array(config["image_mean"], dtype=np.float32)
        std = np.array(config["image_std"], dtype=np.float32)
        arr = (arr - mean) / std
    return np.ascontiguousarray(arr.transpose(2, 0, 1).astype("<f4"))


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    dims, seconds = [], []
    for item in job["items"]:
        times = []
        for _ in range(job.get("repeat", 1)):
            start = time.perf_counter()
            out = preprocess(item["image"], item["config"], item.get("aspect", "crop"))
            times.append(time.perf_counter() - start)
        out.tofile(item["out"])
        dims.append(list(out.shape))
        seconds.append(statistics.median(times))
    print(json.dumps({"dims": dims, "seconds": seconds} if "repeat" in job else dims))


if __name__ == "__main__":
    main()
