// DPO loss settings (TRL's DPOTrainer names), shared by the graph and the trainer.

/** TRL's DPOTrainer loss_type values implemented here. */
export type DpoLoss = 'sigmoid' | 'ipo' | 'hinge' | 'robust';

export const DPO_LOSSES: readonly DpoLoss[] = ['sigmoid', 'ipo', 'hinge', 'robust'];

export interface DpoConfig {
  /** beta: temperature of the implicit reward (TRL default 0.1). */
  beta: number;
  loss: DpoLoss;
  /** Label smoothing epsilon (sigmoid: conservative DPO; robust: rDPO); 0 for ipo and hinge. */
  labelSmoothing: number;
  /** gamma: weight of the SFT term (mean negative log-prob per chosen token, per pair); 0 = none. */
  sftWeight: number;
}

export const DPO_DEFAULTS: DpoConfig = { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 };
