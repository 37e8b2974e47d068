import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { toJsonSchemaCompat } from '@modelcontextprotocol/sdk/server/zod-json-schema-compat.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z, type ZodError, type ZodRawShape } from 'zod';
import { ChainproofError, isChainproofError } from '../errors.js';

interface About<S extends ZodRawShape> {
  title: string;
  description: string;
  inputSchema: S;
}

interface Registered {
  about: Omit<About<ZodRawShape>, 'inputSchema'>;
  input: z.AnyZodObject;
  run: (args: never) => unknown;
}

/**
 * An MCP server of tools whose every refusal is a coded error result, as the API's. The SDK's
 * McpServer answers arguments its schema refuses, and tools it does not know, with plain text
 * ("MCP error -32602: …"), and drops arguments the schema does not name: a typo'd optional one
 * would be ignored, not refused.
 */
export function toolServer(name: string, version: string) {
  const server = new Server({ name, version }, { capabilities: { tools: {} } });
  const tools = new Map<string, Registered>();

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...tools].map(([toolName, t]): Tool => ({
      name: toolName,
      ...t.about,
      inputSchema: toJsonSchemaCompat(t.input, { strictUnions: true, pipeStrategy: 'input' }) as Tool['inputSchema'],
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async ({ params }): Promise<CallToolResult> => {
    try {
      const tool = tools.get(params.name);
      if (!tool) throw new ChainproofError('BAD_USER_INPUT', `no tool ${JSON.stringify(params.name)}; tools/list names them`);
      const args = tool.input.safeParse(params.arguments ?? {});
      if (!args.success) throw new ChainproofError('BAD_USER_INPUT', argumentProblem(args.error));
      return { content: [{ type: 'text', text: JSON.stringify(await tool.run(args.data as never), null, 2) }] };
    } catch (e) {
      const code = isChainproofError(e) ? e.code : 'INTERNAL';
      const message = isChainproofError(e) ? e.message : 'internal error';
      return { isError: true, content: [{ type: 'text', text: JSON.stringify({ code, message }) }] };
    }
  });

  return {
    server,
    tool<S extends ZodRawShape>(toolName: string, { inputSchema, ...about }: About<S>, run: (args: z.output<z.ZodObject<S>>) => unknown) {
      tools.set(toolName, { about, input: z.object(inputSchema).strict(), run });
    },
  };
}

/** The first thing wrong with a tool's arguments, naming the argument. */
function argumentProblem(error: ZodError): string {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') return `unknown argument ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  const at = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1);
  return `argument ${at}: ${issue.message}`;
}
