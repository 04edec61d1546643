// Rotary-embedding tables computed on the host in float64 and fed to the
// graph: WebGPU's Sin/Cos lose about 2e-4 at the angles of long contexts
// (measured on SwiftShader at 50 rad), which alone broke logit parity.
// Angles follow HF: position / linear factor * theta^(-2i/d), cat(freqs, freqs).
import type { TextSpec } from './spec';

/** cos and sin [positions.length, headDim] for the given absolute positions. */
export function rotaryTables(s: TextSpec, positions: readonly number[]): { cos: Float32Array; sin: Float32Array } {
  const hd = s.headDim;
  const half = hd / 2;
  const cos = new Float32Array(positions.length * hd);
  const sin = new Float32Array(positions.length * hd);
  positions.forEach((pos, t) => {
    for (let i = 0; i < half; i++) {
      const a = (pos / s.ropePositionScale) * Math.pow(s.ropeTheta, (-2 * i) / hd);
      cos[t * hd + i] = cos[t * hd + half + i] = Math.cos(a);
      sin[t * hd + i] = sin[t * hd + half + i] = Math.sin(a);
    }
  });
  return { cos, sin };
}
