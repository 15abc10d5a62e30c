import type { JsonValue } from '../platform/store';
import { isString } from '../platform/guards';

/**
 * What a user may change at run time through shared attributes. Every setting has a rule below;
 * add a setting by adding a field here, a default and a rule.
 */
export interface Settings {
  /** Period of the sensor sampling loop (one telemetry message per period). */
  telemetryIntervalMs: number;
  /** false stops the sampling loop (GPIO RPCs and attributes keep working). */
  telemetryEnabled: boolean;
}

export type SettingName = keyof Settings;

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  telemetryIntervalMs: 5000,
  telemetryEnabled: true,
});

export const MIN_TELEMETRY_INTERVAL_MS = 500;
export const MAX_TELEMETRY_INTERVAL_MS = 86_400_000;

/** Checks one value: returns the value to keep, or an Error whose message says why it is refused. */
type Rule = (value: JsonValue) => number | boolean | Error;

function integerIn(low: number, high: number): Rule {
  // Consts of this scope, not the parameters: a preloaded closure capturing a parameter is an
  // alias of RAM on the device (xsl: no const).
  const min = low;
  const max = high;
  return (value) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) return new Error('must be an integer, got ' + describe(value));
    if (value < min || value > max) return new Error('must be in ' + min + '..' + max + ', got ' + value);
    return value;
  };
}

const boolean: Rule = (value) => (typeof value === 'boolean' ? value : new Error('must be true or false, got ' + describe(value)));

/** A function table in a frozen object: fine after a preload (nothing is written to it). */
const RULES: Readonly<Record<SettingName, Rule>> = Object.freeze({
  telemetryIntervalMs: integerIn(MIN_TELEMETRY_INTERVAL_MS, MAX_TELEMETRY_INTERVAL_MS),
  telemetryEnabled: boolean,
});

/** The names of every setting, in a fixed order (also the shared attribute keys). */
export const SETTING_NAMES: readonly SettingName[] = Object.freeze(['telemetryIntervalMs', 'telemetryEnabled'] as SettingName[]);

export function isSettingName(key: string): key is SettingName {
  return SETTING_NAMES.indexOf(key as SettingName) >= 0;
}

/** The checked value of setting `name`, or an Error explaining the refusal. */
export function checkSetting(name: SettingName, value: JsonValue): number | boolean | Error {
  return RULES[name](value);
}

function describe(value: JsonValue): string {
  const text = JSON.stringify(value) ?? String(value);
  return (isString(value) ? 'string ' : '') + (text.length > 40 ? text.slice(0, 40) + '...' : text);
}
