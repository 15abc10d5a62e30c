/**
 * A real Mosquitto broker per test file, on 127.0.0.1 and a free port, plus a topic recorder
 * (MQTT.js subscriber) that counts what the broker delivered and survives broker restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect as mqttConnect, type IClientOptions } from 'mqtt';
import { freePort } from './ports';

const HOST = '127.0.0.1';

export interface MosquittoOptions {
  /** Port to listen on; default a free one. */
  port?: number;
  /** Extra lines appended to the generated mosquitto.conf. */
  extraConfig?: string[];
  /** How long start/restart may take before failing with the log tail. Default 5000 ms. */
  startTimeoutMs?: number;
}

export interface MosquittoHandle {
  readonly host: string;
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  /** Temp dir holding mosquitto.conf and mosquitto.log (removed by stop()). */
  readonly dir: string;
  /** Pid of the current broker process, undefined while it is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Sends a signal (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the broker again on the same port (after kill(); stops it first if it runs). */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 3 s), then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Last lines of the broker log and of its stderr. */
  logTail(lines?: number): string;
}

/** Absolute path of the mosquitto binary (PATH, then the usual sbin dirs); throws if absent. */
export function findMosquitto(): string {
  const dirs = [
    ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
    '/opt/homebrew/sbin',
  ];
  for (const dir of dirs) {
    const candidate = join(dir, 'mosquitto');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error('mosquitto not found on PATH or in /usr/sbin: install it with `apt-get install mosquitto`');
}

// Brokers still running when the test process exits are killed, so none outlive a crashed run.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tcpProbe(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: HOST, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function tail(text: string, lines: number): string {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all.slice(-lines).join('\n');
}

function writeConfig(dir: string, port: number, extra: string[]): string {
  const lines = [
    `listener ${port} ${HOST}`,
    'allow_anonymous true',
    'persistence false',
    // Unlimited in-flight QoS 1/2 per client, bounded queue for offline clean:false sessions.
    'max_inflight_messages 0',
    'max_queued_messages 10000',
    `log_dest file ${join(dir, 'mosquitto.log')}`,
    'log_type all',
    'connection_messages true',
    'log_timestamp true',
  ];
  // As root, mosquitto 2 drops to user "mosquitto", who cannot write our 0700 temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  lines.push(...extra);
  const path = join(dir, 'mosquitto.conf');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Starts mosquitto on 127.0.0.1 and resolves once it accepts TCP connections. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const bin = findMosquitto();
  const dir = mkdtempSync(join(tmpdir(), 'tbxs-mosquitto-'));
  const logPath = join(dir, 'mosquitto.log');
  const startTimeoutMs = opts.startTimeoutMs ?? 5000;
  let port = opts.port ?? (await freePort());
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  let stopped = false;
  let savedLog = '';

  const readLog = (): string => {
    if (stopped) return savedLog;
    return existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  };
  const logTail = (lines = 40): string => {
    const parts = [`--- mosquitto log (${logPath}) ---`, tail(readLog(), lines)];
    if (stderr.trim()) parts.push('--- stderr ---', tail(stderr, lines));
    return parts.join('\n');
  };

  /** One spawn attempt: 'ok', or 'in-use' if the port was taken; throws on other failures. */
  const launch = async (deadline: number): Promise<'ok' | 'in-use'> => {
    const conf = writeConfig(dir, port, opts.extraConfig ?? []);
    const logOffset = readLog().length;
    const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(proc);
    child = proc;
    let hasExited = false;
    let exitInfo = '';
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        hasExited = true;
        exitInfo = `code ${code}, signal ${signal}`;
        if (child === proc) child = null;
        resolve();
      });
    });
    proc.once('error', (err) => {
      stderr += `spawn error: ${err.message}\n`;
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      stderr = (stderr + s).slice(-20_000);
    });
    for (;;) {
      if (hasExited) {
        const fresh = readLog().slice(logOffset) + stderr;
        if (/address already in use/i.test(fresh)) return 'in-use';
        throw new Error(`mosquitto exited during start on port ${port} (${exitInfo})\n${logTail()}`);
      }
      // Our process said it runs and something answers on the port: that is us, not a squatter.
      if (/ running/.test(readLog().slice(logOffset)) && (await tcpProbe(port, 250))) return 'ok';
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        const why = bindFailures > 0 ? ` (address in use on ${bindFailures} earlier attempt(s))` : '';
        throw new Error(`mosquitto did not accept connections on ${HOST}:${port} within ${startTimeoutMs} ms${why}\n${logTail()}`);
      }
      await sleep(20);
    }
  };

  let bindFailures = 0;
  const startLoop = async (samePort: boolean): Promise<void> => {
    const deadline = Date.now() + startTimeoutMs;
    bindFailures = 0;
    for (;;) {
      const result = await launch(deadline);
      if (result === 'ok') return;
      bindFailures++;
      if (Date.now() > deadline) {
        throw new Error(`mosquitto could not bind ${HOST}:${port}: address in use\n${logTail()}`);
      }
      if (samePort) await sleep(100); // TIME_WAIT or a slow exit: retry the same port
      else port = await freePort();
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const proc = child;
    if (!proc) return;
    proc.kill(signal);
    await exited;
  };

  const handle: MosquittoHandle = {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `mqtt://${HOST}:${port}`;
    },
    dir,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== null;
    },
    kill,
    async restart() {
      if (stopped) throw new Error('mosquitto handle already stopped');
      await kill('SIGKILL');
      await startLoop(true);
    },
    async stop() {
      if (stopped) return;
      const proc = child;
      if (proc) {
        const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        proc.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      }
      savedLog = readLog();
      stopped = true;
      rmSync(dir, { recursive: true, force: true });
    },
    logTail,
  };

  try {
    await startLoop(opts.port !== undefined);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

export interface RecordedMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
}

export interface RecordTopicOptions {
  host?: string;
  /** Subscription QoS; default 1. */
  qos?: 0 | 1 | 2;
  /** Default a fixed random id per recorder, so a clean:false session can be resumed. */
  clientId?: string;
  /** Default false: a live broker keeps queueing for the recorder across a short disconnect. */
  clean?: boolean;
  /** Reconnect period while the broker is down; default 100 ms. */
  reconnectPeriodMs?: number;
  /** How long recordTopic() waits for the first SUBACK; default 5000 ms. */
  timeoutMs?: number;
}

export interface TopicRecorder {
  /** Every message received, in arrival order (duplicates included). */
  readonly messages: RecordedMessage[];
  /** CONNACKs received (1 after start, +1 per reconnect). */
  readonly connects: number;
  /** SUBACKs received with the subscription granted (one per connect). */
  readonly subscriptions: number;
  /** Payloads decoded as UTF-8. */
  payloads(): string[];
  /** Resolves with all messages once at least `count` arrived; rejects after timeoutMs (5000). */
  waitForMessages(count: number, timeoutMs?: number): Promise<RecordedMessage[]>;
  /** Resolves once at least `count` SUBACKs arrived in total (e.g. 2 after one broker restart). */
  waitForSubscriptions(count: number, timeoutMs?: number): Promise<void>;
  /** Forgets the recorded messages. */
  clear(): void;
  /** Unsubscribes if connected (so no session keeps queueing) and disconnects. */
  close(): Promise<void>;
}

async function waitUntil(what: () => string | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = what();
    if (pending === null) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${pending}`);
    await sleep(10);
  }
}

/**
 * Subscribes to `filter` on the broker at 127.0.0.1:port and records what arrives. Resubscribes on
 * every connect, because a Mosquitto without persistence forgets sessions when it is killed.
 * Resolves after the first subscription is granted.
 */
export async function recordTopic(port: number, filter: string, opts: RecordTopicOptions = {}): Promise<TopicRecorder> {
  const qos = opts.qos ?? 1;
  const messages: RecordedMessage[] = [];
  let connects = 0;
  let subscriptions = 0;
  let lastError = '';
  let closed = false;
  const clientOptions: IClientOptions = {
    host: opts.host ?? HOST,
    port,
    protocolVersion: 4,
    clientId: opts.clientId ?? `tbxs-rec-${Math.random().toString(16).slice(2, 10)}`,
    clean: opts.clean ?? false,
    reconnectPeriod: opts.reconnectPeriodMs ?? 100,
    connectTimeout: 2000,
    keepalive: 10,
    resubscribe: false,
  };
  const client = mqttConnect(clientOptions);
  client.on('error', (err) => {
    lastError = err.message;
  });
  client.on('connect', () => {
    connects++;
    client.subscribe(filter, { qos }, (err, granted) => {
      if (err) {
        lastError = err.message;
        return;
      }
      if (granted?.every((g) => g.qos !== 128)) subscriptions++;
      else lastError = `subscription to ${filter} refused`;
    });
  });
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain, dup: packet.dup });
  });

  const recorder: TopicRecorder = {
    messages,
    get connects() {
      return connects;
    },
    get subscriptions() {
      return subscriptions;
    },
    payloads: () => messages.map((m) => m.payload.toString('utf8')),
    async waitForMessages(count, timeoutMs = 5000) {
      await waitUntil(
        () => (messages.length >= count ? null : `${messages.length} of ${count} messages on ${filter}`),
        timeoutMs,
      );
      return messages;
    },
    async waitForSubscriptions(count, timeoutMs = 5000) {
      await waitUntil(
        () =>
          subscriptions >= count
            ? null
            : `${subscriptions} of ${count} subscriptions to ${filter} (connects ${connects}${lastError ? `, last error: ${lastError}` : ''})`,
        timeoutMs,
      );
    },
    clear() {
      messages.length = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (client.connected) {
        await Promise.race([client.unsubscribeAsync(filter).catch(() => undefined), sleep(500)]);
      }
      await client.endAsync(true);
    },
  };
  try {
    await recorder.waitForSubscriptions(1, opts.timeoutMs ?? 5000);
  } catch (err) {
    await recorder.close();
    throw err;
  }
  return recorder;
}
