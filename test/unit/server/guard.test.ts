import { describe, expect, it } from 'vitest';
import { isAllowedOrigin, isLoopbackHost, newToken, tokensEqual } from '../../../electron/server/guard';

describe('loopback Host check', () => {
  it('accepts loopback names on this port', () => {
    for (const h of ['127.0.0.1:4000', 'localhost:4000', 'LOCALHOST:4000', '[::1]:4000'])
      expect(isLoopbackHost(h, 4000)).toBe(true);
  });
  it('refuses other names, other ports, missing ports and rebinding names', () => {
    for (const h of [
      'evil.com:4000',
      '127.0.0.1:4001',
      '127.0.0.1',
      'localhost.evil.com:4000',
      '127.0.0.2:4000',
      '0.0.0.0:4000',
      '',
    ]) {
      expect(isLoopbackHost(h, 4000), h).toBe(false);
    }
    expect(isLoopbackHost(undefined, 4000)).toBe(false);
  });
});

describe('Origin check', () => {
  it('accepts a missing Origin and this server on loopback', () => {
    expect(isAllowedOrigin(undefined, 4000)).toBe(true);
    expect(isAllowedOrigin('http://127.0.0.1:4000', 4000)).toBe(true);
    expect(isAllowedOrigin('http://localhost:4000', 4000)).toBe(true);
  });
  it('refuses foreign, opaque and other-port origins', () => {
    for (const o of [
      'http://evil.com',
      'http://127.0.0.1:4001',
      'null',
      'file://',
      'https://127.0.0.1:4000',
      'http://localhost.evil.com:4000',
    ]) {
      expect(isAllowedOrigin(o, 4000), o).toBe(false);
    }
  });
});

describe('tokens', () => {
  it('are long, random and compared exactly', () => {
    const a = newToken();
    const b = newToken();
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(43);
    expect(tokensEqual(a, a)).toBe(true);
    expect(tokensEqual(a, b)).toBe(false);
    expect(tokensEqual(a, a.slice(0, -1))).toBe(false);
    expect(tokensEqual('', a)).toBe(false);
  });
});
