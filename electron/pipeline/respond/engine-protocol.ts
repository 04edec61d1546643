// Messages between WorkerEngine (the caller's thread) and the model-engine
// worker, in the session runtime's pattern (engine/runtime/protocol.ts): calls
// are a tagged union with a sequence number, each answered by one reply with
// the same number; errors cross as {kind, message, subject}.
import type { WireError } from '../../../shared/errors';
import type { ResponseRequest, ResponseResult } from './engine-interface';
import type { ModelEngineOptions } from './model-engine';

/** What the worker reports once its ModelEngine is open. */
export interface EngineInfo {
  modelId: string;
  layer: number;
  ep: { ep: string; fallback: string | undefined };
}

/** Sent once, first: the engine opened, or why it did not (the worker then exits). */
export type EngineReady = { type: 'ready'; info: EngineInfo } | { type: 'failed'; error: WireError };

/** A request without its signal: cancellation crosses as a 'cancel' message instead. */
export type WireRequest = Omit<ResponseRequest, 'signal'>;

export type EngineCall =
  | { seq: number; type: 'generate'; request: WireRequest }
  | { seq: number; type: 'tokenize'; text: string }
  /** Closes the engine; the worker exits after the reply. */
  | { seq: number; type: 'close' };

export type EngineCallType = EngineCall['type'];

/** Unanswered: stops the generate call `target` at its next decode step (it then fails with kind 'cancelled'). */
export interface EngineCancel {
  type: 'cancel';
  target: number;
}

export type EngineMessage = EngineCall | EngineCancel;

export interface EngineResults {
  generate: ResponseResult;
  tokenize: number[];
  close: null;
}

export type EngineReply = { seq: number; type: 'ok'; result: EngineResults[EngineCallType] } | { seq: number; type: 'error'; error: WireError };

export type EngineWorkerData = ModelEngineOptions;

/** The result's fresh arrays, to transfer instead of copying. */
export function resultTransferables(result: EngineResults[EngineCallType]): ArrayBuffer[] {
  if (result === null || Array.isArray(result)) return [];
  const arrays = [result.maxProbs, result.logProbs, ...result.attentionMaps];
  return [...new Set(arrays.flatMap((a) => (a.buffer instanceof ArrayBuffer ? [a.buffer] : [])))];
}
