// The third-party side of `/mcp` (the MCP SDK and zod), as one module that route.ts loads at the first
// request: nothing of it is evaluated while nobody asks for MCP (see route.ts).
export { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
export * as zod from 'zod/v4';
