// The Electron security checklist as plain data and predicates, kept out of
// the electron-importing modules so they are unit-tested without the binary.
// See docs/decisions/0100-electron-security.md for why each choice was made.
import { APP_HOST, APP_SCHEME, IMAGES_HOST } from '../common/app-channels';

export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Content-Security-Policy of the UI. Packaged: strict, no inline code. Under
 * `electron-forge start` (`devServerOrigin` set) the Vite dev server needs its
 * HMR websocket and the inline React Refresh preamble that @vitejs/plugin-react
 * injects, so development alone allows those two.
 */
export function contentSecurityPolicy(devServerOrigin?: string): string {
  const self = "'self'";
  const dev = devServerOrigin !== undefined;
  const directives: [string, string[]][] = [
    ['default-src', ["'none'"]],
    ['script-src', dev ? [self, "'unsafe-inline'"] : [self]],
    ['style-src', dev ? [self, "'unsafe-inline'"] : [self]],
    ['img-src', [self, `${APP_SCHEME}://${IMAGES_HOST}`, 'data:']],
    ['font-src', [self]],
    ['connect-src', dev ? [self, devServerOrigin.replace(/^http/, 'ws')] : [self]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
    ['object-src', ["'none'"]],
  ];
  return directives.map(([name, values]) => `${name} ${values.join(' ')}`).join('; ');
}

/** Origin of a URL string, or undefined for opaque/invalid URLs. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    // Custom schemes give the opaque origin 'null' in WHATWG URL; rebuild it.
    return u.origin !== 'null' ? u.origin : `${u.protocol}//${u.host}`;
  } catch {
    return undefined;
  }
}

/** True when `url` belongs to one of the trusted UI origins. */
export function isTrustedOrigin(url: string | undefined, trusted: readonly string[]): boolean {
  if (url === undefined || url === '') return false;
  const origin = originOf(url);
  return origin !== undefined && trusted.includes(origin);
}

/**
 * In-app navigation is allowed only within the trusted origins (a reload of
 * the UI); everything else, including new windows, is denied.
 */
export function mayNavigate(url: string, trusted: readonly string[]): boolean {
  return isTrustedOrigin(url, trusted);
}

/** Every permission (camera, notifications, geolocation, ...) is refused. */
export function mayGrantPermission(_permission: string): boolean {
  return false;
}
