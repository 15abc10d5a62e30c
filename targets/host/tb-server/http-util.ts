/** What every REST route of the local server uses: errors with an HTTP status, JSON bodies in and out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json } from './json';
import { isObject } from './values';

export const MAX_BODY_BYTES = 65_536;

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readJsonObject(req: IncomingMessage): Promise<Record<string, Json>> {
  return parseJsonObject(await readBody(req, MAX_BODY_BYTES));
}

/** A body that may be empty (ThingsBoard's `@RequestBody(required = false)`): undefined then. */
export async function readOptionalJsonObject(req: IncomingMessage, max: number): Promise<Record<string, Json> | undefined> {
  const bytes = await readBody(req, max);
  return bytes.length === 0 ? undefined : parseJsonObject(bytes);
}

function parseJsonObject(bytes: Buffer): Record<string, Json> {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new HttpError(400, 'Invalid request body: not JSON');
  }
  if (!isObject(body)) throw new HttpError(400, 'Invalid request body: expected a JSON object');
  return body;
}

/** The whole body, up to `max` bytes (413 past that). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) tooBig = true;
    else chunks.push(chunk);
  }
  if (tooBig) throw new HttpError(413, `Request body over ${max} bytes`);
  return Buffer.concat(chunks);
}
