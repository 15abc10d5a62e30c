/**
 * One browser on the live stream (server-sent events). A browser that reads too slowly is cut
 * off once MAX_BUFFERED_BYTES wait in its socket, instead of the server holding an unbounded
 * backlog for it; its EventSource reconnects and starts again from a snapshot.
 */
import type { ServerResponse } from 'node:http';
import type { LiveMessage } from './protocol';

export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long a browser waits before reconnecting after a drop. */
const RETRY_MS = 2000;

export class SseClient {
  private ended = false;

  /** Writes the stream's headers; `deviceId` is the device whose data this browser watches. */
  constructor(private readonly res: ServerResponse, readonly deviceId: string | undefined) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write('retry: ' + RETRY_MS + '\n\n');
  }

  get closed(): boolean {
    return this.ended || this.res.destroyed;
  }

  /** One event (JSON has no raw newline, so one `data:` line); false when the client is gone. */
  send(msg: LiveMessage): boolean {
    return this.write('data: ' + JSON.stringify(msg) + '\n\n');
  }

  /** A comment line: keeps proxies from timing the stream out and finds dead sockets. */
  ping(): boolean {
    return this.write(': ping\n\n');
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.end();
  }

  private write(text: string): boolean {
    if (this.closed) return false;
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.end();
      return false;
    }
    this.res.write(text);
    return true;
  }
}
