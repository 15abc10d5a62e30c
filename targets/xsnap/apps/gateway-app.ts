/**
 * A gateway on XS: one MQTT connection (the gateway's token) carrying `children` simulated devices,
 * each running the real firmware (src/app Firmware on the simulated board, as `tbxs gateway` does
 * on Node). Lets the XS tests walk the Gateway API's paths (child RPC, child shared attributes and
 * attribute requests, the re-announcement after a reconnect) on the engine and stack of a device.
 */
import { createSimulatedFirmware, type SimulatedFirmware } from '../../host/simulated-board';
import { describeError } from '../../../src/platform/errors';
import { PrefixLog } from '../../../src/platform/log';
import type { Platform } from '../../../src/platform/platform';
import { ScopedStore, type JsonValue } from '../../../src/platform/store';
import { MqttSession } from '../../../src/mqtt/session';
import { connectFields } from '../../../src/thingsboard/credentials';
import type { DeviceConnectionConfig } from '../../../src/thingsboard/device-connection';
import { GatewayClient } from '../../../src/thingsboard/gateway-client';
import { isObject } from '../../../src/thingsboard/json';
import type { XsApp } from './app';

export interface GatewayAppOptions {
  /** Children, named `<childPrefix>1..N`. Default 2. */
  children?: number;
  childPrefix?: string;
  /** Telemetry period of every child. Default the firmware's. */
  telemetryIntervalMs?: number;
}

class GatewayApp implements XsApp {
  constructor(
    private readonly session: MqttSession,
    private readonly gateway: GatewayClient,
    private readonly sims: SimulatedFirmware[],
    private readonly names: string[],
  ) {}

  stop(): void {
    for (const sim of this.sims) sim.close();
    this.gateway.close();
    this.session.close();
  }

  status(): JsonValue {
    const gpio: { [child: string]: JsonValue } = {};
    this.sims.forEach((sim, i) => (gpio[this.names[i]] = sim.firmware.gpioStatus()));
    return { connected: this.session.connected, children: this.names.slice(), gpio };
  }
}

export async function startGatewayApp(platform: Platform, config: DeviceConnectionConfig, options: unknown, name: string): Promise<XsApp> {
  const o = (isObject(options as JsonValue) ? options : {}) as GatewayAppOptions;
  if (!config.credentials) throw new Error('the gateway needs credentials (its access token)');
  const random = platform.random ?? Math.random;
  const session = new MqttSession({
    ...config.session,
    connector: platform.connector,
    clock: platform.clock,
    random: platform.random,
    log: new PrefixLog(platform.log, 'mqtt'),
    host: config.host,
    port: config.port,
    tls: config.tls,
    ...connectFields(config.credentials, config.clientId ?? 'tbxs-gw-' + Math.floor(random() * 0xffffffff).toString(16)),
  });
  const gateway = new GatewayClient({ session, clock: platform.clock, log: new PrefixLog(platform.log, 'gateway') });
  const sims: SimulatedFirmware[] = [];
  const names: string[] = [];
  try {
    for (let i = 1; i <= (o.children ?? 2); i++) {
      const child = (o.childPrefix ?? 'child-') + i;
      const sim = createSimulatedFirmware({
        device: gateway.connectDevice(child),
        clock: platform.clock,
        store: new ScopedStore(platform.store, child + '/'),
        log: new PrefixLog(platform.log, child),
        name: name + '/' + child,
        settings: o.telemetryIntervalMs ? { telemetryIntervalMs: o.telemetryIntervalMs } : undefined,
        random: platform.random,
        onConnect: (listener) => session.events.on('connect', () => listener()),
      });
      sims.push(sim);
      names.push(child);
      sim.firmware.start();
    }
  } catch (error) {
    for (const sim of sims) sim.close();
    gateway.close();
    session.close();
    throw new Error('gateway start failed: ' + describeError(error));
  }
  // From a job of its own, as openDevice does: a device's XS stack is small (see MqttSession).
  Promise.resolve().then(() => session.start());
  return new GatewayApp(session, gateway, sims, names);
}
