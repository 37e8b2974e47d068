import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The longest message (one line, in bytes) read from stdin: what the SDK's own stdio transport allows. */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;
const NEWLINE = 0x0a;

/**
 * MCP over stdin/stdout, one JSON-RPC message a line. The SDK's StdioServerTransport drops a line
 * that is not a JSON-RPC message without a reply, so a client waiting on its id waits for ever, and
 * takes a line over its buffer for the end of the session. Here each is answered (-32700 or -32600,
 * as JSON-RPC 2.0 says) and skipped, and only stdin's end or failure ends the session.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Why stdin stopped, when it failed rather than ended: the caller's exit status. */
  failure: Error | undefined;

  private parts: Buffer[] = [];
  private bytes = 0;
  private oversized = false;
  private closed = false;

  async start(): Promise<void> {
    process.stdin.on('data', this.onData);
    process.stdin.on('end', this.onEnd);
    process.stdin.on('error', this.onFailure);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.write(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.stdin.off('data', this.onData);
    process.stdin.off('end', this.onEnd);
    process.stdin.off('error', this.onFailure);
    // A stream still flowing would keep the process alive after the session.
    process.stdin.pause();
    this.onclose?.();
  }

  private readonly onData = (chunk: Buffer) => {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.append(chunk.subarray(start, end));
      this.endLine();
      start = end + 1;
    }
    this.append(chunk.subarray(start));
  };

  private readonly onEnd = () => void this.close();

  private readonly onFailure = (error: Error) => {
    this.failure = error;
    this.onerror?.(error);
    void this.close();
  };

  private append(part: Buffer) {
    if (this.oversized) return;
    this.bytes += part.length;
    if (this.bytes <= MAX_LINE_BYTES) {
      this.parts.push(part);
      return;
    }
    // Answered at once, not at its newline: a client may wait for the reply before sending more.
    this.oversized = true;
    this.parts = [];
    this.refuse(null, INVALID_REQUEST, `Invalid Request: a message is one line of at most ${MAX_LINE_BYTES} bytes`);
  }

  private endLine() {
    const line = this.oversized ? '' : Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
    this.parts = [];
    this.bytes = 0;
    this.oversized = false;
    // A blank line between messages is no message to answer.
    if (line.trim() !== '') this.receive(line);
  }

  private receive(line: string) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return this.refuse(null, PARSE_ERROR, 'Parse error: the line is not JSON');
    }
    const message = JSONRPCMessageSchema.safeParse(value);
    if (message.success) {
      // The SDK refuses these itself, with its schema's whole report as a multi-line message.
      if (isMalformedToolCall(message.data)) {
        return this.refuse(idOf(value), INVALID_PARAMS, 'Invalid params: tools/call takes "name", a string, and "arguments", an object');
      }
      return this.onmessage?.(message.data);
    }
    if (Array.isArray(value)) return this.refuse(null, INVALID_REQUEST, 'Invalid Request: batches are not supported; send one message a line');
    this.refuse(idOf(value), INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 request, notification or response (jsonrpc "2.0", params an object)');
  }

  private refuse(id: string | number | null, code: number, message: string) {
    this.onerror?.(new Error(`refused a message (${code}): ${message}`));
    this.write({ jsonrpc: '2.0', id, error: { code, message } }).catch((e: Error) => this.onerror?.(e));
  }

  private write(value: object): Promise<void> {
    return new Promise((resolve, reject) => {
      process.stdout.write(`${JSON.stringify(value)}\n`, (e) => (e ? reject(e) : resolve()));
    });
  }
}

/** A tools/call whose tool name is no string or whose arguments, given, are no object. */
function isMalformedToolCall(message: JSONRPCMessage): boolean {
  if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) return false;
  const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
  const args = params.arguments;
  return typeof params.name !== 'string' || (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)));
}

/** The id of a message refused as invalid, so that the client waiting on it hears back; JSON-RPC's null when it has none. */
function idOf(value: unknown): string | number | null {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
