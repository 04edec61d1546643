// Run as a child process by ep-detection.test.ts, with an environment of the
// test's choosing: creates an 'auto' session and prints what the runtime chose.
import { EngineRuntime } from '../../../../electron/engine/runtime/runtime';
import { addMulModel } from './graphs';

const logs: string[] = [];
const rt = EngineRuntime.start({ log: (level, message) => logs.push(`${level}: ${message}`) });
const info = await rt.createSession(addMulModel(2), { ep: 'auto' });
const report = await rt.detect();
await rt.dispose();
process.stdout.write(JSON.stringify({ ep: info.ep, fallbackReason: info.fallbackReason ?? null, report, logs }) + '\n');
