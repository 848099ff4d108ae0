// Every limit of the MCP endpoint, with its default and its bounds (docs/mcp.md).
import { resolveBounded, type Bounds } from '../../common/bounds';

export interface McpOptions {
  /** Largest JSON-RPC request body to `/mcp`; a bigger one gets 413 and a JSON-RPC error, unread. */
  maxRequestBytes: number;
  /**
   * Text a tool result shows per stream of a job, per file read, per screen or listing: what is cut is
   * marked in the text, with how to read on.
   */
  maxTextBytes: number;
  /** Entries a listing or search shows at most. */
  maxEntries: number;
  /** How long `run_command` and `run_agent` wait for the job to end when the call names no `wait_seconds`. */
  defaultWaitSeconds: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;

export const MCP_LIMITS: Bounds<keyof McpOptions> = {
  maxRequestBytes: { default: 4 * MIB, min: KIB, max: 64 * MIB },
  maxTextBytes: { default: 32 * KIB, min: KIB, max: 4 * MIB },
  maxEntries: { default: 500, min: 1, max: 100_000 },
  defaultWaitSeconds: { default: 20, min: 0, max: 600 },
};

/** Fills in defaults and checks every given value; throws a RangeError naming the option. */
export function resolveMcpOptions(given: Partial<McpOptions> = {}): McpOptions {
  return resolveBounded(MCP_LIMITS, given, 'mcp option');
}
