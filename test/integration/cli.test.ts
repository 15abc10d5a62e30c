import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../targets/host/cli';
import { waitFor } from '../support/wait';

const BIN = join(__dirname, '../../bin/tbxs.mjs');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('tbxs command line', () => {
  const bad: [string[], RegExp][] = [
    [['device', '--host', '127.0.0.1', '--port', '1883'], /a credential is required/],
    [['device', '--port', '1883', '--token', 'T'], /--host is required/],
    [['device', '--host', 'h', '--port', 'eighty', '--token', 'T'], /--port must be a port number/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--username', 'u'], /one kind of credential/],
    [['device', '--host', 'h', '--port', '1', '--provision-key', 'K'], /go together/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--ca', 'x.pem'], /need --tls/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--bogus'], /unknown option --bogus/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--xs-stack', '512'], /--xs-stack is for --engine xs/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--engine', 'xs', '--xs-stack', '32'], /--xs-stack must be 64\.\.65536/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--reconnect-min-ms', '0'], /--reconnect-min-ms must be a whole number of ms/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--reconnect-max-ms', '5s'], /--reconnect-max-ms must be a whole number of ms/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--reconnect-min-ms', '90000'], /must not be over --reconnect-max-ms \(60000, the default\)/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--reconnect-jitter', '1.5'], /--reconnect-jitter must be a number 0\.\.1/],
    [['gateway', '--host', 'h', '--port', '1', '--token', 'T', '--children', '2', '--reconnect-max-ms', '10', '--reconnect-min-ms', '20'], /--reconnect-min-ms \(20\) must not be over --reconnect-max-ms \(10\)/],
    [['server', '--device', ':x'], /NAME:TOKEN/],
    [['server', '--rate-limit', 'telemetry=1:1'], /--rate-limit must look like KIND=SPEC/],
    [['server', '--rate-limit', 'messages=10'], /--rate-limit messages: rate limit "10": each window is N:SECONDS/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--telemetry-ms', '100'], /--telemetry-ms must be a whole number 500\.\.86400000/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--outbox-write-ms', '1000'], /--outbox-write-ms is for --persist-outbox/],
    [['device', '--host', 'h', '--port', '1', '--token', 'T', '--persist-outbox', '--outbox-write-ms', 'soon'], /--outbox-write-ms must be a whole number/],
    [['gateway', '--host', 'h', '--port', '1', '--token', 'T'], /--children/],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, message] of bad) {
    it('refuses `' + args.join(' ') + '` with one line and exit code 2', async () => {
      const errors: string[] = [];
      const code = await main(args, () => {}, (line) => errors.push(line));
      expect(code).toBe(2);
      expect(errors.length).toBe(1);
      expect(errors[0]).toMatch(message);
    });
  }

  it('tbxs device --engine xs: runs at the manifest stack by default; a stack too small ends it with one clear line, no hang', async () => {
    const { startTbServer } = await import('../../targets/host/tb-server/index');
    const server = await startTbServer({ devices: [{ name: 'xscli', token: 'XS_CLI' }] });
    const state = mkdtempSync(join(tmpdir(), 'tbxs-xscli-'));
    try {
      const args = ['device', '--engine', 'xs', '--host', '127.0.0.1', '--port', String(server.mqttPort), '--token', 'XS_CLI', '--state-dir', state];
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      await waitFor(() => server.isConnected('xscli'), 'the XS device to connect', 15_000);
      expect(out).toMatch(/XS stack \d+ slots \(manifest\.json's creation\.stack\)/);
      expect(await server.sendRpc('xscli', 'toggle_gpio', 'led', { timeoutMs: 3000 })).toEqual({ led: true });
      child.kill('SIGINT');
      await waitFor(() => child.exitCode !== null, 'the device to stop', 10_000);
      expect(child.exitCode).toBe(0);

      // 100 slots: the firmware cannot even start; the run ends at once with the stack size named.
      const small = spawnSync(process.execPath, [BIN, ...args, '--xs-stack', '100'], { encoding: 'utf8', timeout: 30_000 });
      expect(small.status).toBe(1);
      const lines = (small.stdout + small.stderr).split('\n').filter((l) => /stack overflow/.test(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/device \(xs\): XS worker \S+ died: JavaScript stack overflow: the XS stack of 100 slots is full; innermost frames/);
    } finally {
      await server.close();
      rmSync(state, { recursive: true, force: true });
    }
  }, 60_000);

  for (const engine of ['node', 'xs'] as const) {
    it(`tbxs device --engine ${engine} --reconnect-min-ms/--reconnect-max-ms/--reconnect-jitter set the reconnect backoff`, async () => {
      const { freePort } = await import('../support/ports');
      const port = await freePort(); // nothing listens: every attempt fails
      const state = mkdtempSync(join(tmpdir(), 'tbxs-backoff-'));
      try {
        const args = ['device', '--engine', engine, '--host', '127.0.0.1', '--port', String(port), '--token', 'T', '--state-dir', state];
        const child = spawn(process.execPath, [BIN, ...args, '--reconnect-min-ms', '50', '--reconnect-max-ms', '200', '--reconnect-jitter', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        if (engine === 'node') {
          // The host device logs each delay the session picked.
          const delays = () => Array.from(out.matchAll(/reconnecting in (\d+) ms/g), (m) => Number(m[1]));
          await waitFor(() => delays().length >= 5, 'five reconnect attempts', 20_000);
          expect(delays().slice(0, 5)).toEqual([50, 100, 200, 200, 200]);
        } else {
          // The XS firmware logs each failed attempt: the gaps between them follow the flags
          // (real timers, so a margin); the defaults would wait 500 ms or more from the first.
          const times = () => Array.from(out.matchAll(/^(\d\d):(\d\d):(\d\d)\.(\d{3}) warn +mqtt: .*connection lost/gm), (m) => ((+m[1] * 60 + +m[2]) * 60 + +m[3]) * 1000 + +m[4]);
          await waitFor(() => times().length >= 6, 'six failed attempts', 20_000);
          const t = times();
          const gaps = t.slice(1, 6).map((x, i) => x - t[i]);
          // 50 ms apart, less the log's own timing (a timer may fire a few ms early on this clock).
          expect(gaps.every((g) => g >= 40), 'gaps ' + gaps).toBe(true);
          expect(Math.max(...gaps), 'gaps ' + gaps).toBeLessThan(500);
          expect(gaps[3] + gaps[4], 'gaps ' + gaps).toBeGreaterThanOrEqual(390); // capped at 200
        }
        child.kill('SIGINT');
        await waitFor(() => child.exitCode !== null, 'the device to stop', 10_000);
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    }, 40_000);
  }

  it('the installed bin exits with code 2 and one line on stderr', () => {
    const r = run(['device', '--host', 'h', '--port', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['tbxs: a credential is required: --token, or --client-id/--username/--password, or --provision-key/--provision-secret']);
  });

  it('tbxs demo (npm start): the simulated device answers getGpioStatus and toggle_gpio over REST', async () => {
    const state = mkdtempSync(join(tmpdir(), 'tbxs-demo-'));
    const child = spawn(process.execPath, [BIN, 'demo', '--mqtt-port', '0', '--http-port', '0', '--state-dir', state], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(() => /rpc\/twoway\/[\w-]+/.test(out) && /connected to 127\.0\.0\.1/.test(out), 'demo to start', 15_000);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/api\/plugins\/rpc\/twoway\/[\w-]+)/.exec(out)![1];
      const call = async (method: string, params: unknown) => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method, params }) });
        return { status: res.status, body: await res.json() };
      };
      const before = await call('getGpioStatus', {});
      expect(before.status).toBe(200);
      expect(before.body).toHaveProperty('2', false);
      const toggled = await call('toggle_gpio', { pin: 'led' });
      expect(toggled.body).toEqual({ led: true });
      expect((await call('getGpioStatus', {})).body).toHaveProperty('2', true);
      child.kill('SIGINT');
      await waitFor(() => child.exitCode !== null, 'demo to exit', 5000);
      expect(child.exitCode).toBe(0);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 30_000);
});
