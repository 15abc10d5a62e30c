/**
 * The firmware bundle plus a benchmark harness (`globalThis.tbxsBench`) for test/bench/xs-bench.ts.
 * Everything runs inside the worker, with no host round trip in the measured loops:
 * - the Firmware on the simulated board's description, its Sampler driven by a virtual clock;
 * - I2C chips that replay the bytes the simulated chip models answered during set-up (on a board
 *   the I2C transfer is native work, not JavaScript; the drivers' CRC and compensation still run);
 * - a loopback socket that answers CONNECT, SUBSCRIBE, PINGREQ and QoS 1 PUBLISH like a broker.
 * One telemetry cycle = the sampler's timers fire, sensors start and are read, values -> JSON ->
 * MQTT PUBLISH -> socket write, then the PUBACK is read and the publish completes.
 */
import './firmware-entry';
import { openAnalogSensor, openI2cSensor } from '../../hal/drivers';
import type { I2cDevice, I2cSpec, Sensor } from '../../hal/types';
import { Firmware } from '../../src/app/firmware';
import { EpochClock, type ClockHost } from '../esp32/clock';
import { silentLog } from '../../src/platform/log';
import type { Connector, Socket, SocketHandlers } from '../../src/platform/socket';
import { MemoryStore } from '../../src/platform/store';
import { utf8Decode } from '../../src/platform/utf8';
import { encodePublish, setPacketId } from '../../src/mqtt/publish-encoder';
import { openDevice, type DeviceConnection } from '../../src/thingsboard/device-connection';
import { stringify } from '../../src/thingsboard/json';
import { checkTelemetry } from '../../src/thingsboard/telemetry';
import { Framer } from '../../src/mqtt/framer';
import { decodeFrame } from '../../src/mqtt/decode';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';
import { PacketIdAllocator } from '../../src/mqtt/packet-ids';
import { checkTopicName } from '../../src/mqtt/topic-rules';
import { SimulatedIo, simulatedBoard } from '../host/simulated-board';

interface Timer {
  at: number;
  callback: (() => void) | undefined;
  next: Timer | undefined;
}

/**
 * Virtual time standing in for Moddable's native Timer: advance() runs the timers that fall due,
 * earliest first (ties in the order they were set). The firmware's clock on top of it is the
 * device's own, targets/esp32/clock.ts's EpochClock, so its JavaScript is measured as on the
 * board. This part is native there, so it is kept cheap: a sorted linked list, no array splice
 * or shift (metered per element moved on xsnap: a sorted array cost about 390 computrons a timer).
 */
class BenchTimers implements ClockHost {
  private t: number;
  private head: Timer | undefined = undefined;
  private count = 0;
  /** setTimer() calls so far: bench:xs subtracts this stand-in's own cost per call. */
  sets = 0;

  constructor(start: number) {
    this.t = start;
  }

  wallNow(): number {
    return this.t;
  }

  setTimer(callback: () => void, ms: number): unknown {
    this.sets++;
    const timer: Timer = { at: this.t + (ms > 0 ? ms : 0), callback, next: undefined };
    if (this.head === undefined || this.head.at > timer.at) {
      timer.next = this.head;
      this.head = timer;
    } else {
      let p = this.head;
      while (p.next !== undefined && p.next.at <= timer.at) p = p.next;
      timer.next = p.next;
      p.next = timer;
    }
    this.count++;
    return timer;
  }

  /** Marks it cancelled; advance() drops it when it reaches the head. */
  clearTimer(handle: unknown): void {
    const timer = handle as Timer | undefined;
    if (timer) timer.callback = undefined;
  }

  advance(ms: number): void {
    const target = this.t + ms;
    while (this.head !== undefined && this.head.at <= target) {
      const timer = this.head;
      this.head = timer.next;
      this.count--;
      this.t = timer.at;
      const callback = timer.callback;
      timer.callback = undefined;
      if (callback) callback();
    }
    this.t = target;
  }

  /** Timers set and not yet run or dropped (cancelled ones included until they come due). */
  get pending(): number {
    return this.count;
  }
}

/** The PUBACK for the QoS 1 PUBLISH whose packet id is at `idAt`, written by hand. */
function pubackFor(publish: Uint8Array, idAt: number): Uint8Array {
  const ack = new Uint8Array(4);
  ack[0] = 0x40;
  ack[1] = 2;
  ack[2] = publish[idAt];
  ack[3] = publish[idAt + 1];
  return ack;
}

/** A socket that answers like a broker; answers are delivered by flush(). */
class LoopbackSocket implements Socket {
  readonly answers: Uint8Array[] = [];
  lastPublish: Uint8Array | undefined;
  written = 0;
  /**
   * What this stand-in for the network and the broker was asked to do, so bench:xs can take its
   * cost out (on a device a write is a native call and the broker is another machine): QoS 1
   * PUBLISHes written (each makes a PUBACK), other packets written, flush() calls.
   */
  readonly counts = { qos1: 0, other: 0, flushes: 0 };
  closed = false;
  /** onConnect is reported by the first flush (never from inside connect()). */
  opened = false;

  constructor(readonly handlers: SocketHandlers) {}

  write(bytes: Uint8Array): boolean {
    this.written += bytes.length;
    const type = bytes[0] & 0xf0;
    if (type === 0x30 && (bytes[0] & 0x06) === 0x02) this.counts.qos1++;
    else this.counts.other++;
    if (type === 0x30) {
      // The broker's side is not the device's cost: the PUBACK is made by a short path (the
      // bench's packets have remaining lengths under 16 KiB).
      this.lastPublish = bytes;
      if ((bytes[0] & 0x06) === 0x02) {
        const o = bytes[1] & 0x80 ? 3 : 2;
        const at = o + 2 + ((bytes[o] << 8) | bytes[o + 1]);
        this.answers.push(Uint8Array.of(0x40, 2, bytes[at], bytes[at + 1]));
      }
    } else if (type === 0x10) this.answers.push(Uint8Array.of(0x20, 2, 0, 0));
    else if (type === 0x80) this.answers.push(Uint8Array.of(0x90, 3, bytes[2], bytes[3], 1));
    else if (type === 0xc0) this.answers.push(Uint8Array.of(0xd0, 0));
    return true;
  }

  close(): void {
    this.closed = true;
  }

  flush(): void {
    this.counts.flushes++;
    if (!this.opened) {
      this.opened = true;
      this.handlers.onConnect();
    }
    const answers = this.answers;
    while (answers.length > 0 && !this.closed) this.handlers.onData(answers.shift() as Uint8Array);
  }
}

class LoopbackConnector implements Connector {
  socket: LoopbackSocket | undefined;

  connect(_options: unknown, handlers: SocketHandlers): Socket {
    const socket = new LoopbackSocket(handlers);
    this.socket = socket;
    return socket;
  }
}

/** A sink that only keeps the last bytes (what a native socket write costs the script: a call). */
class SinkSocket {
  last: Uint8Array | undefined;
  written = 0;
  write(bytes: Uint8Array): boolean {
    this.last = bytes;
    this.written += bytes.length;
    return true;
  }
}

/**
 * The simulated board's IO whose I2C chips first record what the chip models answer, then replay it.
 * Analog reads return a fixed raw value once replaying.
 */
class ReplayIo extends SimulatedIo {
  replaying = false;
  answers = new Map<number, Uint8Array>();

  override openI2c(spec: I2cSpec): I2cDevice {
    const real = super.openI2c(spec);
    const io = this;
    const base = spec.address * 65536;
    let key = base;
    return {
      address: real.address,
      where: real.where,
      write(bytes: Uint8Array, stop?: boolean): void {
        key = base + (bytes.length > 1 ? (bytes[0] << 8) | bytes[1] : bytes.length === 1 ? bytes[0] : 0);
        if (!io.replaying) real.write(bytes, stop);
      },
      read(length: number, stop?: boolean): Uint8Array {
        if (io.replaying) {
          const answer = io.answers.get(key);
          if (!answer) throw new Error('replay: nothing recorded for ' + key.toString(16));
          return answer.slice(0, length);
        }
        const data = real.read(length, stop);
        io.answers.set(key, data.slice());
        return data;
      },
      close(): void {
        real.close();
      },
    };
  }

  replay(): void {
    this.replaying = true;
    const analog = simulatedBoard.analog ?? {};
    for (const name of Object.keys(analog)) this.pin(analog[name].pin).setAnalogFunction(() => 2400);
  }
}

interface FloorSlot {
  prefix: string;
  sensor: Sensor;
}

const TOPIC = 'v1/devices/me/telemetry';
const INTERVAL_MS = 1000;

interface BenchState {
  clock: EpochClock;
  timers: BenchTimers;
  connector: LoopbackConnector;
  device: DeviceConnection;
  firmware: Firmware;
  io: ReplayIo;
  sensors: Sensor[];
  slots: FloorSlot[];
  sink: SinkSocket;
  encoder: { encode(text: string): Uint8Array };
  payload: string;
  values: { [key: string]: number | string };
  floorId: number;
}

const bench: { state: BenchState | undefined; rpcFrames: Uint8Array[]; rpcSeq: number } = { state: undefined, rpcFrames: [], rpcSeq: 0 };

const RPC_REQUEST = 'v1/devices/me/rpc/request/';
const RPC_RESPONSE = 'v1/devices/me/rpc/response/';
const GET_GPIO_STATUS = '{"method":"getGpioStatus","params":{}}';

/**
 * The floor of one server-side RPC: a hand parse of the QoS 1 PUBLISH (no checks beyond what is
 * needed to find the fields), the PUBACK written, JSON.parse, the method looked up, the same
 * GPIO status read, JSON.stringify and the hand encoder for the reply.
 */
function handRpc(s: BenchState, frame: Uint8Array, decoder: { decode(bytes: Uint8Array): string }): void {
  let o = 1;
  while (frame[o] & 0x80) o++;
  o++;
  const topicLength = (frame[o] << 8) | frame[o + 1];
  const topic = decoder.decode(frame.subarray(o + 2, o + 2 + topicLength));
  o += 2 + topicLength;
  s.sink.write(pubackFor(frame, o));
  const request = JSON.parse(decoder.decode(frame.subarray(o + 2))) as { method: string };
  if (request.method !== 'getGpioStatus') throw new Error('floor: unexpected method');
  const id = topic.substring(RPC_REQUEST.length);
  s.floorId = s.floorId === 0xffff ? 1 : s.floorId + 1;
  s.sink.write(handPublish(s.encoder, RPC_RESPONSE + id, JSON.stringify(s.firmware.gpioStatus()), s.floorId));
}

function need(): BenchState {
  if (!bench.state) throw new Error('tbxsBench.setup() first');
  return bench.state;
}

/** The minimal QoS 1 PUBLISH encoder: native TextEncoder, one Uint8Array. */
function handPublish(encoder: { encode(text: string): Uint8Array }, topic: string, payload: string, id: number): Uint8Array {
  const t = encoder.encode(topic);
  const p = encoder.encode(payload);
  const remaining = 2 + t.length + 2 + p.length;
  const bytes = new Uint8Array((remaining < 128 ? 2 : 3) + remaining);
  bytes[0] = 0x32;
  let o = 1;
  if (remaining < 128) bytes[o++] = remaining;
  else {
    bytes[o++] = (remaining & 127) | 128;
    bytes[o++] = remaining >> 7;
  }
  bytes[o++] = t.length >> 8;
  bytes[o++] = t.length & 255;
  bytes.set(t, o);
  o += t.length;
  bytes[o++] = id >> 8;
  bytes[o++] = id & 255;
  bytes.set(p, o);
  return bytes;
}

/**
 * Promise jobs to let run: the session writes from a flush job and hands messages to listeners
 * from a delivery job (see MqttSession). The measured loops await the same turns as `noop`, whose
 * cost perCall() subtracts.
 */
const TURNS = 4;
async function turns(): Promise<void> {
  for (let i = 0; i < TURNS; i++) await undefined;
}

/** Advances the clock by one period and lets the socket and the jobs run, as the event loop would. */
async function tick(timers: BenchTimers, socket: LoopbackSocket, ms: number): Promise<void> {
  timers.advance(ms);
  await turns();
  socket.flush();
  await turns();
}

function toBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

async function setup(): Promise<void> {
  const timers = new BenchTimers(Date.now());
  const clock = new EpochClock(timers);
  const connector = new LoopbackConnector();
  const store = new MemoryStore();
  const platform = { clock, connector, store, log: silentLog, random: () => 0.5 };
  const device = await openDevice(platform, {
    host: 'bench.invalid',
    port: 1883,
    credentials: { type: 'ACCESS_TOKEN', token: 'BENCH_TOKEN' },
  });
  const io = new ReplayIo(clock, silentLog, { random: () => 0.5 });
  const firmware = new Firmware({
    device: device.client,
    io,
    board: simulatedBoard,
    clock,
    store,
    log: silentLog,
    info: { name: 'tbxs-bench', version: '0.0.0' },
    settings: { telemetryIntervalMs: INTERVAL_MS },
    onConnect: (listener) => device.session.events.on('connect', () => listener()),
  });
  await turns(); // openDevice starts the session from a job
  const socket = () => connector.socket as LoopbackSocket;
  for (let i = 0; i < 3; i++) await tick(timers, socket(), 0); // open -> CONNECT, CONNACK -> SUBSCRIBEs, SUBACKs
  firmware.start();
  for (let i = 0; i < 3; i++) await tick(timers, socket(), INTERVAL_MS);
  io.replay();
  // Settle: drop the first cycles' extra traffic (attributes, attribute request).
  for (let i = 0; i < 15; i++) await tick(timers, socket(), INTERVAL_MS);
  const last = socket().lastPublish as Uint8Array;
  const payload = utf8Decode(last, last.length - payloadLength(last));
  const values = (JSON.parse(payload) as { values: { [key: string]: number | string } }).values;
  const E = (globalThis as unknown as { TextEncoder: new () => { encode(text: string): Uint8Array } }).TextEncoder;
  bench.state = { clock, timers, connector, device, firmware, io, sensors: [], slots: [], sink: new SinkSocket(), encoder: new E(), payload, values, floorId: 1 };
}

/**
 * The floor's own sensors: the same drivers on a second IO replaying the same chip answers. Made
 * after run_heap_slots is measured: they are the comparison's, not the firmware's.
 */
function setupFloor(): void {
  const s = need();
  const floorIo = new ReplayIo(s.clock, silentLog, { random: () => 0.5 });
  floorIo.answers = s.io.answers;
  floorIo.replay();
  const slots: FloorSlot[] = [];
  const described = simulatedBoard.sensors ?? {};
  for (const name of Object.keys(described)) slots.push({ prefix: name + '_', sensor: openI2cSensor(floorIo, described[name]) });
  const analog = simulatedBoard.analog ?? {};
  for (const name of Object.keys(analog)) slots.push({ prefix: '', sensor: openAnalogSensor(floorIo, name, analog[name]) });
  s.slots = slots;
  s.sensors = slots.filter((slot) => slot.prefix !== '').map((slot) => slot.sensor);
}

function floorPayload(s: BenchState, ts: number): string {
  const values: { [key: string]: number } = {};
  const slots = s.slots;
  for (let j = 0; j < slots.length; j++) {
    const slot = slots[j];
    slot.sensor.start();
    const readings = slot.sensor.read();
    for (const key in readings) values[slot.prefix + key] = Math.round((readings[key] as number) * 100) / 100;
  }
  return JSON.stringify({ ts, values });
}

function payloadLength(publish: Uint8Array): number {
  let o = 1;
  let remaining = 0;
  let mul = 1;
  for (;;) {
    const b = publish[o++];
    remaining += (b & 127) * mul;
    mul *= 128;
    if (!(b & 128)) break;
  }
  const topicLength = (publish[o] << 8) | publish[o + 1];
  return remaining - 2 - topicLength - 2;
}

const api = {
  setup,
  setupFloor,
  /** n full telemetry cycles of the firmware. */
  async cycles(n: number): Promise<number> {
    const s = need();
    const socket = s.connector.socket as LoopbackSocket;
    for (let i = 0; i < n; i++) await tick(s.timers, socket, INTERVAL_MS);
    return socket.written;
  },
  /** The stand-in timer's own cost: n timers set and run (0 ms, a callback doing nothing). */
  timerStandIn(n: number): number {
    const t = need().timers;
    let k = 0;
    const callback = (): void => {
      k++;
    };
    for (let i = 0; i < n; i++) {
      t.setTimer(callback, 0);
      t.advance(0);
    }
    t.sets -= n; // not the firmware's
    return k;
  },
  /**
   * The broker stand-in's own cost, on a socket of its own whose handler does nothing: `kind` 0 a
   * QoS 1 PUBLISH written and its PUBACK delivered by flush(), 1 a PUBACK written, 2 an empty
   * flush(). bench:xs takes a SinkSocket write (the floor pays that too) out of each write, and
   * the empty flush out of kind 0.
   */
  brokerStandIn(n: number, kind: number): number {
    const s = need();
    const socket = new LoopbackSocket({ onConnect() {}, onData() {}, onDrain() {}, onClose() {} });
    socket.opened = true;
    const publish = handPublish(s.encoder, TOPIC, s.payload, 7);
    const puback = Uint8Array.of(0x40, 2, 0, 7);
    for (let i = 0; i < n; i++) {
      if (kind === 0) {
        socket.write(publish);
        socket.flush();
      } else if (kind === 1) socket.write(puback);
      else socket.flush();
    }
    return socket.written;
  },
  /** SinkSocket writes alone, to take out of brokerStandIn's writes. */
  sinkWrites(n: number): number {
    const sink = new SinkSocket();
    const bytes = Uint8Array.of(0x40, 2, 0, 7);
    for (let i = 0; i < n; i++) sink.write(bytes);
    return sink.written;
  },
  /** The broker stand-in's counts so far (UTF-8 JSON). */
  brokerCounts(): ArrayBuffer {
    return toBuffer(new (globalThis as unknown as { TextEncoder: new () => { encode(t: string): Uint8Array } }).TextEncoder().encode(JSON.stringify((need().connector.socket as LoopbackSocket).counts)));
  },
  /** How many timers the firmware has set so far (UTF-8 JSON number). */
  timerSets(): ArrayBuffer {
    return toBuffer(new (globalThis as unknown as { TextEncoder: new () => { encode(t: string): Uint8Array } }).TextEncoder().encode(String(need().timers.sets)));
  },
  noop(n: number): number {
    let x = 0;
    for (let i = 0; i < n; i++) x += i;
    return x;
  },
  /** The loop and the awaited turns of cycles(), session() and client(), doing nothing: their baseline. */
  async noopTurns(n: number): Promise<number> {
    let x = 0;
    for (let i = 0; i < n; i++) {
      x += i;
      await turns();
      await turns();
    }
    return x;
  },
  /**
   * The floor: a minimal hand-written cycle doing the same work: the same drivers read the same
   * sensors, readings rounded into one object, JSON.stringify, the hand encoder, a socket write.
   */
  floor(n: number): number {
    const s = need();
    for (let i = 0; i < n; i++) {
      s.floorId = s.floorId === 0xffff ? 1 : s.floorId + 1;
      s.sink.write(handPublish(s.encoder, TOPIC, floorPayload(s, s.clock.now()), s.floorId));
    }
    return s.sink.written;
  },
  /** The hand encoder and the write alone, for the same payload string. */
  floorEncoder(n: number): number {
    const s = need();
    for (let i = 0; i < n; i++) {
      s.floorId = s.floorId === 0xffff ? 1 : s.floorId + 1;
      s.sink.write(handPublish(s.encoder, TOPIC, s.payload, s.floorId));
    }
    return s.sink.written;
  },
  // ---- pieces of a cycle ----
  /** start() + read() of the I2C sensors through the drivers (replayed chips). */
  sensors(n: number): number {
    const s = need();
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (const sensor of s.sensors) {
        sensor.start();
        k += Object.keys(sensor.read()).length;
      }
    }
    return k;
  },
  /** JSON.stringify of one cycle's telemetry. */
  json(n: number): number {
    const s = need();
    let k = 0;
    for (let i = 0; i < n; i++) {
      const text = stringify({ ts: s.clock.now(), values: s.values });
      k += (text as string).length;
    }
    return k;
  },
  /** Our PUBLISH encoder (src/mqtt/publish-encoder.ts) for the same payload string. */
  encode(n: number): number {
    const s = need();
    let k = 0;
    for (let i = 0; i < n; i++) {
      const e = encodePublish(TOPIC, s.payload, 1, false);
      setPacketId(e.bytes, e.idOffset, 1);
      k += e.bytes.length;
    }
    return k;
  },
  /** MqttSession.publish of the payload string, QoS 1, and its PUBACK. */
  async session(n: number): Promise<number> {
    const s = need();
    const socket = s.connector.socket as LoopbackSocket;
    for (let i = 0; i < n; i++) {
      s.device.session.publish(TOPIC, s.payload, { qos: 1 }, () => undefined);
      await tick(s.timers, socket, 0);
    }
    return socket.written;
  },
  /** DeviceClient.sendTelemetry({ts, values}) and its PUBACK. */
  async client(n: number): Promise<number> {
    const s = need();
    const socket = s.connector.socket as LoopbackSocket;
    for (let i = 0; i < n; i++) {
      s.device.client.sendTelemetry({ ts: s.clock.now(), values: s.values }).then(undefined, () => undefined);
      await tick(s.timers, socket, 0);
    }
    return socket.written;
  },
  /** Builds n server-side getGpioStatus requests (QoS 1 PUBLISH frames) for rpc() or rpcFloor(). */
  prepareRpc(n: number): number {
    const s = need();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const seq = ++bench.rpcSeq;
      frames.push(handPublish(s.encoder, RPC_REQUEST + seq, GET_GPIO_STATUS, (seq % 0xfffe) + 1));
    }
    bench.rpcFrames = frames;
    return frames.length;
  },
  /**
   * One server-side RPC per iteration through the firmware: the frame is cut, checked and parsed
   * (mqtt-packet), PUBACKed, dispatched in the delivery job to the getGpioStatus handler, and its
   * reply published (QoS 1) and acknowledged. Returns the replies seen.
   */
  async rpc(n: number): Promise<number> {
    const s = need();
    const socket = s.connector.socket as LoopbackSocket;
    const frames = bench.rpcFrames;
    let replies = 0;
    let previous = socket.lastPublish;
    for (let i = 0; i < n; i++) {
      socket.handlers.onData(frames[i]);
      await turns();
      socket.flush();
      await turns();
      if (socket.lastPublish !== previous) replies++;
      previous = socket.lastPublish;
    }
    // The last PUBLISH written must be the reply to the last request (checked once, outside the loop).
    const last = previous as Uint8Array;
    const topicAt = last[1] & 0x80 ? 5 : 4;
    const topic = utf8Decode(last, topicAt, topicAt + ((last[topicAt - 2] << 8) | last[topicAt - 1]));
    if (n > 0 && topic !== RPC_RESPONSE + bench.rpcSeq) throw new Error('rpc bench: last reply went to ' + topic);
    return replies;
  },
  /** handRpc() for each prepared frame. */
  rpcFloor(n: number): number {
    const s = need();
    const frames = bench.rpcFrames;
    const decoder = new (globalThis as unknown as { TextDecoder: new () => { decode(bytes: Uint8Array): string } }).TextDecoder();
    for (let i = 0; i < n; i++) handRpc(s, frames[i], decoder);
    return s.sink.written;
  },
  /** Finer pieces of the MQTT path. */
  ackPath(n: number): number {
    const framer = new Framer(65536);
    const parser = mqttPacketCodec.createParser();
    let k = 0;
    for (let i = 0; i < n; i++) {
      framer.feed(Uint8Array.of(0x40, 2, 0, 1));
      // As the session reads when connected: the PUBACK fast path, then anything else.
      for (let id = framer.puback(); id !== 0; id = framer.puback()) k += id;
      for (let frame = framer.next(); frame instanceof Uint8Array; frame = framer.next()) {
        const p = decodeFrame(frame, parser) as { type?: string; id?: number };
        if (p.type === 'puback') k += p.id as number;
      }
    }
    return k;
  },
  /** Framer, decodeFrame's checks and mqtt-packet's parse of the prepared RPC request frames. */
  rpcParse(n: number): number {
    const framer = new Framer(65536);
    const parser = mqttPacketCodec.createParser();
    const frames = bench.rpcFrames;
    let k = 0;
    for (let i = 0; i < n; i++) {
      framer.feed(frames[i]);
      const frame = framer.next() as Uint8Array;
      const p = decodeFrame(frame, parser) as { type?: string; payload?: Uint8Array };
      if (p.type === 'publish') k += (p.payload as Uint8Array).length;
    }
    return k;
  },
  ids(n: number): number {
    const ids = new PacketIdAllocator();
    let k = 0;
    for (let i = 0; i < n; i++) {
      const id = ids.allocate();
      ids.release(id);
      k += id;
    }
    return k;
  },
  checks(n: number): number {
    const s = need();
    let k = 0;
    for (let i = 0; i < n; i++) {
      const data = { ts: 1, values: s.values };
      if (checkTelemetry(data) === undefined && checkTopicName(TOPIC) === undefined) k++;
    }
    return k;
  },
  promise(n: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) {
      new Promise<void>((resolve) => resolve()).then(() => k++, () => undefined);
    }
    return k;
  },
  /** One Sampler-like collect: round every reading into a fresh object (no I2C). */
  collect(n: number): number {
    const s = need();
    let k = 0;
    for (let i = 0; i < n; i++) {
      const values: { [key: string]: number } = {};
      const readings = s.values;
      for (const key of Object.keys(readings)) {
        const v = readings[key] as number;
        values['x' + key] = Math.round(v * 100) / 100;
      }
      k += Object.keys(values).length;
    }
    return k;
  },
  sensorEach(n: number, which: number): number {
    const s = need();
    const sensor = s.sensors[which];
    let k = 0;
    for (let i = 0; i < n; i++) {
      sensor.start();
      k += Object.keys(sensor.read()).length;
    }
    return k;
  },
  /**
   * encodePublish on XS for each [topic, payload, qos] of the JSON `cases`, as hex: the ASCII fast
   * path (encodeInto straight into the packet) and the UTF-8 fallback, checked against Node.
   */
  encodeSamples(cases: string): ArrayBuffer {
    const out: string[] = [];
    for (const [topic, payload, qos] of JSON.parse(cases) as [string, string, 0 | 1][]) {
      const e = encodePublish(topic, payload, qos, false);
      if (qos) setPacketId(e.bytes, e.idOffset, 0x1234);
      let hex = '';
      for (let i = 0; i < e.bytes.length; i++) hex += (e.bytes[i] < 16 ? '0' : '') + e.bytes[i].toString(16);
      out.push(hex + ':' + e.idOffset);
    }
    return toBuffer(new (globalThis as unknown as { TextEncoder: new () => { encode(t: string): Uint8Array } }).TextEncoder().encode(JSON.stringify(out)));
  },
  /**
   * decodeFrame on XS for each frame of the JSON `frames` (arrays of bytes): the packet type, or
   * the error code, and the topic of a PUBLISH, for test/xs/xs-codec.test.ts to hold against Node.
   */
  decodeSamples(frames: string): ArrayBuffer {
    const parser = mqttPacketCodec.createParser();
    const out: string[] = [];
    for (const bytes of JSON.parse(frames) as number[][]) {
      const r = decodeFrame(Uint8Array.from(bytes), parser) as { type?: string; topic?: string; code?: string; id?: number };
      out.push(r instanceof Error ? 'error:' + r.code : r.type + ':' + (r.topic ?? r.id ?? ''));
    }
    return toBuffer(new (globalThis as unknown as { TextEncoder: new () => { encode(t: string): Uint8Array } }).TextEncoder().encode(JSON.stringify(out)));
  },
  /** The last PUBLISH the firmware wrote, and the floor's bytes for the same packet id. */
  lastPublish(): ArrayBuffer {
    return toBuffer((need().connector.socket as LoopbackSocket).lastPublish as Uint8Array);
  },
  /** One floor cycle's bytes with this packet id and time stamp. */
  floorPublish(id: number, ts: number): ArrayBuffer {
    const s = need();
    return toBuffer(handPublish(s.encoder, TOPIC, floorPayload(s, ts), id));
  },
  /** A JSON line about the state, to check the bench did what it says. */
  info(): ArrayBuffer {
    const s = need();
    const text = JSON.stringify({
      payload: s.payload,
      payloadBytes: s.payload.length,
      timers: s.timers.pending,
      stats: s.device.session.stats,
      connected: s.device.client.connected,
      running: s.firmware.running,
    });
    return toBuffer(new (globalThis as unknown as { TextEncoder: new () => { encode(t: string): Uint8Array } }).TextEncoder().encode(text));
  },
};

(globalThis as unknown as { tbxsBench: typeof api }).tbxsBench = api;
(globalThis as unknown as { tbxsBenchState: () => BenchState | undefined }).tbxsBenchState = () => bench.state;
