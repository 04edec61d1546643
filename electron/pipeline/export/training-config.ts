// Ready training configs written next to a TRL or LLaMA-Factory export, with
// the reference MIA-DPO run's hyperparameters (MIA-DPO.md, step 6): LoRA
// r=128, alpha=256, dropout 0.05 on q/k/v/o/gate/up/down; sigmoid DPO with
// beta 0.1; lr 5e-5, linear decay, 10% warm-up, no weight decay; bf16; max
// length 4096; gradient checkpointing; 1 epoch; vision tower and projector frozen;
// images padded to a square with the CLIP mean colour (`image_aspect_ratio pad`).

export const REFERENCE_RUN = {
  loraRank: 128,
  loraAlpha: 256,
  loraDropout: 0.05,
  loraTargets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  beta: 0.1,
  lossType: 'sigmoid',
  learningRate: 5e-5,
  warmupRatio: 0.1,
  weightDecay: 0,
  perDeviceBatch: 1,
  /** x 8 GPUs = the reference's effective batch of 64. */
  gradientAccumulation: 8,
  maxLength: 4096,
  epochs: 1,
} as const;

/**
 * The reference's image preprocessing (`--image_aspect_ratio pad` in its
 * train_dpo_multi.sh): each image centred on a square of the CLIP mean colour
 * (122, 116, 104) before the processor's 336 px resize, so a wide collage is
 * never cropped to its middle.
 */
export const PAD_PREPROCESSING =
  'pad: each image centred on a square of the CLIP mean colour (122, 116, 104) before the 336 px resize (LLaVA image_aspect_ratio pad), as the reference trained';

/** LLaMA-Factory YAML for `llamafactory-cli train`, reading the dataset_info.json entry beside it. */
export function llamaFactoryConfig(dataset: string, model = 'llava-hf/llava-1.5-7b-hf'): string {
  const r = REFERENCE_RUN;
  return `# MIA-DPO reference run (effective batch 64 = 1 per GPU x 8 GPUs x ${r.gradientAccumulation} accumulation).
# Set model_name_or_path to your model, then: llamafactory-cli train train_mia_dpo.yaml
# Image preprocessing of the reference: ${PAD_PREPROCESSING}.
# LLaMA-Factory's llava template uses the model's processor (resize, then centre crop), which cuts a wide grid
# collage to its middle: pad the images in images/ to squares first to train as the reference did.
model_name_or_path: ${model}
stage: dpo
do_train: true
finetuning_type: lora
lora_rank: ${r.loraRank}
lora_alpha: ${r.loraAlpha}
lora_dropout: ${r.loraDropout}
lora_target: ${r.loraTargets.join(',')}
freeze_vision_tower: true
freeze_multi_modal_projector: true
pref_beta: ${r.beta}
pref_loss: ${r.lossType}
dataset: ${dataset}
dataset_dir: .
template: llava
cutoff_len: ${r.maxLength}
per_device_train_batch_size: ${r.perDeviceBatch}
gradient_accumulation_steps: ${r.gradientAccumulation}
learning_rate: ${r.learningRate}
lr_scheduler_type: linear
warmup_ratio: ${r.warmupRatio}
weight_decay: ${r.weightDecay}
num_train_epochs: ${r.epochs}
bf16: true
gradient_checkpointing: true
output_dir: saves/mia-dpo-lora
logging_steps: 10
save_steps: 500
`;
}

/**
 * Keyword arguments of TRL's DPOConfig, nothing else (`DPOConfig(**json)`).
 * `max_prompt_length` is null: TRL's default (512) would cut the 576 tokens
 * each `<image>` expands to; `max_length` bounds prompt and answer together.
 */
export function trlDpoConfig(): Record<string, unknown> {
  const r = REFERENCE_RUN;
  return {
    output_dir: 'mia-dpo-lora',
    beta: r.beta,
    loss_type: r.lossType,
    learning_rate: r.learningRate,
    lr_scheduler_type: 'linear',
    warmup_ratio: r.warmupRatio,
    weight_decay: r.weightDecay,
    per_device_train_batch_size: r.perDeviceBatch,
    gradient_accumulation_steps: r.gradientAccumulation,
    num_train_epochs: r.epochs,
    max_length: r.maxLength,
    max_prompt_length: null,
    bf16: true,
    gradient_checkpointing: true,
    logging_steps: 10,
    save_steps: 500,
  };
}

/**
 * Keyword arguments of PEFT's LoraConfig. The targets are a regular expression
 * (PEFT full-matches module names): the CLIP vision tower has q/k/v_proj too,
 * and the reference adapts only the language model's linear layers.
 */
export function trlLoraConfig(): Record<string, unknown> {
  const r = REFERENCE_RUN;
  return {
    r: r.loraRank,
    lora_alpha: r.loraAlpha,
    lora_dropout: r.loraDropout,
    target_modules: `.*language_model.*\\.(${r.loraTargets.join('|')})`,
    task_type: 'CAUSAL_LM',
  };
}

/**
 * The reference trainer's arguments (LLaVA-Hound-DPO dpo_scripts/run_dpo.py, as
 * its train_dpo_multi.sh calls it) for the reference JSON export: the data and
 * image folder are this export's.
 */
export function referenceTrainArgs(): Record<string, unknown> {
  const r = REFERENCE_RUN;
  return {
    preprocessing: PAD_PREPROCESSING,
    data_path: 'mia_dpo.json',
    image_folder: '.',
    image_aspect_ratio: 'pad',
    version: 'v1',
    lora_enable: true,
    lora_r: r.loraRank,
    lora_alpha: r.loraAlpha,
    mm_projector_lr: 2e-5,
    freeze_mm_mlp_adapter: true,
    dpo_alpha: 1.0,
    beta: r.beta,
    gamma: 0,
    mm_projector_type: 'mlp2x_gelu',
    mm_vision_select_layer: -2,
    bf16: true,
    num_train_epochs: r.epochs,
    per_device_train_batch_size: r.perDeviceBatch,
    gradient_accumulation_steps: r.gradientAccumulation,
    learning_rate: r.learningRate,
    weight_decay: r.weightDecay,
    warmup_ratio: r.warmupRatio,
    lr_scheduler_type: 'linear',
    model_max_length: r.maxLength,
    gradient_checkpointing: true,
  };
}

/** The runnable script written beside a TRL export (train_dpo.py). */
export const TRL_SCRIPT = `"""DPO with LoRA on this MIA-DPO export, with TRL (written by MIA-DPO Studio).

    pip install "trl>=0.12" peft datasets pillow torch transformers
    python train_dpo.py [MODEL]        # default: llava-hf/llava-1.5-7b-hf

Reads train.jsonl, dpo_config.json (DPOConfig keyword arguments) and
lora_config.json (LoraConfig keyword arguments) from this folder. The reference
run's effective batch is 64: 1 per GPU x 8 GPUs (torchrun --nproc_per_node 8)
x 8 accumulation steps; on fewer GPUs raise gradient_accumulation_steps.
"""
import json
import sys
from pathlib import Path

import torch
from datasets import Image, Sequence, load_dataset
from peft import LoraConfig
from PIL import Image as PILImage
from transformers import AutoModelForImageTextToText, AutoProcessor
from trl import DPOConfig, DPOTrainer

HERE = Path(__file__).resolve().parent


def read_json(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def pad_to_square(image, colour):
    """The reference's preprocessing (image_aspect_ratio pad): the image centred on a square of the mean colour."""
    image = image.convert("RGB")
    if image.width == image.height:
        return image
    side = max(image.size)
    square = PILImage.new("RGB", (side, side), colour)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def main():
    model_id = sys.argv[1] if len(sys.argv) > 1 else "llava-hf/llava-1.5-7b-hf"
    processor = AutoProcessor.from_pretrained(model_id)
    colour = tuple(int(m * 255) for m in processor.image_processor.image_mean)
    dataset = load_dataset("json", data_files=str(HERE / "train.jsonl"), split="train")
    dataset = dataset.select_columns(["prompt", "chosen", "rejected", "images"])
    dataset = dataset.map(lambda row: {"images": [str(HERE / p) for p in row["images"]]})
    dataset = dataset.cast_column("images", Sequence(Image()))
    dataset = dataset.map(lambda row: {"images": [pad_to_square(im, colour) for im in row["images"]]})
    model = AutoModelForImageTextToText.from_pretrained(model_id, torch_dtype=torch.bfloat16)
    trainer = DPOTrainer(
        model=model,
        args=DPOConfig(**read_json("dpo_config.json")),
        train_dataset=dataset,
        processing_class=processor,
        peft_config=LoraConfig(**read_json("lora_config.json")),
    )
    trainer.train()
    trainer.save_model()


if __name__ == "__main__":
    main()
`;
