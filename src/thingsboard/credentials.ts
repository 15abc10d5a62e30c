import type { JsonValue, Store } from '../platform/store';
import { isObject } from './json';
import { isString, isNonEmptyString } from '../platform/guards';

/** How a device authenticates to ThingsBoard. */
export type DeviceCredentials =
  | { type: 'ACCESS_TOKEN'; token: string }
  | { type: 'MQTT_BASIC'; clientId: string; username: string; password: string }
  | { type: 'X509_CERTIFICATE' };

/** Store key for provisioned credentials (Moddable Preference keys are at most 15 characters). */
export const CREDENTIALS_KEY = 'tbCredentials';

/** Credentials kept in the store, or undefined when none (or unreadable ones) are kept. */
export function loadCredentials(store: Store): DeviceCredentials | undefined {
  return readCredentials(store.get(CREDENTIALS_KEY));
}

export function saveCredentials(store: Store, credentials: DeviceCredentials): void {
  store.set(CREDENTIALS_KEY, credentials as unknown as JsonValue);
}

export function readCredentials(value: JsonValue | undefined): DeviceCredentials | undefined {
  if (!isObject(value)) return undefined;
  if (value.type === 'ACCESS_TOKEN' && isNonEmptyString(value.token)) return { type: 'ACCESS_TOKEN', token: value.token };
  if (value.type === 'MQTT_BASIC' && isString(value.clientId) && isString(value.username) && isString(value.password)) {
    return { type: 'MQTT_BASIC', clientId: value.clientId, username: value.username, password: value.password };
  }
  if (value.type === 'X509_CERTIFICATE') return { type: 'X509_CERTIFICATE' };
  return undefined;
}

/** The CONNECT fields for a set of credentials. `clientId` is used where the credentials name none. */
export function connectFields(credentials: DeviceCredentials, clientId: string): { clientId: string; username?: string; password?: string } {
  switch (credentials.type) {
    case 'ACCESS_TOKEN':
      return { clientId, username: credentials.token };
    case 'MQTT_BASIC':
      return {
        clientId: credentials.clientId,
        username: credentials.username || undefined,
        password: credentials.username ? credentials.password || undefined : undefined,
      };
    case 'X509_CERTIFICATE':
      return { clientId };
  }
}
