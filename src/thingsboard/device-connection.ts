import { PrefixLog } from '../platform/log';
import type { Platform } from '../platform/platform';
import type { TlsOptions } from '../platform/socket';
import { MqttSession, type MqttSessionOptions } from '../mqtt/session';
import { connectFields, loadCredentials, saveCredentials, type DeviceCredentials } from './credentials';
import { DeviceClient, type DeviceClientOptions } from './device-client';
import { TbError } from './errors';
import { provision, type ProvisionEndpoint, type ProvisionRequest } from './provisioning';

export interface DeviceConnectionConfig {
  host: string;
  port: number;
  tls?: TlsOptions;
  /** MQTT client id where the credentials name none. Default "tbxs-" plus a random suffix. */
  clientId?: string;
  /** Credentials given by configuration; they win over stored ones. */
  credentials?: DeviceCredentials;
  /** Used when neither configured nor stored credentials exist. */
  provisioning?: ProvisionRequest;
  /** Session tuning: keepalive, caps, backoff. */
  session?: Omit<MqttSessionOptions, 'connector' | 'clock' | 'log' | 'random' | 'codec' | 'host' | 'port' | 'tls' | 'clientId' | 'username' | 'password'>;
  client?: Omit<DeviceClientOptions, 'session' | 'clock' | 'log'>;
}

export interface DeviceConnection {
  session: MqttSession;
  client: DeviceClient;
  credentials: DeviceCredentials;
  /** How the credentials were found. */
  source: 'config' | 'store' | 'provisioned';
  close(): void;
}

/**
 * Finds the device's credentials (configuration, then the Store, then provisioning, whose result
 * is stored so the next start does not provision again), then opens the session and the client.
 */
export async function openDevice(platform: Platform, config: DeviceConnectionConfig): Promise<DeviceConnection> {
  const log = platform.log;
  const endpoint: ProvisionEndpoint = {
    connector: platform.connector,
    clock: platform.clock,
    random: platform.random,
    host: config.host,
    port: config.port,
    tls: config.tls,
  };
  let credentials = config.credentials;
  let source: DeviceConnection['source'] = 'config';
  if (!credentials) {
    credentials = loadCredentials(platform.store);
    source = 'store';
  }
  if (!credentials) {
    if (!config.provisioning) {
      throw new TbError('bad-config', 'no credentials: give a token, MQTT basic credentials or a provision key and secret');
    }
    log.info('thingsboard: no stored credentials, provisioning' + (config.provisioning.deviceName ? ' ' + config.provisioning.deviceName : ''));
    credentials = await provision({ ...endpoint, log: new PrefixLog(log, 'provision'), request: config.provisioning });
    saveCredentials(platform.store, credentials);
    source = 'provisioned';
    log.info('thingsboard: provisioned (' + credentials.type + '), credentials stored');
  }
  const random = platform.random ?? Math.random;
  const fields = connectFields(credentials, config.clientId ?? 'tbxs-' + Math.floor(random() * 0xffffffff).toString(16));
  const session = new MqttSession({
    ...config.session,
    ...endpoint,
    log: new PrefixLog(log, 'mqtt'),
    ...fields,
  });
  const client = new DeviceClient({ ...config.client, session, clock: platform.clock, log: new PrefixLog(log, 'thingsboard') });
  // The first connection starts from a promise job of its own, not under this async function
  // and its callers (a device's XS stack is small, see MqttSession); closed before: no connection.
  Promise.resolve().then(() => session.start());
  return {
    session,
    client,
    credentials,
    source,
    close() {
      client.close();
      session.close();
    },
  };
}
