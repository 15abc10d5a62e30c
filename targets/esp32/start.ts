/// <reference path="../../node_modules/@moddable/typings/time.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/Resource.d.ts" />
/**
 * What the ESP32 firmware and its desktop-simulator build share: reads mc/config, builds the
 * Platform (Timer clock, Preference store, ECMA-419 TCP/TLS connector), waits for the network,
 * opens the ThingsBoard device and runs the firmware. The entry modules (main.ts for the ESP32,
 * main-simulator.ts) only add their IO and their network extras.
 *
 * Preloaded: only imports and definitions at top level; start() runs at boot.
 */
import './globals';
import config from 'mc/config';
import Preference from 'preference';
import Resource from 'Resource';
import Time from 'time';
import Timer from 'timer';
import TCP from 'embedded:io/socket/tcp';
import TLS from 'embedded:io/socket/tcp/tls';
import type { BoardDescription, IoFactory } from '../../hal/types';
import { Firmware } from '../../src/app/firmware';
import { describeError } from '../../src/platform/errors';
import type { Log } from '../../src/platform/log';
import type { Platform } from '../../src/platform/platform';
import type { TlsOptions } from '../../src/platform/socket';
import type { UpdateTarget } from '../../src/platform/update-target';
import { openDevice } from '../../src/thingsboard/device-connection';
import { selectBoard, withBatteryCalibration } from './boards';
import { EpochClock } from './clock';
import { readConfig, type FirmwareConfig } from './config';
import { installTextGlobals } from './globals';
import { resolve, whenNetworkUp } from './network';
import { PreferenceStore } from './preference-store';
import { Ecma419Connector, type Ecma419StreamClass } from './socket';
import { TimeAwareDevice } from './time-aware-device';

/** current_fw_title; the version comes from the manifest's config (fwVersion). */
export const FIRMWARE_NAME = 'tbxs';

/** What an entry module adds. */
export interface Target {
  name: 'esp32' | 'simulator';
  openIo(board: BoardDescription, clock: EpochClock): IoFactory;
  /** Called once with the settings, before waiting for the network (Wi-Fi watch, SNTP, ...). */
  prepare?(settings: FirmwareConfig, clock: EpochClock, log: Log): void;
  /** Where firmware updates go; absent: no OTA (the simulator has no ota module). */
  updateTarget?(settings: FirmwareConfig): UpdateTarget;
}

// The prefix is a const of the closure's own scope: a preloaded closure that captures a
// parameter (or a module let) is an alias of RAM on the device (xsl: no const).
const traceLevel = (level: string) => {
  const prefix = level + ': ';
  return (message: string) => trace(prefix + message + '\n');
};

/** trace() lines with a level; Moddable shows them in xsbug or on the serial console. */
export const traceLog: Log = Object.freeze({
  debug: traceLevel('debug'),
  info: traceLevel('info'),
  warn: traceLevel('warn'),
  error: traceLevel('error'),
});

export function start(target: Target): void {
  installTextGlobals();
  const log = traceLog;
  let settings: FirmwareConfig;
  let board: BoardDescription;
  try {
    settings = readConfig(config as Record<string, unknown>);
    board = withBatteryCalibration(selectBoard(settings.board), settings.batteryScale, settings.batteryOffset);
  } catch (error) {
    log.error('tbxs: ' + describeError(error));
    return;
  }
  log.info(FIRMWARE_NAME + ' ' + settings.firmwareVersion + ' on ' + target.name + ', board ' + board.name);

  const clock = new EpochClock(
    {
      wallNow: () => Date.now(),
      setTimer: (callback, ms) => Timer.set(callback, ms),
      clearTimer: (timer) => Timer.clear(timer as Timer),
      setSystemTime: (epochMs) => Time.set(Math.floor(epochMs / 1000)),
    },
    log,
  );
  const secure: Record<string, unknown> = {};
  if (!settings.tlsVerify) secure.verify = false;
  if (settings.tlsCa) {
    try {
      secure.certificate = new Resource(settings.tlsCa).slice(0);
    } catch {
      log.error('tbxs: no resource ' + settings.tlsCa + ' (add the DER file to the manifest "resources")');
      return;
    }
  }
  const platform: Platform = {
    clock,
    connector: new Ecma419Connector({ TCP: TCP as unknown as Ecma419StreamClass, TLS: TLS as unknown as Ecma419StreamClass, resolve, clock, secure }),
    store: new PreferenceStore(Preference, 'tbxs'),
    log,
  };
  let io: IoFactory;
  try {
    io = target.openIo(board, clock);
  } catch (error) {
    log.error('tbxs: ' + describeError(error));
    return;
  }
  if (!clock.epochKnown) log.warn('time: unknown until SNTP answers; telemetry goes without "ts"');
  target.prepare?.(settings, clock, log);

  whenNetworkUp(log, (ip) => {
    log.info('network: IP ' + ip);
    // Moddable's TLS checks certificate dates against the system time: wait for the real time.
    const needTime = settings.tls && settings.tlsVerify;
    if (needTime && !clock.epochKnown) log.info('time: waiting for SNTP before the TLS connection');
    const run = () => {
      connect(platform, clock, settings, io, board, target).catch((error: unknown) => log.error('tbxs: ' + describeError(error)));
    };
    // From a promise job: here the stack still holds main() and start() (XS, a 384-slot stack).
    if (needTime) clock.onEpochKnown(run);
    else Promise.resolve().then(run);
  });
}

async function connect(platform: Platform, clock: EpochClock, settings: FirmwareConfig, io: IoFactory, board: BoardDescription, target: Target): Promise<void> {
  const log = platform.log;
  const tls: TlsOptions | undefined = settings.tls ? { serverName: settings.host } : undefined;
  log.info('thingsboard: connecting to ' + settings.host + ':' + settings.port + (tls ? ' over TLS' : ''));
  const connection = await openDevice(platform, {
    host: settings.host,
    port: settings.port,
    tls,
    clientId: settings.clientId,
    credentials: settings.credentials,
    provisioning: settings.provisioning,
    // DNS, TCP and a TLS handshake take longer on an ESP32 than on a laptop.
    session: { ...(tls ? { connectTimeoutMs: 30_000, connackTimeoutMs: 20_000 } : { connectTimeoutMs: 15_000 }), reconnect: settings.reconnect },
  });
  log.info('thingsboard: credentials from ' + connection.source);
  const firmware = new Firmware({
    device: new TimeAwareDevice(connection.client, clock),
    io,
    board,
    clock,
    store: platform.store,
    log,
    info: { name: FIRMWARE_NAME, version: settings.firmwareVersion },
    settings: settings.telemetryMs === undefined ? undefined : { telemetryIntervalMs: settings.telemetryMs },
    onConnect: (listener) => connection.session.events.on('connect', listener),
    persistOutbox: settings.persistOutbox && { ...settings.persistOutbox, toEpoch: (t: number) => clock.toEpoch(t) },
    ota: settings.ota && target.updateTarget ? { session: connection.session, target: target.updateTarget(settings), chunkBytes: settings.otaChunkBytes } : undefined,
  });
  firmware.start();
}
