// Ready training configs written next to a TRL or LLaMA-Factory export, with
// the reference MIA-DPO run's hyperparameters (MIA-DPO.md, step 6): LoRA
// r=128, alpha=256, dropout 0.05 on q/k/v/o/gate/up/down; sigmoid DPO with
// beta 0.1; lr 5e-5, linear decay, 10% warm-up, no weight decay; bf16; max
// length 4096; gradient checkpointing; 1 epoch; vision tower and projector frozen.

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

/** LLaMA-Factory YAML for `llamafactory-cli train`, reading the dataset_info.json entry beside it. */
export function llamaFactoryConfig(dataset: string, model = 'llava-hf/llava-1.5-7b-hf'): string {
  const r = REFERENCE_RUN;
  return `# MIA-DPO reference run (effective batch 64 = 1 per GPU x 8 GPUs x ${r.gradientAccumulation} accumulation).
# Set model_name_or_path to your model, then: llamafactory-cli train train_mia_dpo.yaml
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

/** Keyword arguments for TRL's DPOConfig and PEFT's LoraConfig. */
export function trlConfig(dataFile: string): Record<string, unknown> {
  const r = REFERENCE_RUN;
  return {
    note: 'MIA-DPO reference run; effective batch 64 = 1 per GPU x 8 GPUs x 8 accumulation',
    data_files: dataFile,
    dpo_config: {
      beta: r.beta,
      loss_type: r.lossType,
      learning_rate: r.learningRate,
      lr_scheduler_type: 'linear',
      warmup_ratio: r.warmupRatio,
      weight_decay: r.weightDecay,
      per_device_train_batch_size: r.perDeviceBatch,
      gradient_accumulation_steps: r.gradientAccumulation,
      max_length: r.maxLength,
      num_train_epochs: r.epochs,
      bf16: true,
      gradient_checkpointing: true,
      output_dir: 'mia-dpo-lora',
    },
    lora_config: { r: r.loraRank, lora_alpha: r.loraAlpha, lora_dropout: r.loraDropout, target_modules: [...r.loraTargets], task_type: 'CAUSAL_LM' },
  };
}
