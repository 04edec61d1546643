// Electron fuses of the packaged app (docs/decisions/0100, issue 13): flipped
// in the binary by Forge's postPackage hook (forge.config.ts) before
// electron-builder signs it. Every fuse of the wire is set explicitly
// (`strictlyRequireAllFuses`), so an Electron upgrade that adds one fails the
// package step until it is decided here.
import { FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses';

/** Each fuse, with why. */
export const SECURITY_FUSES = {
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  // ELECTRON_RUN_AS_NODE would turn the signed app into a plain Node interpreter.
  [FuseV1Options.RunAsNode]: false,
  // Cookies (the app keeps none, but Chromium's stores) encrypted with the OS key store.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS could preload any script into the main process.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  // --inspect / --inspect-brk would open a debugger port on the main process.
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // app.asar is checked against the hash embedded at package time (macOS and Windows).
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  // Only app.asar is loaded, never a loose app/ folder dropped beside it.
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  // One V8 snapshot for every process: no separate browser-process snapshot is shipped.
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  // file:// gets no extra privileges: the UI comes from app:// (decision 0100, item 17).
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
} as const satisfies FuseV1Config;

/** The fuse config for one packaged platform: an arm64 macOS binary needs its ad-hoc signature redone after the flip. */
export function securityFuses(platform: string, arch: string): FuseV1Config {
  return { ...SECURITY_FUSES, resetAdHocDarwinSignature: platform === 'darwin' && arch === 'arm64' };
}
