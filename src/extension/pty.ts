// node-pty inside the extension host: VS Code ships its own build for its own Electron/Node, which is the
// one that loads there; the bundled prebuilt copy is the fallback. If neither loads, the terminal reports
// itself unsupported and everything else keeps working.
import { join } from 'node:path';
import type { PtyModuleSource } from '../server/terminal/pty';

export function vscodePtyLoader(appRoot: string, log: (m: string) => void): PtyModuleSource {
  return () => {
    const candidates = [join(appRoot, 'node_modules', 'node-pty'), join(appRoot, 'node_modules.asar', 'node-pty'), '@lydell/node-pty'];
    const failures: string[] = [];
    for (const path of candidates) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(path);
        log(`terminal: node-pty loaded from ${path}`);
        return mod;
      } catch (err) {
        failures.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(`no node-pty could be loaded (${failures.join('; ')})`);
  };
}
