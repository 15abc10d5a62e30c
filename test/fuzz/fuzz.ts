/**
 * Fuzzing the MQTT session's inbound side: mutated and random broker -> client byte streams, fed in
 * random chunk sizes to one MqttSession over FakeConnector + FakeClock (in-process, no TCP).
 *
 * After each case the client must either
 * - still work: it answers a fresh QoS 1 PUBLISH with a PUBACK for that packet id ("alive"), or
 * - have closed the connection and reconnected: after a fresh CONNACK it answers a QoS 1 PUBLISH
 *   ("closed"). A stream that ends inside a packet leaves the client waiting for the rest; the only
 *   way out is the keepalive watchdog, so recovery may advance the fake clock past 1.5 x keepalive.
 * and never throw out of the socket callback, hang (recovery is a bounded number of steps of
 * bounded fake time) or hold more than its caps (session.stats, Framer.buffered, fake timers).
 *
 * The session delivers messages and writes (PUBACKs, publishes, PINGREQs) from promise jobs, as
 * on the device's event loop: so the harness lets the microtasks run after every chunk it feeds
 * and every step it takes, like the event loop between two socket callbacks. A job that throws
 * would surface as an unhandled rejection (vitest fails the run; the CLI exits with it).
 *
 * CLI: node bin/run-ts.mjs test/fuzz/fuzz.ts --cases N [--seed S]
 * Prints `cases:`, `closed:`, `alive:`, `failures:` (and the first failures in detail).
 */
import { MqttSession } from '../../src/mqtt/session';
import { mulberry32 } from '../support/fault-proxy';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector, type FakeSocket } from '../support/fake-connector';
import { argValue } from '../support/cli-args';

export interface FuzzOptions {
  cases: number;
  seed?: number;
  /** Print progress every this many cases (CLI). */
  progressEvery?: number;
  log?: (line: string) => void;
}

export interface FuzzResult {
  cases: number;
  /** Cases after which the session had closed the connection and reconnected. */
  closed: number;
  /** Cases after which the same connection still answered a PUBLISH with a PUBACK. */
  alive: number;
  failures: number;
  /** First few failures: case number, seed-reproducible description. */
  failureSamples: string[];
  /** Errors the session reported, by code. */
  errorCodes: Record<string, number>;
  /** Cases fed during the CONNACK wait (handshake) rather than on an open session. */
  handshakeCases: number;
  ms: number;
}

const KEEPALIVE_S = 10;
const MAX_PACKET = 4096;
const MAX_QUEUED = 16;
const MAX_QUEUED_BYTES = 2048;
const MAX_INFLIGHT = 4;
const MAX_PENDING_INBOUND = 4;
/** Recovery steps per case (socket opens, CONNACKs, clock jumps) before the case counts as a hang. */
const MAX_RECOVERY_STEPS = 12;

// ---- packet builders (broker -> client) ----

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    out.push(d);
  } while (n > 0);
  return out;
}

function frame(first: number, body: number[]): number[] {
  return [first, ...remainingLength(body.length), ...body];
}

function str(s: string): number[] {
  const b = Array.from(Buffer.from(s, 'utf8'));
  return [b.length >> 8, b.length & 0xff, ...b];
}

const connack = (rc = 0, sp = 0) => frame(0x20, [sp, rc]);
const puback = (id: number) => frame(0x40, [id >> 8, id & 0xff]);
const unsuback = (id: number) => frame(0xb0, [id >> 8, id & 0xff]);
const suback = (id: number, granted: number[]) => frame(0x90, [id >> 8, id & 0xff, ...granted]);
const pingresp = () => [0xd0, 0];
function publish(topic: string, payload: number[], qos: 0 | 1, id = 0, flags = 0): number[] {
  const body = [...str(topic)];
  if (qos) body.push(id >> 8, id & 0xff);
  body.push(...payload);
  return frame(0x30 | (qos << 1) | flags, body);
}

// ---- the harness ----

class Harness {
  readonly clock = new FakeClock();
  readonly connector = new FakeConnector();
  readonly session: MqttSession;
  readonly errorCodes: Record<string, number> = {};
  /** Sockets that already got the harness's CONNACK. */
  readonly connackSent = new WeakSet<FakeSocket>();
  private nextInboundId = 1;
  messages = 0;
  lastError = '';

  constructor(random: () => number) {
    this.session = new MqttSession({
      connector: this.connector,
      clock: this.clock,
      random,
      host: 'fuzz.local',
      port: 1883,
      clientId: 'fuzz',
      username: 'TOKEN',
      keepaliveSeconds: KEEPALIVE_S,
      connectTimeoutMs: 5000,
      connackTimeoutMs: 5000,
      reconnect: { initialMs: 100, maxMs: 2000, jitter: 0.5 },
      refusedBackoff: { initialMs: 1000, maxMs: 4000, jitter: 0.2 },
      stableMs: 0,
      maxPacketBytes: MAX_PACKET,
      maxQueuedMessages: MAX_QUEUED,
      maxQueuedBytes: MAX_QUEUED_BYTES,
      maxInflight: MAX_INFLIGHT,
      maxPendingInbound: MAX_PENDING_INBOUND,
    });
    this.session.events.on('error', (e) => {
      this.lastError = e.code + ' ' + e.message;
      this.errorCodes[e.code] = (this.errorCodes[e.code] ?? 0) + 1;
    });
    this.session.events.on('message', () => {
      this.messages++;
    });
    this.session.subscribe('cmd/#', 1);
    this.session.start();
  }

  get socket(): FakeSocket {
    return this.connector.last;
  }

  /** Ids of QoS 1 publishes awaiting PUBACK (white-box: for realistic PUBACKs in the corpus). */
  inflightIds(): number[] {
    return Array.from((this.session as any).outbox_.inflight.keys() as Iterable<number>);
  }

  /** Ids of SUBSCRIBEs awaiting SUBACK. */
  subscribeIds(): number[] {
    return Array.from((this.session as any).subscribeIds_.keys() as Iterable<number>);
  }

  /** True when the framer waits for the first byte of a packet. */
  framerIdle(): boolean {
    const conn = (this.session as any).conn_;
    return !conn || conn.framer.state_ === 0;
  }

  framerBuffered(): number {
    const conn = (this.session as any).conn_;
    return conn ? conn.framer.buffered : 0;
  }

  freshInboundId(): number {
    const id = this.nextInboundId;
    this.nextInboundId = id >= 65535 ? 1 : id + 1;
    return id;
  }

  /**
   * Sends a valid QoS 1 PUBLISH and reports whether the client answered it with its PUBACK (written
   * after the delivery job ran the handler).
   */
  async probe(): Promise<boolean> {
    const socket = this.socket;
    if (socket.closed || this.session.state !== 'connected') return false;
    const id = this.freshInboundId();
    socket.take();
    socket.receive(publish('cmd/probe', [0x6f, 0x6b], 1, id));
    await flushMicrotasks();
    if (socket.closed || this.session.state !== 'connected') return false;
    const want = puback(id);
    const answered = socket.take().some((b) => b.length === 4 && b[0] === want[0] && b[1] === want[1] && b[2] === want[2] && b[3] === want[3]);
    // Answered, and not in the middle of a packet: a probe can complete a packet the fuzz stream
    // began (and be answered by chance) while its own tail starts another one.
    return answered && this.framerIdle();
  }

  /** Problems with the bounds, or undefined. */
  checkBounds(): string | undefined {
    const s = this.session.stats;
    if (s.queued > MAX_QUEUED) return 'queued ' + s.queued + ' > ' + MAX_QUEUED;
    if (s.queuedBytes > MAX_QUEUED_BYTES) return 'queuedBytes ' + s.queuedBytes + ' > ' + MAX_QUEUED_BYTES;
    if (s.inflight > MAX_INFLIGHT) return 'inflight ' + s.inflight + ' > ' + MAX_INFLIGHT;
    if (s.pendingInbound > MAX_PENDING_INBOUND) return 'pendingInbound ' + s.pendingInbound + ' > ' + MAX_PENDING_INBOUND;
    if (s.subscriptions > 1) return 'subscriptions ' + s.subscriptions;
    const buffered = this.framerBuffered();
    if (buffered >= MAX_PACKET) return 'framer holds ' + buffered + ' bytes, cap ' + MAX_PACKET;
    // Connect/CONNACK timer, keepalive timer, reconnect timer: never more than a handful.
    if (this.clock.pending() > 4) return this.clock.pending() + ' fake timers pending';
    return undefined;
  }
}

// ---- corpus and mutations ----

type Rand = () => number;

function pick<T>(rand: Rand, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

function int(rand: Rand, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function randomBytes(rand: Rand, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** One valid broker -> client packet fitting the session's current state. */
function validPacket(rand: Rand, h: Harness): number[] {
  const inflight = h.inflightIds();
  const subs = h.subscribeIds();
  switch (int(rand, 0, 8)) {
    case 0:
      return publish(pick(rand, ['cmd/a', 'cmd/b/c', 'v1/devices/me/rpc/request/1', 'é/ü']), randomBytes(rand, int(rand, 0, 40)), 0);
    case 1:
    case 2:
      return publish('cmd/q1', randomBytes(rand, int(rand, 0, 40)), 1, h.freshInboundId(), rand() < 0.2 ? 0x08 : 0);
    case 3:
    case 4:
      return puback(inflight.length > 0 ? pick(rand, inflight) : int(rand, 1, 65535));
    case 5:
      return suback(subs.length > 0 ? pick(rand, subs) : int(rand, 1, 65535), [pick(rand, [0, 1, 1, 1, 0x80])]);
    case 6:
      return unsuback(int(rand, 1, 65535));
    case 7:
      return pingresp();
    default:
      return publish('cmd/big', randomBytes(rand, int(rand, 100, 600)), rand() < 0.5 ? 0 : 1, h.freshInboundId());
  }
}

function validStream(rand: Rand, h: Harness, handshake: boolean): number[] {
  const out: number[] = handshake ? connack(rand() < 0.9 ? 0 : int(rand, 1, 5), rand() < 0.2 ? 1 : 0) : [];
  const n = int(rand, 1, 5);
  for (let i = 0; i < n; i++) out.push(...validPacket(rand, h));
  return out;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x32, 0x34, 0x40, 0x90, 0xb0, 0xd0];

function mutate(rand: Rand, input: number[], other: () => number[]): number[] {
  let b = input.slice();
  const rounds = int(rand, 1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length > 0 ? int(rand, 0, b.length - 1) : 0;
    switch (int(rand, 0, 9)) {
      case 0: // flip one bit
        if (b.length) b[at] ^= 1 << int(rand, 0, 7);
        break;
      case 1: // random byte
        if (b.length) b[at] = Math.floor(rand() * 256);
        break;
      case 2: // interesting byte
        if (b.length) b[at] = pick(rand, INTERESTING);
        break;
      case 3: // insert random bytes
        b.splice(at, 0, ...randomBytes(rand, int(rand, 1, 8)));
        break;
      case 4: // delete a range
        b.splice(at, int(rand, 1, 8));
        break;
      case 5: // duplicate a range
        b.splice(at, 0, ...b.slice(at, at + int(rand, 1, 16)));
        break;
      case 6: // truncate
        b = b.slice(0, at);
        break;
      case 7: // splice another stream in
        b.splice(at, 0, ...other());
        break;
      case 8: // long remaining length (continuation bits) at a packet boundary-ish place
        b.splice(at, 0, 0x30, ...randomBytes(rand, int(rand, 1, 4)).map((x) => x | 0x80));
        break;
      default: // off-by-one of a byte
        if (b.length) b[at] = (b[at] + (rand() < 0.5 ? 1 : 255)) & 0xff;
    }
  }
  return b;
}

/**
 * Feeds bytes in random chunk sizes, letting the session's jobs run after each chunk; returns an
 * error message if the session threw.
 */
async function feed(rand: Rand, socket: FakeSocket, bytes: number[]): Promise<string | undefined> {
  const data = Uint8Array.from(bytes);
  let i = 0;
  const mode = rand();
  while (i < data.length) {
    if (socket.closed) return undefined; // a real socket delivers nothing after close()
    const n = mode < 0.3 ? 1 : mode < 0.6 ? int(rand, 1, 8) : mode < 0.8 ? int(rand, 1, 64) : data.length;
    const chunk = data.slice(i, i + n);
    i += n;
    try {
      socket.receive(chunk);
    } catch (error) {
      return 'threw: ' + (error instanceof Error ? error.stack ?? error.message : String(error));
    }
    await flushMicrotasks();
  }
  return undefined;
}

/**
 * Brings the session back to a working connection: opens sockets, answers CONNECT with CONNACK,
 * moves the fake clock to the next timer when the session waits. Returns 'alive' when the first
 * probe on the original socket succeeded, 'closed' when it got there through a new connection, or
 * an error message.
 */
async function recover(h: Harness, startSocket: FakeSocket): Promise<'alive' | 'closed' | string> {
  for (let step = 0; step < MAX_RECOVERY_STEPS; step++) {
    await flushMicrotasks(); // what the last step set off (deliveries, writes) runs first
    const bounds = h.checkBounds();
    if (bounds) return 'bounds: ' + bounds;
    const socket = h.socket;
    const state = h.session.state;
    try {
      if (state === 'connected') {
        if (await h.probe()) return socket === startSocket ? 'alive' : 'closed';
        if (h.session.state === 'connected' && !h.socket.closed) {
          // Waiting for the rest of a packet, or the probe was swallowed: only the keepalive
          // watchdog ends this. It must fire within 1.5 x keepalive.
          const before = h.connector.sockets.length;
          h.clock.advance(KEEPALIVE_S * 1500 + 1);
          await flushMicrotasks();
          if (h.session.state === 'connected' && h.connector.sockets.length === before && !h.socket.closed) {
            return 'connection neither works nor closes after 1.5 x keepalive';
          }
        }
        continue;
      }
      if (state === 'connecting') {
        if (socket.closed) return 'connecting on a closed socket';
        socket.open();
        continue;
      }
      if (state === 'handshake') {
        if (!h.connackSent.has(socket)) {
          h.connackSent.add(socket);
          socket.receive(connack());
          continue;
        }
        // Our CONNACK went into a packet the fuzz stream had begun: the CONNACK timeout ends it.
        const at = h.clock.nextAt();
        if (at === undefined) return 'handshake with no timer: would wait forever';
        if (at - h.clock.now() > 10_000) return 'CONNACK timeout ' + (at - h.clock.now()) + ' ms away';
        h.clock.advance(at - h.clock.now());
        continue;
      }
      if (state === 'waiting') {
        const at = h.clock.nextAt();
        if (at === undefined) return 'waiting with no timer: would never reconnect';
        if (at - h.clock.now() > 60_000) return 'reconnect scheduled ' + (at - h.clock.now()) + ' ms away';
        h.clock.advance(at - h.clock.now());
        continue;
      }
      return 'session in state ' + state;
    } catch (error) {
      return 'threw during recovery: ' + (error instanceof Error ? error.stack ?? error.message : String(error));
    }
  }
  return 'no working connection after ' + MAX_RECOVERY_STEPS + ' recovery steps (hang)';
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const seed = options.seed ?? 1;
  const rand = mulberry32(seed);
  const h = new Harness(mulberry32(seed ^ 0x5bd1e995));
  const result: FuzzResult = { cases: 0, closed: 0, alive: 0, failures: 0, failureSamples: [], errorCodes: h.errorCodes, handshakeCases: 0, ms: 0 };
  const t0 = Date.now();
  const fail = (n: number, what: string, bytes: number[]) => {
    result.failures++;
    if (result.failureSamples.length < 10) {
      result.failureSamples.push('case ' + n + ': ' + what + ' | stream ' + Buffer.from(bytes.slice(0, 64)).toString('hex'));
    }
  };

  // First connection.
  const first = await recover(h, h.socket);
  if (first !== 'alive' && first !== 'closed') throw new Error('fuzz harness could not connect: ' + first);

  let published = 0;
  let publishDone = 0;
  for (let n = 0; n < options.cases; n++) {
    result.cases++;
    // The client has traffic of its own: QoS 1 publishes (so PUBACKs in the corpus match real ids)
    // and, after a refused SUBACK, its subscription again.
    if (rand() < 0.5) {
      published++;
      h.session.publish('up/' + (n % 7), Uint8Array.from(randomBytes(rand, int(rand, 1, 64))), { qos: rand() < 0.8 ? 1 : 0 }, () => {
        publishDone++;
      });
    }
    if (h.session.stats.subscriptions === 0) h.session.subscribe('cmd/#', 1);
    await flushMicrotasks(); // written (and in flight) in the session's flush job

    // A fifth of the cases hit the CONNACK wait: drop the connection first, open the next socket.
    let handshake = false;
    if (rand() < 0.2) {
      h.socket.drop(new Error('fuzz: drop before a handshake case'));
      const at = h.clock.nextAt();
      if (at !== undefined) h.clock.advance(at - h.clock.now());
      if (h.session.state === 'connecting') {
        h.socket.open();
        handshake = (h.session.state as string) === 'handshake';
      }
      if (handshake) result.handshakeCases++;
      else {
        const r = await recover(h, h.socket);
        if (r !== 'alive' && r !== 'closed') {
          fail(n, 'setup: ' + r, []);
          continue;
        }
      }
    }

    const startSocket = h.socket;
    const kind = rand();
    const makeValid = () => validStream(rand, h, false);
    let bytes: number[];
    if (kind < 0.1) bytes = validStream(rand, h, handshake); // unmutated: must stay alive
    else if (kind < 0.85) bytes = mutate(rand, validStream(rand, h, handshake), makeValid);
    else bytes = randomBytes(rand, int(rand, 1, 200));

    const threw = await feed(rand, startSocket, bytes);
    if (threw) {
      fail(n, threw, bytes);
      // Start over from a clean connection so later cases still mean something.
      startSocket.drop(new Error('fuzz: reset after failure'));
    }
    const bounds = h.checkBounds();
    if (bounds) fail(n, 'bounds after feed: ' + bounds, bytes);
    const outcome = await recover(h, startSocket);
    if (outcome === 'alive') result.alive++;
    else if (outcome === 'closed') result.closed++;
    else if (!threw) fail(n, outcome, bytes);
    if (kind < 0.1 && !handshake && outcome !== 'alive' && !threw) {
      fail(n, 'a valid stream closed the connection (' + outcome + ', last error: ' + h.lastError + ')', bytes);
    }

    // Keep the written-packet log of the current socket from growing across cases.
    h.socket.take();
    if (options.progressEvery && (n + 1) % options.progressEvery === 0 && options.log) {
      options.log('... ' + (n + 1) + ' cases, ' + result.failures + ' failures, ' + Math.round((Date.now() - t0) / 1000) + ' s');
    }
    // Old sockets are the test's, not the session's: forget them so a long run stays flat.
    if (h.connector.sockets.length > 64) h.connector.sockets.splice(0, h.connector.sockets.length - 1);
  }

  h.session.close();
  if (h.clock.pending() !== 0) fail(result.cases, h.clock.pending() + ' timers left after close()', []);
  // Every publish was answered exactly once (PUBACK, written, refused or closed).
  if (publishDone !== published) fail(result.cases, publishDone + ' of ' + published + ' publish callbacks fired', []);
  result.ms = Date.now() - t0;
  return result;
}

function printResult(r: FuzzResult, log: (line: string) => void): void {
  log('cases: ' + r.cases);
  log('closed: ' + r.closed);
  log('alive: ' + r.alive);
  log('failures: ' + r.failures);
  log('handshake_cases: ' + r.handshakeCases);
  log('session_errors: ' + JSON.stringify(r.errorCodes));
  log('ms: ' + r.ms);
  for (const s of r.failureSamples) log('failure: ' + s);
}


const isMain = process.argv[1] !== undefined && /fuzz\.ts$/.test(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const cases = Number(argValue(args, '--cases') ?? 10_000);
  const seed = Number(argValue(args, '--seed') ?? 1);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
    console.error('usage: node bin/run-ts.mjs test/fuzz/fuzz.ts --cases N [--seed S]');
    process.exit(2);
  }
  const log = (line: string) => console.log(line);
  void runFuzz({ cases, seed, log, progressEvery: cases >= 100_000 ? 100_000 : 0 }).then((r) => {
    printResult(r, log);
    process.exitCode = r.failures > 0 ? 1 : 0;
  });
}
