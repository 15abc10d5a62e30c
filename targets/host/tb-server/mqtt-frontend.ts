/** The MQTT side: aedes on TCP with ThingsBoard's authentication, topic rules and session model. */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Ctx } from './context';
import { handleDevicePublish } from './device-api';
import { handleGatewayPublish } from './gateway-api';
import { GuardedConn } from './conn';
import { handleProvisionPublish } from './provisioning';
import { RegistryError } from './registry';
import { type Session, type SessionKind } from './session';
import { DEVICE_FILTERS, GATEWAY_FILTERS, PROVISION_FILTERS, T } from './topics';
import { SessionLimiters } from './rate-limits';
import type { RateLimits } from './types';
import { ShapeError, telemetryDataPoints } from './values';

interface ConnInfo {
  conn: GuardedConn;
  remote: string;
  /** Client id and clean flag as sent by the device (aedes gets a unique id and clean = true). */
  clientId: string;
  clean: boolean;
}

/** Fields of aedes internals we rely on (lib/client.js). */
interface ClientInternals {
  _parser: { prependListener(event: 'packet', fn: (packet: MqttPacket) => void): void };
}

interface MqttPacket {
  cmd: string;
  qos?: number;
  subscriptions?: { qos: number }[];
}

/** Downlink messages one session may have waiting behind its in-flight cap. */
const DOWNLINK_BACKLOG = 1000;

const ERROR_TEXT: Record<number, string> = { 2: 'identifier rejected', 3: 'server unavailable', 5: 'not authorized' };

export class MqttFrontend {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly info = new WeakMap<Client, ConnInfo>();
  /** Payloads we publish to one client; aedes must not fan out anything else (authorizeForward). */
  private readonly direct = new WeakSet<Buffer>();
  private idSeq = 0;
  port = 0;

  constructor(private readonly ctx: Ctx) {}

  get listening(): boolean {
    return this.server !== undefined;
  }

  async start(port: number, host: string): Promise<number> {
    if (this.server) return this.port;
    const aedes = new Aedes({
      connectTimeout: 30_000,
      preConnect: (client, packet, cb) => {
        const info = this.info.get(client);
        if (info) {
          info.clientId = packet.clientId;
          info.clean = packet.clean !== false;
        }
        // No aedes session state, no client-id takeover (we evict per credential), no will, no
        // keepalive enforcement (ThingsBoard drops idle sessions after idleTimeoutMs instead).
        packet.clientId = `tbxs-${++this.idSeq}`;
        packet.clean = true;
        packet.keepalive = 0;
        delete packet.will;
        cb(null, true);
      },
      authenticate: (client, username, password, cb) => this.authenticate(client, username, password, cb),
      authorizePublish: (client, packet, cb) => this.onPublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.onSubscribe(client, sub, cb),
      authorizeForward: (_client, packet) => (this.direct.has(packet.payload as Buffer) ? packet : null),
    });
    await aedes.listen();
    (aedes as unknown as NodeJS.EventEmitter).on('error', (e: Error) => this.ctx.emit({ type: 'violation', device: 'broker', reason: e.message }));
    aedes.on('subscribe', (subs, client) => this.afterSubscribe(subs, client));
    aedes.on('unsubscribe', (topics, client) => {
      const s = this.ctx.sessions.ofClient(client);
      if (s) for (const t of topics) s.subs.delete(t);
    });
    const server = createServer((socket) => this.accept(aedes, socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.aedes = aedes;
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    return this.port;
  }

  /** Stops listening and drops every connection; the registry and pending RPCs stay. */
  async stop(): Promise<void> {
    const { server, aedes } = this;
    if (!server || !aedes) return;
    this.server = undefined;
    this.aedes = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await closed;
    for (const s of this.ctx.sessions.all()) this.forget(s);
  }

  /**
   * Publishes one message to one session. QoS 1 beyond maxInflightMessages unacknowledged waits
   * for a PUBACK (bounded: past DOWNLINK_BACKLOG the message is dropped, logged).
   */
  publish(s: Session, topic: string, payload: Buffer, qos: number): void {
    if (qos !== 0 && s.downInflight >= this.ctx.opts.maxInflightMessages) {
      if (s.downQueue.length >= DOWNLINK_BACKLOG) {
        this.ctx.emit({ type: 'violation', device: s.label, reason: `downlink to ${topic} dropped: ${DOWNLINK_BACKLOG} messages wait behind ${s.downInflight} unacknowledged` });
        return;
      }
      s.downQueue.push({ topic, payload });
      return;
    }
    if (qos !== 0) s.downInflight++;
    this.direct.add(payload);
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos: qos === 0 ? 0 : 1, retain: false, dup: false };
    s.client.publish(packet, () => {});
  }

  /**
   * A PUBACK from the device (read off its parser: aedes's own 'ack' event does not carry the
   * packet for these direct publishes): its slot goes to the next waiting message.
   */
  private onPuback(client: Client): void {
    const s = this.ctx.sessions.ofClient(client);
    if (!s || s.downInflight === 0) return;
    s.downInflight--;
    const next = s.downQueue.shift();
    if (next && !s.closed) this.publish(s, next.topic, next.payload, 1);
  }

  private accept(aedes: Aedes, socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.setTimeout(this.ctx.opts.idleTimeoutMs, () => socket.destroy());
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    let client: Client | undefined;
    const conn = new GuardedConn(socket, this.ctx.opts.maxPayloadBytes, (reason) => {
      const s = client && this.ctx.sessions.ofClient(client);
      this.ctx.emit({ type: 'violation', device: s?.label ?? remote, reason });
    });
    client = aedes.handle(conn);
    this.info.set(client, { conn, remote, clientId: '', clean: true });
    (client as unknown as ClientInternals)._parser.prependListener('packet', normalize);
    const acked = client;
    (client as unknown as ClientInternals)._parser.prependListener('packet', (packet) => {
      if (packet.cmd === 'puback') this.onPuback(acked);
    });
    const c = client;
    conn.on('close', () => {
      const s = this.ctx.sessions.ofClient(c);
      if (s) this.forget(s);
    });
  }

  private forget(s: Session): void {
    if (s.closed) return;
    const children = this.ctx.sessions.remove(s);
    for (const child of children) this.ctx.emit({ type: 'child', gateway: s.label, device: child.name, connected: false });
    this.ctx.emit({ type: 'disconnected', device: s.label, kind: s.kind });
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    cb: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const info = this.info.get(client);
    if (!info) return cb(null, false);
    const pw = password ? password.toString('utf8') : undefined;
    const fail = (rc: 2 | 3 | 5): void => {
      this.ctx.emit({ type: 'rejected', returnCode: rc, clientId: info.clientId, ...(username !== undefined ? { username } : {}) });
      cb(Object.assign(new Error(ERROR_TEXT[rc]), { returnCode: rc }) as AuthenticateError, false);
    };
    let kind: SessionKind;
    let device;
    if (username === 'provision' || info.clientId === 'provision') {
      kind = 'provision';
    } else if (!username && !pw) {
      return fail(2);
    } else {
      device = this.ctx.registry.findBasic(info.clientId, username, pw) ?? (username ? this.ctx.registry.byAccessToken(username) : undefined);
      if (!device) return fail(5);
      kind = device.gateway ? 'gateway' : 'device';
    }
    const s: Session = {
      seq: this.ctx.sessions.nextSeq(),
      kind,
      client,
      clientId: info.clientId,
      label: device ? device.name : `provision(${info.clientId})`,
      subs: new Map(),
      children: new Map(),
      closed: false,
      downInflight: 0,
      downQueue: [],
      fwChunkSizes: new Map(),
      ...(device ? { device } : {}),
    };
    // A gateway's uplink is held to the gateway limits where they are set, else to the device ones.
    if (device) s.limiters = new SessionLimiters(kind === 'gateway' && hasAny(this.ctx.opts.gatewayRateLimits) ? this.ctx.opts.gatewayRateLimits : this.ctx.opts.rateLimits, Date.now());
    info.conn.sessionPresent = !info.clean;
    const old = this.ctx.sessions.add(s);
    if (old) {
      this.ctx.emit({ type: 'evicted', device: old.label });
      this.forget(old);
      old.client.close();
    }
    this.ctx.emit({ type: 'connected', device: s.label, kind, clientId: info.clientId });
    cb(null, true);
  }

  private onPublish(client: Client | null, packet: PublishPacket, cb: (error?: Error | null) => void): void {
    const s = this.ctx.sessions.ofClient(client);
    if (!s || s.closed) return cb(new Error('no session'));
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    this.ctx.emit({ type: 'uplink', device: s.label, topic: packet.topic, payload: payload.toString('utf8') });
    if (s.limiters) {
      // ThingsBoard: a message over a rate limit is not acknowledged and the session is closed.
      const points = packet.topic === T.telemetry || packet.topic === T.gwTelemetry ? telemetryDataPoints(payload, packet.topic === T.gwTelemetry) : undefined;
      const over = s.limiters.admit(points, Date.now());
      if (over) {
        this.ctx.emit({ type: 'violation', device: s.label, reason: `${packet.topic}: over the ${over} rate limit ${s.limiters.spec(over)}` });
        return cb(new Error('rate limit ' + over + ' exceeded'));
      }
    }
    let after;
    try {
      if (s.kind === 'provision') after = handleProvisionPublish(this.ctx, s, packet.topic, payload);
      else if (s.device) {
        const gw = s.kind === 'gateway' ? handleGatewayPublish(this.ctx, s, packet.topic, payload) : undefined;
        after = gw === undefined ? handleDevicePublish(this.ctx, s, s.device, packet.topic, payload) : gw;
      }
    } catch (e) {
      // Invalid JSON or wrong shape: ThingsBoard drops the connection (no PUBACK).
      const err = e instanceof ShapeError || e instanceof RegistryError || e instanceof Error ? e : new Error(String(e));
      this.ctx.emit({ type: 'violation', device: s.label, reason: `${packet.topic}: ${err.message}` });
      return cb(err);
    }
    cb(null);
    if (after) after();
  }

  private onSubscribe(client: Client, sub: Subscription, cb: (error: Error | null, subscription?: Subscription | null) => void): void {
    const s = this.ctx.sessions.ofClient(client);
    const allowed = !s ? [] : s.kind === 'provision' ? PROVISION_FILTERS : s.kind === 'gateway' ? GATEWAY_FILTERS : DEVICE_FILTERS;
    if (!s || !allowed.includes(sub.topic)) {
      this.ctx.emit({ type: 'suback', device: s?.label ?? '?', filter: sub.topic, granted: 0x80 });
      return cb(null, null);
    }
    const qos = sub.qos === 0 ? 0 : 1;
    s.subs.set(sub.topic, qos);
    this.ctx.emit({ type: 'suback', device: s.label, filter: sub.topic, granted: qos });
    cb(null, { ...sub, qos });
  }

  private afterSubscribe(subs: Subscription[], client: Client): void {
    const s = this.ctx.sessions.ofClient(client);
    if (!s?.device) return;
    if (subs.some((x) => x.topic === T.rpcRequestPrefix + '+' && (x.qos as number) !== 0x80)) this.ctx.rpc.flush(s.device);
  }
}

function hasAny(limits: RateLimits): boolean {
  return limits.messages !== '' || limits.telemetryMessages !== '' || limits.telemetryDataPoints !== '';
}

/** ThingsBoard speaks QoS 0 and 1: a QoS 2 subscription is granted 1, a QoS 2 publish gets a PUBACK. */
function normalize(packet: MqttPacket): void {
  if (packet.cmd === 'subscribe' && packet.subscriptions) {
    for (const sub of packet.subscriptions) if (sub.qos > 1) sub.qos = 1;
  } else if (packet.cmd === 'publish' && packet.qos === 2) {
    packet.qos = 1;
  }
}
