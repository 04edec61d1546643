// The calls of the RPC tests' worker (echo.worker.ts).
export type EchoCalls = {
  echo: { args: { text: string }; result: string };
  fail: { args: { subject: string }; result: never };
  slow: { args: { ms: number; tag: string }; result: string };
  log: { args: { lines: string[] }; result: number };
  sum: { args: { data: Float32Array }; result: number };
};

export interface EchoEvent {
  line: string;
}
