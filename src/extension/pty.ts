// node-pty inside the extension host: VS Code ships its own build, made for its own runtime, so that copy
// comes first. If it does not load, the core falls back to the bundled @lydell/node-pty, and if that fails
// too the terminal reports itself unsupported while everything else keeps working.
import { join } from 'node:path';
import type { PtyModuleSource } from '../server/terminal/pty';

export function vscodePtyLoader(appRoot: string, log: (m: string) => void): PtyModuleSource {
  return () => {
    const failures: string[] = [];
    for (const path of [join(appRoot, 'node_modules', 'node-pty'), join(appRoot, 'node_modules.asar', 'node-pty')]) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- VS Code's own copy, found at run time
        const mod = require(path);
        log(`terminal: using VS Code's node-pty from ${path}`);
        return mod;
      } catch (err) {
        failures.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    log(`terminal: VS Code's node-pty did not load (${failures.join('; ')}); trying the bundled one`);
    throw new Error(failures.join('; '));
  };
}
