import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue, Store } from '../platform/store';
import { isObject } from '../thingsboard/json';
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
  private readonly store_: Store;
  private readonly log_: Log;
  private readonly base_: Settings;
  /** The server's values (the stored part), by name. */
  private readonly overrides_: Partial<Record<SettingName, number | boolean>> = {};
  private readonly values_: Settings;

  constructor(options: AppSettingsOptions) {
    this.store_ = options.store;
    this.log_ = options.log;
    this.base_ = { ...DEFAULT_SETTINGS };
    if (options.base) this.merge_(this.base_, options.base as Record<string, JsonValue>, 'configured', undefined);
    this.values_ = { ...this.base_ };
    this.load_();
  }

  /** A copy of the settings in effect. */
  get current(): Settings {
    return { ...this.values_ };
  }

  get<K extends SettingName>(name: K): Settings[K] {
    return this.values_[name];
  }

  /**
   * Applies the settings among `values` (other keys are ignored: shared attributes carry more than
   * settings). An invalid value is logged and the old one kept. Stores the result when anything
   * changed and returns the names that changed.
   */
  update(values: { [key: string]: JsonValue }, source: string): SettingName[] {
    const changed: SettingName[] = [];
    this.merge_(this.values_, values, source, changed);
    for (const name of changed) this.overrides_[name] = this.values_[name];
    // A value equal to the current one may still be new to the store (e.g. the base value set explicitly).
    let storeDirty = changed.length > 0;
    for (const key of Object.keys(values)) {
      if (isSettingName(key) && this.overrides_[key] === undefined && this.values_[key] === values[key]) {
        this.overrides_[key] = this.values_[key];
        storeDirty = true;
      }
    }
    if (storeDirty) this.save_();
    return changed;
  }

  /** Forgets the server's value of each named setting (a deleted shared attribute): back to the base value. */
  revert(names: readonly string[], source: string): SettingName[] {
    const changed: SettingName[] = [];
    let storeDirty = false;
    for (const name of names) {
      if (!isSettingName(name) || this.overrides_[name] === undefined) continue;
      delete this.overrides_[name];
      storeDirty = true;
      if (this.values_[name] !== this.base_[name]) {
        this.assign_(this.values_, name, this.base_[name]);
        changed.push(name);
        this.log_.info('setting ' + name + ' = ' + String(this.base_[name]) + ' (' + source + ', back to the configured value)');
      }
    }
    if (storeDirty) this.save_();
    return changed;
  }

  private merge_(target: Settings, values: { [key: string]: JsonValue }, source: string, changed: SettingName[] | undefined): void {
    this.each_(values, source, target, (key, value) => {
      if (target[key] === value) return;
      this.assign_(target, key, value);
      if (changed) {
        changed.push(key);
        this.log_.info('setting ' + key + ' = ' + String(value) + ' (' + source + ')');
      }
    });
  }

  /** Calls `apply` for each valid setting among `values`; logs the invalid ones (the value in `target` stays). */
  private each_(values: { [key: string]: JsonValue }, source: string, target: Settings, apply: (key: SettingName, value: number | boolean) => void): void {
    for (const key of Object.keys(values)) {
      if (!isSettingName(key)) continue;
      const checked = checkSetting(key, values[key]);
      if (checked instanceof Error) this.log_.warn('setting ' + key + ' from ' + source + ' rejected: ' + checked.message + '; keeping ' + String(target[key]));
      else apply(key, checked);
    }
  }

  private assign_(target: Settings, name: SettingName, value: number | boolean): void {
    (target as unknown as Record<SettingName, number | boolean>)[name] = value;
  }

  private load_(): void {
    let stored: JsonValue | undefined;
    try {
      stored = this.store_.get(SETTINGS_STORE_KEY);
    } catch (error) {
      this.log_.warn('stored settings unreadable, using defaults: ' + describeError(error));
      return;
    }
    if (stored === undefined || stored === null) return;
    if (!isObject(stored)) {
      this.log_.warn('stored settings not an object, ignored');
      return;
    }
    this.each_(stored, 'the store', this.values_, (key, value) => {
      this.overrides_[key] = value;
      this.assign_(this.values_, key, value);
    });
  }

  private save_(): void {
    const out: { [key: string]: JsonValue } = {};
    for (const name of SETTING_NAMES) {
      const value = this.overrides_[name];
      if (value !== undefined) out[name] = value;
    }
    try {
      this.store_.set(SETTINGS_STORE_KEY, out);
    } catch (error) {
      this.log_.error('settings not stored (they apply until restart): ' + describeError(error));
    }
  }
}
