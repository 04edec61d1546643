// The one place a model folder becomes a session: config.json's family
// (models/arch.ts familyOf) picks LlavaSession (llava-hf) or IxcAppSession
// (InternLM-XComposer-2.5). `generate`, `score` and the respond job call this
// factory and the ModelSession face, never a family's class by name.
import { AppError } from '../../../shared/errors';
import { familyOf } from '../models/arch';
import { readConfigJson } from '../models/config';
import { IxcAppSession } from './ixc-app-session';
import { LlavaSession, type LlavaSessionOptions } from './session';

/** What every family's session offers (LlavaSession and IxcAppSession both are one). */
export type ModelSession = LlavaSession | IxcAppSession;

/** Opens `o.modelDir` with its family's session; a config.json naming another architecture is refused by the llava path's message. */
export async function openModelSession(o: LlavaSessionOptions): Promise<ModelSession> {
  let family;
  try {
    family = familyOf((await readConfigJson(o.modelDir)).json);
  } catch {
    // No readable config.json: LlavaSession.open names the folder and the problem.
    family = 'llava' as const;
  }
  if (family === 'ixc') {
    if (o.template === 'llava_v0')
      throw new AppError(
        'bad-input',
        `${o.modelDir} is an InternLM-XComposer-2.5 folder: it takes its own chat format, not the llava_v0 template`,
        { subject: 'template' },
      );
    return IxcAppSession.open(o);
  }
  return LlavaSession.open(o);
}
