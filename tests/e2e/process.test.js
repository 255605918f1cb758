// The daemon as an operator runs it: graceful stop on SIGTERM, config validation, overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OLLA_BIN, startStack, sleep } from './harness.js';

const run = promisify(execFile);

// Runs olla with args; resolves {code, stdout, stderr} whatever the exit code.
async function olla(args, env = {}) {
  try {
    const { stdout, stderr } = await run(OLLA_BIN, args, {
      env: { ...process.env, ...env },
      timeout: 10_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

function tempConfig(text) {
  const dir = mkdtempSync(path.join(tmpdir(), 'olla-cfg-'));
  const file = path.join(dir, 'olla.yaml');
  writeFileSync(file, text);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function freePort() {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// One worker: the worker runs on the main thread and handles the signal itself; two: the main
// thread waits for signals while the workers run on their own threads.
for (const threads of [1, 2]) {
  test(`SIGTERM lets a stream in flight finish, refuses new connections, exits 0 (${threads} thread(s))`, async () => {
    const stack = await startStack({ mockArgs: ['--chunk-delay-ms', '150'], shutdownTimeout: '10s', threads });
    try {
      const res = await fetch(`${stack.olla}/olla/litellm/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mock-chunks': '8' },
        body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      assert.equal(res.status, 200);
      const reader = res.body.getReader();
      const first = await reader.read();
      assert.ok(!first.done);
      stack.ollaProc.child.kill('SIGTERM');
      await sleep(200);
      // No new connections once stopping.
      await assert.rejects(
        fetch(`${stack.olla}/olla/litellm/health`, { signal: AbortSignal.timeout(2000) }),
        'a new connection was accepted during shutdown',
      );
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assert.match(text, /data: \[DONE\]\n\n$/, 'the stream was cut instead of finishing');
      const exit = await stack.ollaProc.exitPromise;
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${stack.ollaProc.logs.join('\n')}`);
    } finally {
      await stack.stop();
    }
  });
}

test('one worker: one thread in all, access lines written without a request to flush them', async () => {
  const { readdirSync } = await import('node:fs');
  const stack = await startStack();
  try {
    const pid = stack.ollaProc.child.pid;
    // No logging, signal or resolver thread either (the endpoint is an address).
    assert.deepEqual(readdirSync(`/proc/${pid}/task`), [String(pid)]);
    const res = await fetch(`${stack.olla}/olla/litellm/v1/models`);
    assert.equal(res.status, 200);
    const id = res.headers.get('x-olla-request-id');
    assert.ok(id);
    // The line sits in stdout's buffer until the 200 ms flush writes it out.
    const deadline = Date.now() + 3000;
    while (!stack.logs().includes(id) && Date.now() < deadline) await sleep(50);
    const line = stack.logs().split('\n').find((l) => l.includes(id));
    assert.ok(line, `no access line for ${id} within 3 s:\n${stack.logs()}`);
    assert.match(line, /"msg":"access","method":"GET","path":"\/olla\/litellm\/v1\/models","status":200/);
    assert.deepEqual(readdirSync(`/proc/${pid}/task`), [String(pid)]);
  } finally {
    await stack.stop();
  }
});

test('--validate-config names an unknown key with its line', async () => {
  const cfg = tempConfig('server:\n  port: 40114\nproxy:\n  load_balancer: round-robin\n  bogus_key: 1\n');
  try {
    const r = await olla(['--validate-config', '-c', cfg.file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /olla\.yaml:5: proxy\.bogus_key: unknown key/);
  } finally {
    cfg.cleanup();
  }
});

test('--validate-config accepts the shipped config', async () => {
  const shipped = path.resolve(path.dirname(OLLA_BIN), '../../config/olla.yaml');
  const r = await olla(['--validate-config', '-c', shipped]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /is valid/);
});

test('OLLA_SERVER_PORT overrides the file', async () => {
  const port = await freePort();
  const cfg = tempConfig('server:\n  host: 127.0.0.1\n  port: 1\nlogging:\n  format: text\n');
  const { spawn } = await import('node:child_process');
  const child = spawn(OLLA_BIN, ['-c', cfg.file], {
    env: { ...process.env, OLLA_SERVER_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    const deadline = Date.now() + 5000;
    child.stdout.on('data', (d) => (out += d));
    while (!out.includes('listening') && Date.now() < deadline) await sleep(20);
    assert.match(out, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    const res = await fetch(`http://127.0.0.1:${port}/internal/health`);
    assert.equal(res.status, 200);
  } finally {
    child.kill('SIGKILL');
    cfg.cleanup();
  }
});

test('--version and --help', async () => {
  const v = await olla(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^olla \d+\.\d+\.\d+/);
  const h = await olla(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--validate-config/);
});

test('SIGHUP re-reads the endpoint list; a broken file changes nothing', async () => {
  const { readFileSync } = await import('node:fs');
  const stack = await startStack();
  try {
    const cfgFile = path.join(stack.tmp, 'olla.yaml');
    const original = readFileSync(cfgFile, 'utf8');
    const health = async () => (await fetch(`${stack.olla}/olla/litellm/health`)).json();
    assert.equal((await health()).endpoints.total, 1);

    // A second endpoint (same mock, another name) appears after SIGHUP.
    const extra = `      - url: http://127.0.0.1:${stack.mockPort}\n        name: litellm-second\n        type: litellm\n        check_interval: 1s\n`;
    writeFileSync(cfgFile, original.replace('model_registry:', `${extra}model_registry:`));
    stack.ollaProc.child.kill('SIGHUP');
    let h;
    for (let i = 0; i < 50; i++) {
      h = await health();
      if (h.endpoints.total === 2 && h.endpoints.healthy === 2) break;
      await sleep(100);
    }
    assert.deepEqual(h.endpoints, { healthy: 2, total: 2 });

    // A broken file is refused: the daemon keeps its endpoints and keeps serving.
    writeFileSync(cfgFile, original + 'bogus_top_level_key: 1\n');
    stack.ollaProc.child.kill('SIGHUP');
    await sleep(300);
    assert.equal(stack.ollaProc.exited, null, 'olla exited on a bad reload');
    assert.deepEqual((await health()).endpoints, { healthy: 2, total: 2 });
    assert.match(stack.logs(), /reload failed, keeping the current endpoints/);
  } finally {
    await stack.stop();
  }
});
