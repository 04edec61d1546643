#!/usr/bin/python3
"""Oracle of `mia-dpo merge`: a base llava-hf folder plus a PEFT adapter read
by its PEFT key names (llava_ref.py's numpy safetensors reader and name
mapping, no transformers / peft / safetensors packages), merged as PEFT's
merge_and_unload defines it, W + scale * B @ A, in float64, then rounded once
to the base tensor's dtype by numpy (float32 and float16: nearest, ties to even).

Usage: merge_ref.py OUT_DIR MODEL_DIR ADAPTER_DIR
Writes OUT_DIR/manifest.json ({"config": {"scale", "dtype"}, "tensors": {name: dims}})
and OUT_DIR/<canonical weight name>.f32 (the rounded merged values, as float32)
for every adapted module.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llava_ref import load_weights, read_adapter  # noqa: E402

ROUND = {"float32": np.float32, "float16": np.float16}


def main(out_dir, model_dir, adapter_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    dtype = cfg.get("torch_dtype", "float32")
    if dtype not in ROUND:
        raise SystemExit(f"merge_ref.py: {dtype} has no exact numpy rounding")
    w = load_weights(model_dir)
    scale, mods = read_adapter(adapter_dir)
    manifest = {"config": {"scale": scale, "dtype": dtype}, "tensors": {}}
    for module, (a, b) in sorted(mods.items()):
        name = module + ".weight"
        merged = w[name].numpy() + scale * (b.numpy() @ a.numpy())
        rounded = merged.astype(ROUND[dtype]).astype("<f4")
        rounded.tofile(os.path.join(out_dir, name + ".f32"))
        manifest["tensors"][name] = list(rounded.shape)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
