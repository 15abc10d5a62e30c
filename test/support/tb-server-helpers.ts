import type { MqttClient } from 'mqtt';

/** Resolves once the MQTT.js client's connection is closed; rejects after `ms`. */
export function closed(c: MqttClient, ms = 3000): Promise<void> {
  if (!c.connected && c.disconnected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('connection stayed open')), ms);
    c.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** One HTTP request with a JSON body; the reply's status, text and JSON (undefined if not JSON). */
export async function httpJson(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(baseUrl + path, {
    method,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}
