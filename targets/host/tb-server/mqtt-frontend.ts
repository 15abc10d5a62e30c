/**
 * The MQTT side: a TCP listener speaking MQTT 3.1, 3.1.1 and 5 (mqtt-packet parses and generates
 * all three) that maps each connection onto ThingsBoard's device API, as ThingsBoard's own
 * transport does: it is not a broker, nothing published by one client reaches another. Reason
 * codes and refusals follow ThingsBoard's MqttTransportHandler (see README.md here).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { IConnectPacket, IPublishPacket, ISubscribePacket, IUnsubscribePacket, Packet } from 'mqtt-packet';
import { MqttConn } from './conn';
import { UNKNOWN_TOPIC, type AfterAck, type Ctx } from './context';
import { handleDevicePublish } from './device-api';
import { handleGatewayPublish } from './gateway-api';
import { connackFor, refusalFor, type Refusal } from './mqtt-connack';
import { RC, RETURN_CODE } from './mqtt-reason-codes';
import { handleProvisionPublish } from './provisioning';
import { SessionLimiters } from './rate-limits';
import type { Session, SessionKind } from './session';
import { DEVICE_FILTERS, GATEWAY_FILTERS, GATEWAY_TOPIC_PREFIX, PROVISION_FILTERS, T } from './topics';
import type { RateLimits } from './types';
import { ShapeError, telemetryDataPoints } from './values';

/** Downlink messages one session may have waiting behind its in-flight cap. */
const DOWNLINK_BACKLOG = 1000;
/** Topic aliases a client may set (CONNACK Topic Alias Maximum); each costs one map entry. */
export const TOPIC_ALIAS_MAX = 16;
/** A connection that sends no CONNECT in this time is closed. */
const CONNECT_TIMEOUT_MS = 30_000;

/** One connection before and after its CONNECT was accepted. */
interface Link {
  readonly conn: MqttConn;
  session?: Session;
  connectTimer?: NodeJS.Timeout;
}

export class MqttFrontend {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private assignedSeq = 0;
  port = 0;

  constructor(private readonly ctx: Ctx) {}

  get listening(): boolean {
    return this.server !== undefined;
  }

  async start(port: number, host: string): Promise<number> {
    if (this.server) return this.port;
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    return this.port;
  }

  /** Stops listening and drops every connection; the registry and pending RPCs stay. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const link of [...this.links]) {
      link.conn.close(undefined, true);
      this.forget(link);
    }
    await closed;
  }

  /**
   * Publishes one message to one session. QoS 1 beyond the session's window unacknowledged waits
   * for a PUBACK (bounded: past DOWNLINK_BACKLOG the message is dropped, logged).
   */
  publish(s: Session, topic: string, payload: Buffer, qos: number): void {
    if (qos !== 0 && s.downInflight >= s.downWindow) {
      if (s.downQueue.length >= DOWNLINK_BACKLOG) {
        this.ctx.emit({ type: 'violation', device: s.label, reason: `downlink to ${topic} dropped: ${DOWNLINK_BACKLOG} messages wait behind ${s.downInflight} unacknowledged`, kept: true });
        return;
      }
      s.downQueue.push({ topic, payload });
      return;
    }
    const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos: qos === 0 ? 0 : 1, retain: false, dup: false };
    if (qos !== 0) packet.messageId = s.conn.messageId();
    if (!s.conn.send(packet)) {
      if (!s.conn.closed) this.ctx.emit({ type: 'violation', device: s.label, reason: `downlink to ${topic} dropped: larger than the client's Maximum Packet Size ${s.conn.clientMaxPacket}`, kept: true });
      return;
    }
    if (qos !== 0) s.downInflight++;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    // ThingsBoard drops idle sessions after a time of its own rather than by the keepalive.
    socket.setTimeout(this.ctx.opts.idleTimeoutMs, () => socket.destroy());
    const link: Link = {
      conn: new MqttConn(socket, this.ctx.opts.maxPayloadBytes, {
        packet: (p) => this.onPacket(link, p),
        violation: (reason) => this.ctx.emit({ type: 'violation', device: link.session?.label ?? link.conn.remote, reason }),
        malformed: (reason, level) => this.onMalformed(link, reason, level),
        close: () => this.forget(link),
      }),
    };
    link.connectTimer = setTimeout(() => {
      this.ctx.emit({ type: 'violation', device: link.conn.remote, reason: `no CONNECT within ${CONNECT_TIMEOUT_MS} ms` });
      link.conn.close();
    }, CONNECT_TIMEOUT_MS);
    this.links.add(link);
  }

  private forget(link: Link): void {
    if (link.connectTimer) clearTimeout(link.connectTimer);
    link.connectTimer = undefined;
    this.links.delete(link);
    const s = link.session;
    if (!s || s.closed) return;
    const children = this.ctx.sessions.remove(s);
    for (const child of children) this.ctx.emit({ type: 'child', gateway: s.label, device: child.name, connected: false });
    this.ctx.emit({ type: 'disconnected', device: s.label, kind: s.kind });
  }

  private onMalformed(link: Link, reason: string, level: number | undefined): void {
    if (!link.session && level !== undefined && level !== 3 && level !== 4 && level !== 5) {
      // MQTT-3.1.2-2: CONNACK 1 (unacceptable protocol level), then close. Sent in 3.1.1 form: a
      // client of an unknown level is read best by the oldest answer.
      this.refuse(link, { returnCode: RETURN_CODE.unacceptableProtocolVersion, reasonCode: RC.unsupportedProtocolVersion, reason: `protocol level ${level} is not 3 (MQTT 3.1), 4 (3.1.1) or 5` }, '', undefined);
      return;
    }
    this.ctx.emit({ type: 'violation', device: link.session?.label ?? link.conn.remote, reason: `malformed packet: ${reason}` });
    link.conn.close(RC.malformed);
  }

  private onPacket(link: Link, p: Packet): void {
    const s = link.session;
    if (!s) {
      // MQTT-3.1.0-1: the first packet is a CONNECT.
      if (p.cmd === 'connect') return this.onConnect(link, p);
      this.ctx.emit({ type: 'violation', device: link.conn.remote, reason: `${p.cmd} before CONNECT` });
      return link.conn.close(RC.protocolError);
    }
    switch (p.cmd) {
      case 'publish':
        return this.onPublish(s, p);
      case 'subscribe':
        return this.onSubscribe(s, p);
      case 'unsubscribe':
        return this.onUnsubscribe(s, p);
      case 'puback':
        return this.onPuback(s);
      case 'pingreq':
        s.conn.send({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        return s.conn.close();
      case 'connect':
        // MQTT-3.1.0-2: a second CONNECT is a protocol violation.
        return this.protocolViolation(s, 'second CONNECT');
      default:
        // QoS 2 handshakes and AUTH are not part of ThingsBoard's API: ignored, as ThingsBoard does.
        return;
    }
  }

  private onConnect(link: Link, p: IConnectPacket): void {
    if (link.connectTimer) clearTimeout(link.connectTimer);
    link.connectTimer = undefined;
    const conn = link.conn;
    const level = p.protocolVersion ?? 4;
    // The parsed level is the one to answer in (the first bytes may not have held it).
    conn.protocolVersion = level;
    const props = p.properties ?? {};
    if (level === 5) conn.clientMaxPacket = props.maximumPacketSize ?? 0;
    const username = p.username;
    const password = p.password ? p.password.toString('utf8') : undefined;
    let clientId = p.clientId;
    let assigned: string | undefined;
    if (clientId === '' && level === 5) clientId = assigned = `tbxs-${++this.assignedSeq}`;

    let kind: SessionKind;
    let device;
    if (username === 'provision' || clientId === 'provision') {
      kind = 'provision';
    } else {
      device = this.ctx.registry.findBasic(clientId, username, password) ?? (username ? this.ctx.registry.byAccessToken(username) : undefined);
      if (!device) return this.refuse(link, refusalFor(clientId, username, password), clientId, username);
      kind = device.gateway ? 'gateway' : 'device';
    }
    const s: Session = {
      seq: this.ctx.sessions.nextSeq(),
      kind,
      conn,
      clientId,
      protocolVersion: level,
      label: device ? device.name : `provision(${clientId})`,
      subs: new Map(),
      children: new Map(),
      closed: false,
      downInflight: 0,
      downWindow: Math.min(this.ctx.opts.maxInflightMessages, level === 5 ? props.receiveMaximum ?? 65_535 : 65_535),
      downQueue: [],
      fwChunkSizes: new Map(),
      ...(device ? { device } : {}),
    };
    // A gateway's uplink is held to the gateway limits where they are set, else to the device ones.
    if (device) s.limiters = new SessionLimiters(kind === 'gateway' && hasAny(this.ctx.opts.gatewayRateLimits) ? this.ctx.opts.gatewayRateLimits : this.ctx.opts.rateLimits, Date.now());
    link.session = s;
    const old = this.ctx.sessions.add(s);
    if (old) {
      this.ctx.emit({ type: 'evicted', device: old.label, clientId: old.clientId, by: clientId });
      old.conn.close(RC.sessionTakenOver);
    }
    // ThingsBoard keeps no session but answers sessionPresent = !cleanSession (clean start at 5).
    conn.send(connackFor(level, !p.clean, this.ctx.opts, TOPIC_ALIAS_MAX, props.sessionExpiryInterval, assigned));
    this.ctx.emit({ type: 'connected', device: s.label, kind, clientId, protocolVersion: level });
  }

  private refuse(link: Link, r: Refusal, clientId: string, username: string | undefined): void {
    const conn = link.conn;
    const level = conn.protocolVersion;
    const code = level === 5 ? r.reasonCode : r.returnCode;
    this.ctx.emit({ type: 'rejected', returnCode: code, protocolVersion: level, reason: r.reason, clientId, remote: conn.remote, ...(username !== undefined ? { username } : {}) });
    conn.send(level === 5 ? { cmd: 'connack', sessionPresent: false, reasonCode: code, properties: { reasonString: r.reason } } : { cmd: 'connack', sessionPresent: false, returnCode: code });
    conn.close();
  }

  private onPublish(s: Session, packet: IPublishPacket): void {
    const conn = s.conn;
    let topic = packet.topic;
    if (s.protocolVersion === 5) {
      const resolved = conn.resolveTopic(topic, packet.properties?.topicAlias, TOPIC_ALIAS_MAX);
      if ('error' in resolved) {
        this.ctx.emit({ type: 'violation', device: s.label, reason: resolved.error });
        return conn.close(resolved.reasonCode);
      }
      topic = resolved.topic;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // QoS 2 is taken as QoS 1 (ThingsBoard speaks 0 and 1): it gets a PUBACK.
    const id = packet.qos === 0 ? undefined : packet.messageId;
    const ack = (reasonCode: number): void => {
      if (id !== undefined) conn.send({ cmd: 'puback', messageId: id, ...(s.protocolVersion === 5 ? { reasonCode } : {}) });
    };
    this.ctx.emit({ type: 'uplink', device: s.label, topic, payload: payload.toString('utf8') });
    if (s.limiters) {
      // ThingsBoard: a message over a rate limit is not acknowledged and the session is closed.
      const points = topic === T.telemetry || topic === T.gwTelemetry ? telemetryDataPoints(payload, topic === T.gwTelemetry) : undefined;
      const over = s.limiters.admit(points, Date.now());
      if (over) {
        this.ctx.emit({ type: 'violation', device: s.label, reason: `${topic}: over the ${over} rate limit ${s.limiters.spec(over)}` });
        return conn.close(RC.implementationSpecific);
      }
    }
    if (s.kind === 'provision' && topic !== T.provisionRequest) {
      this.ctx.emit({ type: 'violation', device: s.label, reason: `provisioning session may only publish ${T.provisionRequest}, not ${topic}` });
      ack(RC.topicNameInvalid);
      return conn.close(RC.topicNameInvalid);
    }
    let after: AfterAck;
    try {
      after = this.dispatch(s, topic, payload);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      // A payload ThingsBoard cannot take: at MQTT 5 a PUBACK 0x99 and the session stays; before
      // 5 (and for QoS 0, which has no PUBACK) the connection is closed. Anything else: 0x83, closed.
      const kept = err instanceof ShapeError && s.protocolVersion === 5 && id !== undefined;
      this.ctx.emit({ type: 'violation', device: s.label, reason: `${topic}: ${err.message}${kept ? ' (PUBACK 0x99)' : ''}`, ...(kept ? { kept } : {}) });
      if (kept) return ack(RC.payloadFormatInvalid);
      if (!(err instanceof ShapeError)) {
        ack(RC.implementationSpecific);
        return conn.close(RC.implementationSpecific);
      }
      return conn.close(RC.payloadFormatInvalid);
    }
    ack(after === UNKNOWN_TOPIC ? RC.topicNameInvalid : RC.success);
    if (typeof after === 'function') after();
  }

  private dispatch(s: Session, topic: string, payload: Buffer): AfterAck {
    if (s.kind === 'provision') return handleProvisionPublish(this.ctx, s, topic, payload);
    if (!s.device) return UNKNOWN_TOPIC;
    if (s.kind === 'gateway' && topic.startsWith(GATEWAY_TOPIC_PREFIX)) return handleGatewayPublish(this.ctx, s, topic, payload);
    return handleDevicePublish(this.ctx, s, s.device, topic, payload);
  }

  private onSubscribe(s: Session, packet: ISubscribePacket): void {
    // MQTT-3.8.3-3: at least one filter; an empty SUBSCRIBE is a protocol violation.
    if (packet.subscriptions.length === 0) return this.protocolViolation(s, 'SUBSCRIBE without a topic filter');
    const allowed = s.kind === 'provision' ? PROVISION_FILTERS : s.kind === 'gateway' ? GATEWAY_FILTERS : DEVICE_FILTERS;
    // ThingsBoard: 0x80 (Failure) before MQTT 5, 0x8F (Topic Filter invalid) at 5.
    const refused = s.protocolVersion === 5 ? RC.topicFilterInvalid : RC.unspecified;
    const granted = packet.subscriptions.map((sub) => {
      if (!allowed.includes(sub.topic)) {
        this.ctx.emit({ type: 'suback', device: s.label, filter: sub.topic, granted: refused });
        return refused;
      }
      const qos = sub.qos === 0 ? 0 : 1;
      s.subs.set(sub.topic, qos);
      this.ctx.emit({ type: 'suback', device: s.label, filter: sub.topic, granted: qos });
      return qos;
    });
    s.conn.send({ cmd: 'suback', messageId: packet.messageId, granted });
    if (s.device && packet.subscriptions.some((x, i) => x.topic === T.rpcRequestPrefix + '+' && granted[i] !== refused)) this.ctx.rpc.flush(s.device);
  }

  private onUnsubscribe(s: Session, packet: IUnsubscribePacket): void {
    // MQTT-3.10.3-2: at least one filter.
    if (packet.unsubscriptions.length === 0) return this.protocolViolation(s, 'UNSUBSCRIBE without a topic filter');
    const codes = packet.unsubscriptions.map((t) => (s.subs.delete(t) ? RC.success : RC.noSubscriptionExisted));
    s.conn.send({ cmd: 'unsuback', messageId: packet.messageId, ...(s.protocolVersion === 5 ? { granted: codes } : {}) } as Packet);
  }

  private protocolViolation(s: Session, reason: string): void {
    this.ctx.emit({ type: 'violation', device: s.label, reason });
    s.conn.close(RC.protocolError);
  }

  /** A PUBACK from the device: its slot goes to the next waiting message. */
  private onPuback(s: Session): void {
    if (s.downInflight === 0) return;
    s.downInflight--;
    const next = s.downQueue.shift();
    if (next && !s.closed) this.publish(s, next.topic, next.payload, 1);
  }
}

function hasAny(limits: RateLimits): boolean {
  return limits.messages !== '' || limits.telemetryMessages !== '' || limits.telemetryDataPoints !== '';
}
