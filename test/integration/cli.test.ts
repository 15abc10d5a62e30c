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
    [['server', '--device', ':x'], /NAME:TOKEN/],
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
