// The packaged app's Electron fuses (issue 13): the config sets each fuse as
// decided, Forge's postPackage hook flips them with it, and flipping a fuse
// wire laid out like Electron's (sentinel, version, length, one byte per fuse)
// leaves exactly those states.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flipFuses, FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { afterAll, describe, expect, it } from 'vitest';
import { SECURITY_FUSES, securityFuses } from '../../../build/fuses';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fuses-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ON = 0x31;
const OFF = 0x30;
const WANTED: Record<keyof typeof FuseV1Options, boolean> = {
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  LoadBrowserProcessSpecificV8Snapshot: false,
  GrantFileProtocolExtraPrivileges: false,
};
const names = Object.keys(WANTED) as (keyof typeof FuseV1Options)[];

describe('Electron fuses', () => {
  it('the packaging config sets every fuse as decided, strictly', () => {
    expect(SECURITY_FUSES.strictlyRequireAllFuses).toBe(true);
    for (const name of names) expect(SECURITY_FUSES[FuseV1Options[name]], name).toBe(WANTED[name]);
    expect(securityFuses('darwin', 'arm64').resetAdHocDarwinSignature).toBe(true);
    expect(securityFuses('linux', 'x64').resetAdHocDarwinSignature).toBe(false);
  });

  it("Forge's postPackage hook flips them on the packaged binary", () => {
    const forge = readFileSync(path.join(root, 'forge.config.ts'), 'utf8');
    expect(forge).toMatch(
      /postPackage:[\s\S]*flipFuses\(electronBinary\(packaged, result\.platform\), securityFuses\(/,
    );
  });

  it('flipping an Electron-like fuse wire (defaults as shipped) leaves exactly the decided states', async () => {
    // Version 1, 8 fuses. Electron's shipped defaults: RunAsNode, NODE_OPTIONS, --inspect and file:// privileges on; the rest off.
    const shipped = [ON, OFF, ON, ON, OFF, OFF, OFF, ON];
    const binary = path.join(tmp, 'electron');
    writeFileSync(
      binary,
      Buffer.concat([Buffer.alloc(64, 7), Buffer.from(SENTINEL), Buffer.from([1, 8, ...shipped]), Buffer.alloc(64, 7)]),
    );
    copyFileSync(binary, `${binary}.orig`);
    expect(await flipFuses(binary, securityFuses('linux', 'x64'))).toBe(1);
    const wire = await getCurrentFuseWire(binary);
    for (const name of names) expect(wire[FuseV1Options[name]], name).toBe(WANTED[name] ? ON : OFF);
    // Nothing but the fuse bytes changed.
    const before = readFileSync(`${binary}.orig`);
    const after = readFileSync(binary);
    const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
    const wireStart = 64 + SENTINEL.length + 2;
    expect(changed.every((i) => i >= wireStart && i < wireStart + 8)).toBe(true);
  });
});
