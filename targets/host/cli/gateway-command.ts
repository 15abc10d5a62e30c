import { describeError } from '../../../src/platform/errors';
import { PrefixLog } from '../../../src/platform/log';
import { ScopedStore } from '../../../src/platform/store';
import { MqttSession } from '../../../src/mqtt/session';
import { GatewayClient } from '../../../src/thingsboard/gateway-client';
import { consoleLog } from '../platform/console-log';
import { nodePlatform } from '../platform/node-platform';
import { firmwareInfo } from '../firmware-info';
import { createSimulatedFirmware } from '../simulated-board';
import { parseFlags, UsageError } from './args';
import { RECONNECT_FLAGS, RECONNECT_USAGE, reconnectFromFlags } from './reconnect-options';
import type { BackoffOptions } from '../../../src/mqtt/backoff';

export const GATEWAY_USAGE = 'tbxs gateway --host H --port P --token T --children N [--child-prefix child-] [--state-dir DIR] ' + RECONNECT_USAGE;

export interface GatewayCommandOptions {
  host: string;
  port: number;
  token: string;
  children: number;
  childPrefix: string;
  stateDir: string;
  verbose: boolean;
  /** The session's reconnect backoff; undefined: its defaults. */
  reconnect?: Partial<BackoffOptions>;
}

export function parseGatewayOptions(args: string[]): GatewayCommandOptions {
  const f = parseFlags(args, {
    host: 'string',
    port: 'port',
    token: 'string',
    children: 'count',
    'child-prefix': 'string',
    'state-dir': 'string',
    verbose: 'boolean',
    ...RECONNECT_FLAGS,
  } as const);
  if (!f.host) throw new UsageError('--host is required');
  if (!f.port) throw new UsageError('--port is required (1..65535)');
  if (!f.token) throw new UsageError('--token (the gateway device access token) is required');
  if (f.children === undefined) throw new UsageError('--children N is required (1..' + 4096 + ')');
  if (f.children > 4096) throw new UsageError('--children must be at most 4096');
  return {
    host: f.host,
    port: f.port,
    token: f.token,
    children: f.children,
    childPrefix: f['child-prefix'] ?? 'child-',
    stateDir: f['state-dir'] ?? '.state/gateway-' + f.token.slice(0, 8).replace(/[^A-Za-z0-9._-]/g, '_'),
    verbose: f.verbose === true,
    reconnect: reconnectFromFlags(f),
  };
}

/** A gateway with N simulated children, each running the same firmware loop as `tbxs device`. */
export async function startHostGateway(o: GatewayCommandOptions, log = consoleLog(o.verbose ? 'debug' : 'info')) {
  const platform = nodePlatform(o.stateDir, log);
  const session = new MqttSession({
    connector: platform.connector,
    clock: platform.clock,
    log: new PrefixLog(log, 'mqtt'),
    host: o.host,
    port: o.port,
    clientId: 'tbxs-gateway-' + Math.floor(Math.random() * 0xffffffff).toString(16),
    username: o.token,
    // One connection carries every child: give it room for a cycle of all of them.
    maxQueuedMessages: Math.max(32, o.children * 2),
    maxQueuedBytes: Math.max(16384, o.children * 512),
    maxInflight: 16,
    reconnect: o.reconnect,
  });
  const gateway = new GatewayClient({ session, clock: platform.clock, log: new PrefixLog(log, 'gateway'), maxChildren: Math.max(128, o.children) });
  session.events.on('connect', () => log.info('gateway: connected to ' + o.host + ':' + o.port + ', announcing ' + o.children + ' children'));
  session.events.on('disconnect', (reason) => log.warn('gateway: disconnected: ' + reason.message));
  const sims: ReturnType<typeof createSimulatedFirmware>[] = [];
  for (let i = 1; i <= o.children; i++) {
    const name = o.childPrefix + i;
    const child = gateway.connectDevice(name);
    const sim = createSimulatedFirmware({
      device: child,
      clock: platform.clock,
      store: new ScopedStore(platform.store, name + '/'),
      log: new PrefixLog(log, name),
      ...firmwareInfo(),
      onConnect: (listener: () => void) => session.events.on('connect', listener),
    });
    sim.firmware.start();
    sims.push(sim);
  }
  session.start();
  return {
    session,
    gateway,
    close() {
      for (const s of sims) s.close();
      gateway.close();
      session.close();
    },
  };
}

export async function gatewayCommand(args: string[], until: Promise<void>): Promise<number> {
  const options = parseGatewayOptions(args);
  let running: Awaited<ReturnType<typeof startHostGateway>>;
  try {
    running = await startHostGateway(options);
  } catch (error) {
    process.stderr.write('tbxs gateway: ' + describeError(error) + '\n');
    return 1;
  }
  await until;
  running.close();
  return 0;
}
