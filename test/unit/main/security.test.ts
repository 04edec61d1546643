import { describe, expect, it } from 'vitest';
import {
  APP_ORIGIN,
  contentSecurityPolicy,
  isTrustedOrigin,
  mayGrantPermission,
  mayNavigate,
  originOf,
} from '../../../electron/main/security';

describe('Electron security settings', () => {
  it('has a CSP without inline or eval scripts and with no foreign sources', () => {
    const csp = contentSecurityPolicy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    const dev = contentSecurityPolicy('http://localhost:5173');
    expect(dev).toContain("connect-src 'self' ws://localhost:5173");
    expect(dev).toContain("script-src 'self' 'unsafe-inline'");
  });

  it('derives origins of custom-scheme URLs', () => {
    expect(originOf('app://app/index.html?x=1')).toBe(APP_ORIGIN);
    expect(originOf('http://localhost:5173/src/main.tsx')).toBe('http://localhost:5173');
    expect(originOf('not a url')).toBeUndefined();
  });

  it('trusts only the listed origins for IPC and navigation', () => {
    const trusted = [APP_ORIGIN];
    expect(isTrustedOrigin('app://app/index.html', trusted)).toBe(true);
    for (const url of [
      'app://images/1',
      'file:///etc/passwd',
      'https://example.com',
      'app://app.evil/x',
      '',
      undefined,
    ]) {
      expect(isTrustedOrigin(url, trusted), String(url)).toBe(false);
    }
    expect(mayNavigate('app://app/index.html', trusted)).toBe(true);
    expect(mayNavigate('https://example.com/', trusted)).toBe(false);
  });

  it('grants no permission', () => {
    for (const p of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal'])
      expect(mayGrantPermission(p)).toBe(false);
  });
});
