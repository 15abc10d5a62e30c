/**
 * A fault-injecting TCP proxy for MQTT tests: client -> proxy (127.0.0.1) -> broker.
 *
 * Faults are switched at run time and apply to every connection (existing and new):
 * - closeAll(): FIN on both sides of every connection; reset(): RST on both sides.
 * - blackhole(on): sockets stay open, nothing is forwarded, not even a FIN or RST; bytes received
 *   meanwhile are dropped
 *   (broker -> client in whole MQTT packets, so the stream stays framed when it is switched off).
 * - delay(ms): latency per direction; splitWrites(on, maxPiece): forwards in pieces of 1..maxPiece
 *   bytes with a setImmediate between them (order is always kept).
 * - duplicatePackets / reorderPackets: whole MQTT packets, broker -> client only.
 * - corrupt(p): flips each byte broker -> client with probability p.
 * - refuse(on): new connections are accepted and closed at once (the broker looks down).
 *
 * Random choices come from a seeded mulberry32, so a run is reproducible given `seed` and the same
 * event order.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { mulberry32 } from './random';
import { MqttFramer } from './mqtt-frames';

const HOST = '127.0.0.1';

export { mulberry32 } from './random';

export interface FaultProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** 0 (default) picks a free port. */
  listenPort?: number;
  /** Seed for every random choice; default random. */
  seed?: number;
}

export interface FaultCounters {
  /** Connections accepted, refused ones included. */
  accepted: number;
  /** Connections closed at once because refuse(true) was on. */
  refused: number;
  /** Proxied connections currently open. */
  active: number;
  /** Bytes written to the broker. */
  bytesToBroker: number;
  /** Bytes written to clients. */
  bytesToClient: number;
  /** MQTT packets queued towards clients (duplicates included). */
  packetsToClient: number;
  duplicated: number;
  /** Pairs of packets swapped. */
  reordered: number;
  corruptedBytes: number;
  /** Bytes dropped by the blackhole, both directions. */
  droppedBytes: number;
}

export interface ReorderOptions {
  /** How long a held packet waits for a successor before it is sent alone. Default 50 ms. */
  holdMs?: number;
  /** Packet types (1..14) that may be held; default all. */
  types?: readonly number[];
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  /** Live counters (read them, do not write). */
  readonly counters: Readonly<FaultCounters>;
  /** Closes both sides of every connection with a FIN; queued data is dropped. */
  closeAll(): void;
  /** Closes both sides of every connection with an RST. */
  reset(): void;
  /** While on, nothing is forwarded either way and received bytes are dropped. */
  blackhole(on: boolean): void;
  /** Latency added to every chunk, same for both directions or per direction. */
  delay(ms: number | { toBroker?: number; toClient?: number }): void;
  /** Forwards in pieces of 1..maxPiece bytes (default 3), a setImmediate between pieces. */
  splitWrites(on: boolean, maxPiece?: number): void;
  /** Sends each broker -> client packet twice with this probability (default 1). */
  duplicatePackets(on: boolean, probability?: number, types?: readonly number[]): void;
  /** Swaps broker -> client packets in adjacent pairs (A B C D -> B A D C). */
  reorderPackets(on: boolean, options?: ReorderOptions): void;
  /** Flips each broker -> client byte with this probability; 0 turns it off. */
  corrupt(probability: number): void;
  /** While on, new connections are accepted and closed at once (FIN, or RST with 'reset'). */
  refuse(on: boolean, mode?: 'close' | 'reset'): void;
  /** Turns every fault off (does not touch open connections). */
  clearFaults(): void;
  /** Resolves once `count` connections were accepted in total; rejects after timeoutMs (5000). */
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  /** Destroys every socket and closes the server. Idempotent. */
  close(): Promise<void>;
}

interface Settings {
  blackhole: boolean;
  delayToBroker: number;
  delayToClient: number;
  split: boolean;
  maxPiece: number;
  dupProbability: number;
  dupTypes: readonly number[] | null;
  reorder: boolean;
  reorderHoldMs: number;
  reorderTypes: readonly number[] | null;
  corruptProbability: number;
  refuse: boolean;
  refuseMode: 'close' | 'reset';
}

function defaultSettings(): Settings {
  return {
    blackhole: false,
    delayToBroker: 0,
    delayToClient: 0,
    split: false,
    maxPiece: 3,
    dupProbability: 0,
    dupTypes: null,
    reorder: false,
    reorderHoldMs: 50,
    reorderTypes: null,
    corruptProbability: 0,
    refuse: false,
    refuseMode: 'close',
  };
}

type LaneItem = { due: number; data: Buffer } | { due: number; end: true };

/** One direction of one connection: an ordered queue honouring delay and split writes. */
class Lane {
  private items: LaneItem[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private ended = false;

  constructor(
    private readonly dst: Socket,
    private readonly settings: Settings,
    private readonly delayOf: () => number,
    private readonly rand: () => number,
    private readonly onWrite: (bytes: number) => void,
  ) {}

  push(data: Buffer): void {
    if (this.ended || data.length === 0) return;
    this.items.push({ due: Date.now() + this.delayOf(), data });
    this.pump();
  }

  pushEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.items.push({ due: Date.now() + this.delayOf(), end: true });
    this.pump();
  }

  clear(): void {
    this.items = [];
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private pump(): void {
    if (this.timer || this.immediate) return;
    while (this.items.length > 0) {
      if (this.dst.destroyed) {
        this.clear();
        return;
      }
      const head = this.items[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      if ('end' in head) {
        this.items.shift();
        this.dst.end();
        continue;
      }
      if (this.settings.split && head.data.length > 1) {
        const n = Math.min(head.data.length, 1 + Math.floor(this.rand() * this.settings.maxPiece));
        this.write(head.data.subarray(0, n));
        head.data = head.data.subarray(n);
        if (head.data.length === 0) this.items.shift();
        if (this.items.length > 0) {
          this.immediate = setImmediate(() => {
            this.immediate = null;
            this.pump();
          });
        }
        return;
      }
      this.items.shift();
      this.write(head.data);
    }
  }

  private write(data: Buffer): void {
    this.onWrite(data.length);
    this.dst.write(data);
  }
}

interface Conn {
  client: Socket;
  upstream: Socket;
  toBroker: Lane;
  toClient: Lane;
  framer: MqttFramer | null; // null once the broker stream could not be framed: raw from then on
  held: Buffer | null;
  heldTimer: ReturnType<typeof setTimeout> | null;
  closing: boolean;
}

function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = opts.targetHost ?? HOST;
  const rand = mulberry32(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  const settings = defaultSettings();
  const counters: FaultCounters = {
    accepted: 0,
    refused: 0,
    active: 0,
    bytesToBroker: 0,
    bytesToClient: 0,
    packetsToClient: 0,
    duplicated: 0,
    reordered: 0,
    corruptedBytes: 0,
    droppedBytes: 0,
  };
  const conns = new Set<Conn>();
  const strays = new Set<Socket>(); // refused sockets not yet closed

  const matches = (types: readonly number[] | null, frame: Buffer): boolean =>
    types === null || types.includes(frame[0]! >> 4);

  const corruptBytes = (data: Buffer): Buffer => {
    if (settings.corruptProbability <= 0) return data;
    let out = data;
    for (let i = 0; i < out.length; i++) {
      if (rand() < settings.corruptProbability) {
        if (out === data) out = Buffer.from(data);
        out[i] = out[i]! ^ (1 + Math.floor(rand() * 255));
        counters.corruptedBytes++;
      }
    }
    return out;
  };

  const sendToClient = (conn: Conn, frame: Buffer): void => {
    counters.packetsToClient++;
    conn.toClient.push(corruptBytes(frame));
  };

  const releaseHeld = (conn: Conn): void => {
    if (conn.heldTimer) clearTimeout(conn.heldTimer);
    conn.heldTimer = null;
    const held = conn.held;
    conn.held = null;
    if (held) sendToClient(conn, held);
  };

  const reorderStage = (conn: Conn, frame: Buffer): void => {
    if (conn.held) {
      // Swap: the newcomer overtakes the held packet.
      const held = conn.held;
      conn.held = null;
      if (conn.heldTimer) clearTimeout(conn.heldTimer);
      conn.heldTimer = null;
      counters.reordered++;
      sendToClient(conn, frame);
      sendToClient(conn, held);
      return;
    }
    if (settings.reorder && matches(settings.reorderTypes, frame)) {
      conn.held = frame;
      conn.heldTimer = setTimeout(() => releaseHeld(conn), settings.reorderHoldMs);
      return;
    }
    sendToClient(conn, frame);
  };

  const brokerFrame = (conn: Conn, frame: Buffer): void => {
    if (settings.blackhole) {
      counters.droppedBytes += frame.length;
      return;
    }
    const copies =
      settings.dupProbability > 0 && matches(settings.dupTypes, frame) && rand() < settings.dupProbability ? 2 : 1;
    if (copies === 2) counters.duplicated++;
    for (let i = 0; i < copies; i++) reorderStage(conn, frame);
  };

  const teardown = (conn: Conn): void => {
    if (!conns.has(conn)) return;
    if (!conn.client.destroyed || !conn.upstream.destroyed) return;
    conns.delete(conn);
    counters.active--;
    conn.toBroker.clear();
    conn.toClient.clear();
    if (conn.heldTimer) clearTimeout(conn.heldTimer);
    conn.heldTimer = null;
  };

  const server: Server = createServer((client) => {
    counters.accepted++;
    client.on('error', () => undefined);
    if (settings.refuse) {
      counters.refused++;
      strays.add(client);
      client.once('close', () => strays.delete(client));
      if (settings.refuseMode === 'reset') resetSocket(client);
      else client.destroy();
      return;
    }
    const upstream = netConnect({ host: targetHost, port: opts.targetPort });
    // No Nagle: split pieces leave as separate segments and small packets are not held for an ACK.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const conn: Conn = {
      client,
      upstream,
      toBroker: new Lane(upstream, settings, () => settings.delayToBroker, rand, (n) => {
        counters.bytesToBroker += n;
      }),
      toClient: new Lane(client, settings, () => settings.delayToClient, rand, (n) => {
        counters.bytesToClient += n;
      }),
      framer: new MqttFramer(),
      held: null,
      heldTimer: null,
      closing: false,
    };
    conns.add(conn);
    counters.active++;

    client.on('data', (data: Buffer) => {
      if (conn.closing) return;
      if (settings.blackhole) {
        counters.droppedBytes += data.length;
        return;
      }
      conn.toBroker.push(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (conn.closing) return;
      if (conn.framer) {
        let frames: Buffer[];
        try {
          frames = conn.framer.push(data);
        } catch {
          conn.framer = null; // not MQTT framing: pass the rest through raw
          conn.toClient.push(data);
          return;
        }
        for (const frame of frames) brokerFrame(conn, frame);
      } else if (settings.blackhole) {
        counters.droppedBytes += data.length;
      } else {
        conn.toClient.push(corruptBytes(data));
      }
    });

    // FIN travels through the lane, after the data queued before it. A blackholed link carries no
    // FIN or RST either: the other side stays half-open, which is what keepalive must detect.
    client.on('end', () => settings.blackhole || conn.toBroker.pushEnd());
    upstream.on('end', () => {
      if (settings.blackhole) return;
      releaseHeld(conn);
      conn.toClient.pushEnd();
    });
    // An RST (or connect failure) on one side is passed on as an RST on the other.
    client.on('error', () => settings.blackhole || resetSocket(upstream));
    upstream.on('error', () => settings.blackhole || resetSocket(client));
    client.on('close', () => {
      if (!upstream.destroyed && !settings.blackhole) conn.toBroker.pushEnd();
      teardown(conn);
    });
    upstream.on('close', () => {
      if (!client.destroyed && !settings.blackhole) {
        releaseHeld(conn);
        conn.toClient.pushEnd();
      }
      teardown(conn);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port: opts.listenPort ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');
  const port = address.port;

  const forEachConn = (fn: (conn: Conn) => void): void => {
    for (const conn of [...conns]) fn(conn);
  };
  const stopConn = (conn: Conn): void => {
    conn.closing = true;
    conn.toBroker.clear();
    conn.toClient.clear();
    if (conn.heldTimer) clearTimeout(conn.heldTimer);
    conn.heldTimer = null;
    conn.held = null;
  };

  let closing: Promise<void> | null = null;
  const proxy: FaultProxy = {
    host: HOST,
    port,
    url: `mqtt://${HOST}:${port}`,
    counters,
    closeAll() {
      forEachConn((conn) => {
        stopConn(conn);
        for (const s of [conn.client, conn.upstream]) {
          if (!s.destroyed) s.destroySoon();
        }
      });
    },
    reset() {
      forEachConn((conn) => {
        stopConn(conn);
        resetSocket(conn.client);
        resetSocket(conn.upstream);
      });
    },
    blackhole(on) {
      settings.blackhole = on;
    },
    delay(ms) {
      if (typeof ms === 'number') {
        settings.delayToBroker = ms;
        settings.delayToClient = ms;
      } else {
        settings.delayToBroker = ms.toBroker ?? 0;
        settings.delayToClient = ms.toClient ?? 0;
      }
    },
    splitWrites(on, maxPiece = 3) {
      if (!(maxPiece >= 1)) throw new RangeError('maxPiece must be at least 1');
      settings.split = on;
      settings.maxPiece = Math.floor(maxPiece);
    },
    duplicatePackets(on, probability = 1, types) {
      settings.dupProbability = on ? probability : 0;
      settings.dupTypes = types ?? null;
    },
    reorderPackets(on, options = {}) {
      settings.reorder = on;
      settings.reorderHoldMs = options.holdMs ?? 50;
      settings.reorderTypes = options.types ?? null;
      if (!on) forEachConn(releaseHeld);
    },
    corrupt(probability) {
      settings.corruptProbability = probability;
    },
    refuse(on, mode = 'close') {
      settings.refuse = on;
      settings.refuseMode = mode;
    },
    clearFaults() {
      const refuseMode = settings.refuseMode;
      Object.assign(settings, defaultSettings(), { refuseMode });
      forEachConn(releaseHeld);
    },
    async waitForAccepted(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (counters.accepted < count) {
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms: ${counters.accepted} of ${count} connections`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        forEachConn((conn) => {
          stopConn(conn);
          conn.client.destroy();
          conn.upstream.destroy();
        });
        for (const s of strays) s.destroy();
      });
      return closing;
    },
  };
  return proxy;
}
