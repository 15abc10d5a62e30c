/**
 * An in-process Aedes broker on 127.0.0.1 for integration tests, recording every PUBLISH that
 * clients send it.
 */
import { createServer, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { freePort } from './ports';

const HOST = '127.0.0.1';

export interface AedesPublished {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** As aedes reports it (aedes builds its own packet, so usually false). */
  dup?: boolean;
  /** Id of the publishing client. */
  clientId: string;
}

export interface AedesStartOptions {
  /** Port to listen on; default a free one. */
  port?: number;
  /** Passed to Aedes.createBroker (authenticate, authorizePublish, ...). */
  aedes?: AedesOptions;
}

export interface AedesHandle {
  readonly host: string;
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  readonly aedes: Aedes;
  /** Every PUBLISH received from a client ($SYS and will messages excluded), in order. */
  readonly published: AedesPublished[];
  /** Open client sockets right now. */
  connections(): number;
  /** Resolves once `count` client PUBLISHes matched (default: all); rejects after timeoutMs (5000). */
  waitForPublished(
    count: number,
    filter?: (p: AedesPublished) => boolean,
    timeoutMs?: number,
  ): Promise<AedesPublished[]>;
  /** Destroys every client socket, closes the server and the broker. Idempotent. */
  close(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startAedes(opts: AedesStartOptions = {}): Promise<AedesHandle> {
  const aedes = await Aedes.createBroker(opts.aedes);
  const published: AedesPublished[] = [];
  aedes.on('publish', (packet, client) => {
    if (!client) return; // heartbeat, $SYS, wills
    published.push({
      topic: packet.topic,
      payload: Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      clientId: client.id,
    });
  });
  // A client that breaks the protocol (corrupted bytes in fault tests) must not crash the run.
  aedes.on('clientError', () => undefined);
  aedes.on('connectionError', () => undefined);

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    aedes.handle(socket);
  });
  const port = opts.port ?? (await freePort());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    host: HOST,
    port,
    url: `mqtt://${HOST}:${port}`,
    aedes,
    published,
    connections: () => sockets.size,
    async waitForPublished(count, filter = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matched = published.filter(filter);
        if (matched.length >= count) return matched;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms: ${matched.length} of ${count} publishes`);
        }
        await sleep(10);
      }
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}
