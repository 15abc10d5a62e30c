import type { JsonValue } from '../platform/store';
import type { TbDevice } from '../thingsboard/tb-device';
import { parseBoolean, show } from './coerce';
import type { Gpio } from './gpio';
import { isString } from '../platform/guards';
import { isObject } from '../thingsboard/json';

/**
 * The GPIO RPC methods. Replies follow the ThingsBoard GPIO widgets: getGpioStatus and
 * setGpioStatus answer {"<GPIO number>": bool, ...} for every open pin (outputs and inputs);
 * toggle_gpio answers {"<pin name>": bool} (the same shape as the client attribute it publishes).
 * A pin is named by its board name or its GPIO number (number or string). Errors are thrown; the
 * DeviceClient turns them into {"error": "..."}.
 *
 * Returns the functions that unregister the methods.
 */
export function registerGpioRpc(device: TbDevice, gpio: Gpio): (() => void)[] {
  return [
    device.onRpc('getGpioStatus', () => gpio.statusByNumber()),
    device.onRpc('setGpioStatus', (params) => {
      const p = paramsObject(params, 'setGpioStatus');
      const name = gpio.resolveOutput(p.pin);
      const enabled = parseBoolean(p.enabled);
      if (enabled === undefined) throw new Error('setGpioStatus: "enabled" must be true/false, 1/0 or "on"/"off", got ' + show(p.enabled));
      gpio.set(name, enabled);
      return gpio.statusByNumber();
    }),
    device.onRpc('toggle_gpio', (params) => {
      // {"pin": "led"}, or the pin alone: "led", 2, "2".
      const value = parseMaybeJson(params);
      const ref = isObject(value) ? value.pin : value;
      const name = gpio.resolveOutput(ref);
      const reply: { [name: string]: boolean } = {};
      reply[name] = gpio.toggle(name);
      return reply;
    }),
  ];
}

function paramsObject(params: JsonValue, method: string): { [key: string]: JsonValue } {
  const value = parseMaybeJson(params);
  if (!isObject(value)) {
    throw new Error(method + ': params must be {"pin": <name or number>, "enabled": <bool>}, got ' + show(value));
  }
  return value;
}

/** Some dashboards send the params object as a JSON string: '{"pin":2,"enabled":true}'. */
function parseMaybeJson(value: JsonValue | undefined): JsonValue | undefined {
  if (!isString(value) || value.charAt(0) !== '{') return value;
  try {
    return JSON.parse(value) as JsonValue;
  } catch {
    return value;
  }
}
