import type { BoardDescription } from '../../hal/types';
import { hex2, isOutputPin } from '../../hal/types';
import type { JsonObject } from '../thingsboard/json';

export interface FirmwareInfo {
  name: string;
  version: string;
}

/** Client attribute keys the firmware description uses; a pin must not be named like one of them. */
export const INFO_KEYS: readonly string[] = Object.freeze(['firmware', 'firmwareVersion', 'board', 'pins', 'sensors', 'settings']);

/**
 * The client attributes that describe this firmware and board:
 * {"firmware":"tbxs","firmwareVersion":"0.1.0","board":"simulated",
 *  "pins":{"led":{"pin":2,"mode":"output"},"button":{"pin":0,"mode":"input-pullup","activeLow":true}},
 *  "sensors":{"climate":{"kind":"sht3x","address":"0x44"},"battery_v":{"kind":"analog","pin":34,"unit":"V"}}}
 */
export function describeFirmware(info: FirmwareInfo, board: BoardDescription): JsonObject {
  const pins: JsonObject = {};
  for (const name of Object.keys(board.pins)) {
    const description = board.pins[name];
    const pin: JsonObject = { pin: description.pin, mode: description.mode };
    if (description.activeLow) pin.activeLow = true;
    if (!isOutputPin(description) && description.debounceMs !== undefined) pin.debounceMs = description.debounceMs;
    pins[name] = pin;
  }
  const sensors: JsonObject = {};
  const i2c = board.sensors ?? {};
  for (const name of Object.keys(i2c)) {
    sensors[name] = { kind: i2c[name].kind, address: hex2(i2c[name].address) };
  }
  const analog = board.analog ?? {};
  for (const name of Object.keys(analog)) {
    sensors[name] = { kind: 'analog', pin: analog[name].pin, unit: analog[name].unit };
  }
  return { firmware: info.name, firmwareVersion: info.version, board: board.name, pins, sensors };
}
