import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue, Store } from '../platform/store';
import { DEFAULT_SETTINGS, SETTING_NAMES, checkSetting, isSettingName, type SettingName, type Settings } from './settings';

/** Store key of the settings the server changed (Moddable Preference keys are at most 15 characters). */
export const SETTINGS_STORE_KEY = 'appSettings';

export interface AppSettingsOptions {
  store: Store;
  log: Log;
  /** The target's own values over the defaults; the server's values (stored) go over these. */
  base?: Partial<Settings>;
}

/**
 * The settings in effect: defaults, then the target's `base`, then the values the server set through
 * shared attributes. Only the server's values are stored (one Store key), so a deleted shared
 * attribute falls back to the base value, and a new firmware default applies to untouched settings.
 */
export class AppSettings {
  private readonly store: Store;
  private readonly log: Log;
  private readonly base: Settings;
  /** The server's values (the stored part), by name. */
  private readonly overrides: Partial<Record<SettingName, number | boolean>> = {};
  private readonly values: Settings;

  constructor(options: AppSettingsOptions) {
    this.store = options.store;
    this.log = options.log;
    this.base = { ...DEFAULT_SETTINGS };
    if (options.base) this.merge(this.base, options.base as Record<string, JsonValue>, 'configured', undefined);
    this.values = { ...this.base };
    this.load();
  }

  /** A copy of the settings in effect. */
  get current(): Settings {
    return { ...this.values };
  }

  get<K extends SettingName>(name: K): Settings[K] {
    return this.values[name];
  }

  /**
   * Applies the settings among `values` (other keys are ignored: shared attributes carry more than
   * settings). An invalid value is logged and the old one kept. Stores the result when anything
   * changed and returns the names that changed.
   */
  update(values: { [key: string]: JsonValue }, source: string): SettingName[] {
    const changed: SettingName[] = [];
    this.merge(this.values, values, source, changed);
    for (const name of changed) this.overrides[name] = this.values[name];
    // A value equal to the current one may still be new to the store (e.g. the base value set explicitly).
    let storeDirty = changed.length > 0;
    for (const key of Object.keys(values)) {
      if (isSettingName(key) && this.overrides[key] === undefined && this.values[key] === values[key]) {
        this.overrides[key] = this.values[key];
        storeDirty = true;
      }
    }
    if (storeDirty) this.save();
    return changed;
  }

  /** Forgets the server's value of each named setting (a deleted shared attribute): back to the base value. */
  revert(names: readonly string[], source: string): SettingName[] {
    const changed: SettingName[] = [];
    let storeDirty = false;
    for (const name of names) {
      if (!isSettingName(name) || this.overrides[name] === undefined) continue;
      delete this.overrides[name];
      storeDirty = true;
      if (this.values[name] !== this.base[name]) {
        this.assign(this.values, name, this.base[name]);
        changed.push(name);
        this.log.info('setting ' + name + ' = ' + String(this.base[name]) + ' (' + source + ', back to the configured value)');
      }
    }
    if (storeDirty) this.save();
    return changed;
  }

  private merge(target: Settings, values: { [key: string]: JsonValue }, source: string, changed: SettingName[] | undefined): void {
    for (const key of Object.keys(values)) {
      if (!isSettingName(key)) continue;
      const checked = checkSetting(key, values[key]);
      if (checked instanceof Error) {
        this.log.warn('setting ' + key + ' from ' + source + ' rejected: ' + checked.message + '; keeping ' + String(target[key]));
        continue;
      }
      if (target[key] === checked) continue;
      this.assign(target, key, checked);
      if (changed) {
        changed.push(key);
        this.log.info('setting ' + key + ' = ' + String(checked) + ' (' + source + ')');
      }
    }
  }

  private assign(target: Settings, name: SettingName, value: number | boolean): void {
    (target as unknown as Record<SettingName, number | boolean>)[name] = value;
  }

  private load(): void {
    let stored: JsonValue | undefined;
    try {
      stored = this.store.get(SETTINGS_STORE_KEY);
    } catch (error) {
      this.log.warn('stored settings unreadable, using defaults: ' + describeError(error));
      return;
    }
    if (stored === undefined || stored === null) return;
    if (typeof stored !== 'object' || Array.isArray(stored)) {
      this.log.warn('stored settings are not an object, ignored');
      return;
    }
    for (const key of Object.keys(stored)) {
      if (!isSettingName(key)) continue;
      const checked = checkSetting(key, stored[key]);
      if (checked instanceof Error) {
        this.log.warn('stored setting ' + key + ' ignored: ' + checked.message);
        continue;
      }
      this.overrides[key] = checked;
      this.assign(this.values, key, checked);
    }
  }

  private save(): void {
    const out: { [key: string]: JsonValue } = {};
    for (const name of SETTING_NAMES) {
      const value = this.overrides[name];
      if (value !== undefined) out[name] = value;
    }
    try {
      this.store.set(SETTINGS_STORE_KEY, out);
    } catch (error) {
      this.log.error('settings not stored (they apply until restart): ' + describeError(error));
    }
  }
}
