// Running the `devtunnel` CLI: its one-shot commands, and the long-running `devtunnel host`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { ownGroup } from '../../common/platform';

/** What the user must do, said once: the caller logs it and goes on serving locally. */
export class TunnelError extends Error {}

export const INSTALL_HINT = 'install the devtunnel CLI (https://aka.ms/devtunnels/install), run `devtunnel user login`, then start again with --tunnel';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class DevtunnelCli {
  constructor(
    /** The program: `devtunnel`, found on PATH, unless a path is given. */
    readonly program: string,
    private readonly timeoutMs: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs `devtunnel ARGS`; a missing program becomes a TunnelError saying how to install it. */
  run(args: string[]): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      execFile(this.program, args, { timeout: this.timeoutMs, env: this.env, windowsHide: true, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
        if (e?.code === 'ENOENT') return reject(new TunnelError(`the devtunnel CLI was not found on PATH (${this.program}): ${INSTALL_HINT}`));
        if (e?.killed) {
          return reject(new TunnelError(`\`devtunnel ${args.join(' ')}\` did not finish within ${this.timeoutMs / 1000} s`));
        }
        if (e && typeof e.code !== 'number') return reject(new TunnelError(`could not run \`devtunnel ${args.join(' ')}\`: ${e.message}`));
        resolve({ code: e ? (e.code as unknown as number) : 0, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }

  /** Starts `devtunnel host ID` in its own process group (so stopping it reaches anything it starts). */
  host(tunnelId: string): ChildProcess {
    return spawn(this.program, ['host', tunnelId], { ...ownGroup, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** The last lines of some output, for an error message. */
export function tail(text: string, lines = 5): string {
  return text.trim().split(/\r?\n/).slice(-lines).join(' | ');
}
