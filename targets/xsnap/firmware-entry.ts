/**
 * The firmware as one script for xsnap-worker (bundled by bundle.ts into dist/xsnap/firmware.js):
 * src/ + hal/mock + the bridge platform. The host (xs-device.ts) drives it through
 * `globalThis.handleCommand`; see bridge/protocol.ts for the framing.
 *
 * Nothing native is touched at top level: the bridge and the app are made by the start command.
 */
import { describeError } from '../../src/platform/errors';
import { utf8Decode, utf8Encode } from '../../src/platform/utf8';
import type { DeviceConnectionConfig } from '../../src/thingsboard/device-connection';
import type { XsApp, XsAppFactory } from './apps/app';
import { startFirmwareApp } from './apps/firmware-app';
import { startGatewayApp } from './apps/gateway-app';
import { startProbeDevice } from './apps/probe-device';
import { CMD, REC, type StartMessage } from './bridge/protocol';
import { Bridge } from './bridge/xs-platform';

const APPS: Readonly<{ [name: string]: XsAppFactory }> = Object.freeze({
  firmware: startFirmwareApp,
  gateway: startGatewayApp,
  probe: startProbeDevice,
});

/** Module state in one object (objects in a module const may be written after a preload). */
const state: { bridge: Bridge | undefined; app: XsApp | undefined; starting: boolean } = {
  bridge: undefined,
  app: undefined,
  starting: false,
};

const EMPTY = { result: new ArrayBuffer(0) };

function start(payload: Uint8Array): void {
  if (state.bridge) throw new Error('the firmware is already started');
  const message = JSON.parse(utf8Decode(payload)) as StartMessage;
  const config = message.config as DeviceConnectionConfig;
  const bridge = new Bridge({
    store: message.store ?? {},
    seed: message.seed,
    logLevel: message.logLevel ?? 'info',
    tls: config.tls,
    resolved: message.resolved,
    ota: message.ota,
  });
  state.bridge = bridge;
  const name = message.app ?? 'firmware';
  const factory = APPS[name];
  const fatal = (text: string) => bridge.record(REC.fatal, 0, utf8Encode(text));
  if (!factory) {
    fatal('unknown app "' + name + '" (known: ' + Object.keys(APPS).join(', ') + ')');
    return;
  }
  state.starting = true;
  // The app starts in a promise job, as the device's start() runs connect(): not under this
  // command's frames on the XS stack.
  Promise.resolve()
    .then(() => factory(bridge.platform, config, message.appOptions, message.name ?? 'tbxs-xs'))
    .then(
    (app) => {
      state.starting = false;
      if (state.bridge !== bridge) app.stop(); // stopped while starting
      else state.app = app;
    },
    (error: unknown) => {
      state.starting = false;
      fatal('the firmware did not start: ' + describeError(error));
    },
  );
}

/**
 * The host's entry. Socket and timer commands go straight to the bridge with as few frames as can
 * be: on the device their callbacks have only a native caller under them on the XS stack.
 */
function handleCommand(buffer: ArrayBuffer): { readonly result: ArrayBuffer } {
  const bytes = new Uint8Array(buffer);
  const bridge = state.bridge;
  if (bridge && bridge.dispatch(bytes[0], (bytes[1] << 8) | bytes[2], bytes.subarray(3))) return bridge.reply;
  return control(bytes);
}

/** start, status, stop, OTA results. */
function control(bytes: Uint8Array): { readonly result: ArrayBuffer } {
  const op = bytes[0];
  const payload = bytes.subarray(3);
  if (op === CMD.start) {
    start(payload);
    return (state.bridge as Bridge).reply;
  }
  const bridge = state.bridge;
  if (!bridge) return EMPTY; // not started (or stopped): nothing to do
  if (op === CMD.status) {
    const app = state.app;
    const status = {
      started: app !== undefined,
      starting: state.starting,
      timers: bridge.clock.pending,
      sockets: bridge.openSockets,
      app: app ? app.status() : null,
    };
    bridge.record(REC.status, 0, utf8Encode(JSON.stringify(status)));
  } else if (op === CMD.otaResult) {
    const target = bridge.updateTarget;
    if (target) target.settle((bytes[1] << 8) | bytes[2], utf8Decode(payload));
  } else if (op === CMD.stop) {
    const app = state.app;
    state.app = undefined;
    state.bridge = undefined;
    if (app) {
      try {
        app.stop();
      } catch (error) {
        bridge.log.error('stop failed: ' + describeError(error));
      }
    }
  } else {
    bridge.log.error('unknown bridge command ' + op);
  }
  return bridge.reply;
}

(globalThis as unknown as { handleCommand: typeof handleCommand }).handleCommand = handleCommand;
