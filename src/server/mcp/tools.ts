// The MCP tools (CONTRACT §10), each a thin use of what the HTTP API runs: the job manager and the job
// actions, the files modules, the terminal service. Argument names are the contract's.
import { Readable } from 'node:stream';
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type * as z from 'zod/v4';
import { HttpError } from '../errors';
import type { Logger } from '../log';
import type { JobManager } from '../jobs/manager';
import { JOBS_LISTED } from '../http/routes/jobs';
import { cancelAndWait, findJob, waitForEnd, waitForNews, writeInput } from '../http/job-actions';
import { readText, writeContent } from '../files/content';
import { list } from '../files/listing';
import type { FileRoots } from '../files/roots';
import { searchUnder } from '../files/search-under';
import type { TerminalService } from '../terminal/service';
import type { McpOptions } from './options';
import { bounded, failure, jobResult, result } from './results';

/** What the tools use of the server. */
export interface McpHost {
  manager: JobManager;
  roots: FileRoots;
  terminal: TerminalService;
  logger: Logger;
  options: McpOptions;
  limits: {
    maxWaitSeconds: number;
    killGraceMs: number;
    filesMaxUploadBytes: number;
    filesSearchTimeoutSeconds: number;
    filesListMaxEntries: number;
    filesMaxResults: number;
  };
}

/** The tool names, in the order `tools/list` gives them. */
export const TOOL_NAMES = [
  'run_command',
  'read_job',
  'send_input',
  'cancel_job',
  'list_jobs',
  'read_file',
  'write_file',
  'list_directory',
  'search_files',
  'run_agent',
  'list_terminals',
  'read_terminal_screen',
  'write_to_terminal',
] as const;

/**
 * Registers every tool on `server`, their arguments described with `zod` (given by the caller, which
 * loads it with the SDK: route.ts). `signal` aborts when the caller's connection closes, so a tool that
 * waits stops waiting for nobody.
 */
export function registerTools(server: McpServer, zod: typeof z, host: McpHost, signal: AbortSignal): void {
  const { manager, roots, terminal, options, limits } = host;
  const jobId = zod.string().min(1).describe('the job id that run_command or run_agent answered');
  const waitSeconds = (what: string) => zod.number().min(0).optional().describe(`seconds to wait ${what} (capped by the server's maxWaitSeconds)`);
  const offset = (stream: string) =>
    zod.number().int().min(0).optional().describe(`read ${stream} from this byte offset (the ${stream}Next of the previous result)`);
  const store = manager.store;
  const waitS = (asked: number | undefined, fallback: number) => Math.min(asked ?? fallback, limits.maxWaitSeconds);
  const tool = <Shape extends z.ZodRawShape>(
    name: (typeof TOOL_NAMES)[number],
    description: string,
    inputSchema: Shape,
    annotations: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean },
    run: (args: z.infer<z.ZodObject<Shape>>) => Promise<CallToolResult>,
  ) => {
    // The SDK's callback type is a conditional one that TypeScript cannot resolve for a generic `Shape`;
    // for each concrete tool below it is exactly `run`'s.
    const callback = (async (args: z.infer<z.ZodObject<Shape>>) => {
      try {
        return await run(args);
      } catch (err) {
        return failure(explain(err, name, host.logger));
      }
    }) as unknown as ToolCallback<Shape>;
    server.registerTool(name, { description, inputSchema, annotations }, callback);
  };
  const pathArg = zod.string().min(1).describe('absolute, or relative to the server’s working directory');

  tool(
    'run_command',
    'Runs a shell command on this machine as a job. Answers the finished job (exit code, output) when it ends within wait_seconds; else its jobId and the output so far, for read_job.',
    {
      command: zod.string().min(1).describe('the command line, run by the platform shell (sh -c, or cmd on Windows)'),
      workdir: zod.string().optional().describe('working directory; default the server’s'),
      timeout: zod.number().positive().optional().describe('seconds before the job is killed (default 300)'),
      env: zod.record(zod.string(), zod.string()).optional().describe('environment variables laid over the server’s'),
      wait_seconds: waitSeconds(`for the job to end (default ${options.defaultWaitSeconds})`),
    },
    { destructiveHint: true },
    async (a) => {
      const { job } = manager.submit({ mode: 'shell', command: a.command, workdir: a.workdir, timeout: a.timeout, env: a.env });
      await waitForEnd(job, waitS(a.wait_seconds, options.defaultWaitSeconds), signal);
      return jobResult(job, {}, options.maxTextBytes);
    },
  );

  tool(
    'read_job',
    "A job's state and output: from byte offsets when given (to read on where the last result stopped), else each stream's tail. With wait_seconds, first waits for new output or the end.",
    {
      jobId,
      stdoutFrom: offset('stdout'),
      stderrFrom: offset('stderr'),
      wait_seconds: waitSeconds('for new output or a change of state (default 0)'),
    },
    { readOnlyHint: true },
    async (a) => {
      const job = findJob(store, a.jobId);
      const query = { stdoutFrom: a.stdoutFrom, stderrFrom: a.stderrFrom };
      await waitForNews(job, query, waitS(a.wait_seconds, 0), signal);
      return jobResult(job, query, options.maxTextBytes);
    },
  );

  tool(
    'send_input',
    "Writes to a running job's stdin; eof: true closes it afterwards.",
    { jobId, data: zod.string().describe('text to write (add "\\n" to end a line)'), eof: zod.boolean().optional().describe('close stdin after writing') },
    {},
    async (a) => {
      const written = writeInput(findJob(store, a.jobId), a.data, a.eof ?? false);
      return result(`wrote ${written.written} bytes to job ${a.jobId}${written.eof ? ' and closed its stdin' : ''}`, { jobId: a.jobId, ...written });
    },
  );

  tool(
    'cancel_job',
    'Cancels a job: kills its whole process tree (or cancels the agent’s turn), then answers the job.',
    { jobId },
    { destructiveHint: true },
    async (a) => {
      const job = findJob(store, a.jobId);
      await cancelAndWait(manager, job, limits.killGraceMs, signal);
      return jobResult(job, {}, options.maxTextBytes, job.isFinal() ? undefined : 'The job is still ending.');
    },
  );

  tool('list_jobs', `The ${JOBS_LISTED} most recent jobs, newest first.`, {}, { readOnlyHint: true }, async () => {
    const jobs = store.recent(JOBS_LISTED).map((j) => {
      const r = j.record;
      return {
        jobId: r.jobId,
        status: r.status,
        mode: r.mode,
        command: r.command,
        workdir: r.workdir,
        exitCode: r.exitCode ?? null,
        submittedAt: r.submittedAt,
      };
    });
    const lines = jobs.map((j) => `${j.jobId}  ${j.status}${j.exitCode !== null ? ` (exit ${j.exitCode})` : ''}  ${j.mode}  ${oneLine(j.command, 120)}`);
    return result(jobs.length ? lines.join('\n') : 'no jobs yet', { jobs });
  });

  tool(
    'read_file',
    `A text file's content, ${options.maxTextBytes} bytes at most per call; offset and length read a part (bytes).`,
    {
      path: pathArg,
      offset: zod.number().int().min(0).optional().describe('first byte to read (default 0)'),
      length: zod.number().int().min(1).optional().describe(`bytes to read (default and at most ${options.maxTextBytes})`),
    },
    { readOnlyHint: true },
    async (a) => {
      const path = roots.resolve(a.path);
      const r = await readText(roots, path, a.offset ?? 0, Math.min(a.length ?? options.maxTextBytes, options.maxTextBytes));
      const structured = {
        path: r.path,
        size: r.size,
        offset: r.offset,
        next: r.next,
        etag: r.etag,
        binary: r.binary,
        ...(r.binary ? {} : { content: r.text }),
      };
      if (r.binary) return result(`${a.path} is not a text file (${r.size} bytes); read_file shows text only`, structured);
      const rest = r.next < r.size ? `\n[… ${r.size - r.next} more bytes: read_file with offset=${r.next}]` : '';
      return result(r.text + rest, structured);
    },
  );

  tool(
    'write_file',
    'Creates or replaces a text file (atomically: readers see the old file or the new one, never half), making missing parent folders.',
    { path: pathArg, content: zod.string().describe('the whole new content') },
    { destructiveHint: true },
    async (a) => {
      const path = roots.resolve(a.path);
      const bytes = Buffer.from(a.content, 'utf8');
      const written = await writeContent(roots, path, Readable.from([bytes]), { mkdirs: true, maxUploadBytes: limits.filesMaxUploadBytes });
      return result(`${written.created ? 'created' : 'replaced'} ${a.path} (${written.size} bytes)`, { ...written });
    },
  );

  tool('list_directory', 'A folder’s entries, sorted by name; folders end with "/".', { path: pathArg }, { readOnlyHint: true }, async (a) => {
    const path = roots.resolve(a.path);
    const max = Math.min(options.maxEntries, limits.filesListMaxEntries);
    const page = await list(roots, path, undefined, undefined, { defaultLimit: max, maxLimit: max });
    const lines = page.entries.map((e) =>
      e.type === 'directory' ? `${e.name}/` : e.type === 'symlink' ? `${e.name} (symlink)` : `${e.name}  ${e.size} bytes`,
    );
    if (page.cursor) lines.push(`[… more entries not shown: only the first ${max}; search_files or a narrower path finds the rest]`);
    const text = bounded(lines.join('\n') || '(empty folder)', options.maxTextBytes, 'the structured content has every entry listed');
    return result(text.text, { path, entries: page.entries, truncated: page.cursor !== null });
  });

  tool(
    'search_files',
    'Searches file contents under a folder (or in one file) for a regular expression; skips .git and what .gitignore excludes.',
    {
      path: pathArg,
      pattern: zod.string().min(1).describe('a regular expression (ripgrep syntax)'),
      glob: zod.string().optional().describe('only files matching this glob, e.g. "*.ts"'),
    },
    { readOnlyHint: true },
    async (a) => {
      const path = roots.resolve(a.path);
      const found = await searchUnder(roots, path, {
        pattern: a.pattern,
        glob: a.glob || undefined,
        limit: Math.min(options.maxEntries, limits.filesMaxResults),
        ignore: true,
        timeoutMs: limits.filesSearchTimeoutSeconds * 1000,
        signal,
      });
      const lines = found.matches.map((m) => `${m.path}:${m.line}: ${oneLine(m.text, 300)}`);
      if (found.truncated) lines.push('[… more matches not shown; a narrower path, glob or pattern finds them]');
      const text = bounded(lines.join('\n') || 'no matches', options.maxTextBytes, 'the structured content has every match listed');
      return result(text.text, { matches: found.matches, truncated: found.truncated });
    },
  );

  tool(
    'run_agent',
    'Runs an ACP coding agent (copilot, claude, codex, gemini, or a command line) on a prompt in a folder, as a job. Answers its reply when it ends within wait_seconds; else its jobId, for read_job.',
    {
      prompt: zod.string().min(1).describe('what the agent is asked to do'),
      workdir: zod.string().min(1).describe('the folder the agent works in (its permissions are scoped to it)'),
      agent: zod.string().optional().describe('a preset name (copilot, claude, codex, gemini…) or a command line; default the server’s'),
      policy: zod.enum(['workdir', 'deny', 'ask']).optional().describe('permission policy: workdir (default) approves what stays in the workdir'),
      wait_seconds: waitSeconds(`for the agent to finish (default ${options.defaultWaitSeconds})`),
    },
    { destructiveHint: true },
    async (a) => {
      const { job } = manager.submit({ mode: 'acp', prompt: a.prompt, workdir: a.workdir, agent: a.agent, policy: a.policy });
      await waitForEnd(job, waitS(a.wait_seconds, options.defaultWaitSeconds), signal);
      return jobResult(job, {}, options.maxTextBytes);
    },
  );

  tool('list_terminals', 'Terminal sessions open on this machine (web terminal, editor), with their ids.', {}, { readOnlyHint: true }, async () => {
    const terminals = terminal.list();
    const lines = terminals.map((t) => `${t.id}  ${t.shell} in ${t.workdir}  ${t.cols}x${t.rows}  ${t.clients} client(s)`);
    return result(terminals.length ? lines.join('\n') : 'no terminal sessions', { terminals });
  });

  tool(
    'read_terminal_screen',
    'What a terminal session shows now, as plain text.',
    { id: zod.string().min(1).describe('a session id from list_terminals') },
    { readOnlyHint: true },
    async (a) => {
      const screen = await terminal.screenText(a.id);
      if (screen === undefined) return failure(noTerminal(a.id));
      const text = bounded(screen, options.maxTextBytes, 'the screen is larger than maxTextBytes');
      return result(text.text || '(blank screen)', { id: a.id, screen: text.text });
    },
  );

  tool(
    'write_to_terminal',
    'Types into a terminal session, as a person would ("\\r" is Enter).',
    { id: zod.string().min(1).describe('a session id from list_terminals'), data: zod.string().describe('the keys to send') },
    {},
    async (a) => {
      if (!terminal.input(a.id, a.data)) return failure(noTerminal(a.id));
      return result(`sent ${Buffer.byteLength(a.data)} bytes to terminal ${a.id}`, { id: a.id, written: Buffer.byteLength(a.data) });
    },
  );
}

function noTerminal(id: string): string {
  return `no terminal session ${id} (it ended, or never was); list_terminals lists the open ones`;
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** A tool's failure as the model reads it: the API's own message, named by the tool; our bugs are logged. */
function explain(err: unknown, tool: string, logger: Logger): string {
  if (err instanceof HttpError) {
    if (err.status === 404 && err.message === 'job not found') return `${tool}: no such job (list_jobs lists the recent ones)`;
    return `${tool}: ${err.message}`;
  }
  logger.error(`mcp ${tool}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return `${tool} failed: ${err instanceof Error ? err.message : String(err)}`;
}
