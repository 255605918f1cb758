// End-to-end harness: runs the built mock-litellm and olla binaries as child processes on
// OS-chosen ports, waits until the gateway sees the mock's models, and tears both down.
//
//   const stack = await startStack();
//   stack.olla     -> 'http://127.0.0.1:PORT'   (the gateway)
//   stack.mock     -> 'http://127.0.0.1:PORT'   (the mock LiteLLM, for /mock/stats)
//   await stack.stop();                           (idempotent; also runs on process exit)
//
// Binaries: $OLLA_BIN and $MOCK_BIN, else ../../build/bin/{olla,mock-litellm} from this file.
// Every wait is bounded, so a broken binary fails a test instead of hanging it.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const OLLA_BIN = process.env.OLLA_BIN || path.resolve(here, '../../build/bin/olla');
export const MOCK_BIN = process.env.MOCK_BIN || path.resolve(here, '../../build/bin/mock-litellm');

const START_TIMEOUT_MS = 10_000; // a binary must print its listening line within this
const READY_TIMEOUT_MS = 15_000; // the gateway must report the mock's models within this
const STOP_GRACE_MS = 3_000; // SIGTERM, then SIGKILL after this
const LOG_LINES_KEPT = 200;

// Every child still alive, so a crash or an early exit of the test process kills them too.
const live = new Set();
function killAllNow() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
process.once('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig] ?? 0));
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with what `promise` gives, or with null after ms; the timer never outlives the race
// (a pending timer would keep the test process alive).
async function within(promise, ms) {
  let timer;
  const expired = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// Runs a binary, keeps (and drains) its stdout/stderr, and resolves with the first match of
// `pattern` on stdout. Rejects when the child exits or the timeout passes first.
function launch(name, bin, args, pattern, timeoutMs) {
  if (!existsSync(bin)) {
    return Promise.reject(
      new Error(`${name} binary not found at ${bin} (set ${name === 'olla' ? 'OLLA_BIN' : 'MOCK_BIN'})`),
    );
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const logs = [];
  const proc = { name, child, logs, exited: null };
  const keep = (stream, tag) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        logs.push(`${tag} ${line}`);
        if (logs.length > LOG_LINES_KEPT) logs.shift();
        proc.onLine?.(line, tag);
      }
    });
  };
  keep(child.stdout, `[${name} out]`);
  keep(child.stderr, `[${name} err]`);
  proc.exitPromise = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      proc.exited = { code, signal };
      resolve(proc.exited);
    });
    child.once('error', (err) => {
      live.delete(child);
      proc.exited = { error: err };
      resolve(proc.exited);
    });
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`${name} did not print its listening line within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err) => {
      clearTimeout(timer);
      proc.onLine = undefined;
      stopProc(proc).finally(() => {
        err.message += `\n--- ${name} output ---\n${logs.join('\n')}`;
        reject(err);
      });
    };
    proc.onLine = (line, tag) => {
      if (!tag.includes('out')) return;
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(timer);
        proc.onLine = undefined;
        resolve({ proc, match: m });
      }
    };
    proc.exitPromise.then((info) => {
      if (proc.onLine) fail(new Error(`${name} exited before listening: ${JSON.stringify(info)}`));
    });
  });
}

// SIGTERM, bounded wait, then SIGKILL, bounded wait. Never throws.
async function stopProc(proc) {
  if (!proc || proc.exited) return;
  try {
    proc.child.kill('SIGTERM');
  } catch {
    // gone
  }
  if (await within(proc.exitPromise, STOP_GRACE_MS)) return;
  try {
    proc.child.kill('SIGKILL');
  } catch {
    // gone
  }
  await within(proc.exitPromise, STOP_GRACE_MS);
}

function configYaml(mockPort, { shutdownTimeout = '1s', threads = 1 } = {}) {
  // Every section is written out, with short timeouts where a test could otherwise wait long
  // (shutdown_timeout: stop() must not wait 10 s for a stream a test left open).
  return `# written by tests/e2e/harness.js
server:
  host: 127.0.0.1
  port: 0
  threads: ${threads}
  shutdown_timeout: ${shutdownTimeout}
  request_limits:
    max_body_size: 100MB
    max_header_size: 64KB
proxy:
  load_balancer: least-connections
  connection_timeout: 5s
  response_timeout: 30s
  read_timeout: 30s
  retry:
    enabled: true
    max_attempts: 0
discovery:
  type: static
  model_discovery:
    enabled: true
    interval: 5m
    timeout: 5s
  static:
    endpoints:
      - url: http://127.0.0.1:${mockPort}
        name: litellm-gateway
        type: litellm
        check_interval: 1s
        check_timeout: 1s
model_registry:
  routing_strategy:
    type: optimistic
logging:
  level: info
  format: json
`;
}

// Polls GET /olla/litellm/health until it answers 200 with models >= minModels.
export async function waitHealthy(olla, { minModels = 1, timeoutMs = READY_TIMEOUT_MS } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${olla}/olla/litellm/health`, { signal: AbortSignal.timeout(1000) });
      const text = await res.text();
      last = `${res.status} ${text}`;
      if (res.status === 200) {
        const body = JSON.parse(text);
        if (typeof body.models === 'number' && body.models >= minModels) return body;
      }
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`gateway not ready within ${timeoutMs} ms; last health answer: ${last}`);
}

export async function startStack({ mockArgs = [], shutdownTimeout = '1s', threads = 1 } = {}) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'olla-e2e-'));
  let mock;
  let olla;
  const stack = {
    tmp,
    logs: () => [...(mock?.logs ?? []), ...(olla?.logs ?? [])].join('\n'),
    stopped: false,
    async stop() {
      if (stack.stopped) return;
      stack.stopped = true;
      await Promise.all([stopProc(olla), stopProc(mock)]);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  try {
    const m = await launch(
      'mock-litellm',
      MOCK_BIN,
      ['--host', '127.0.0.1', '--port', '0', ...mockArgs],
      /mock-litellm listening on http:\/\/127\.0\.0\.1:(\d+)/,
      START_TIMEOUT_MS,
    );
    mock = m.proc;
    stack.mockPort = Number(m.match[1]);
    stack.mock = `http://127.0.0.1:${stack.mockPort}`;

    const cfg = path.join(tmp, 'olla.yaml');
    writeFileSync(cfg, configYaml(stack.mockPort, { shutdownTimeout, threads }));
    const o = await launch(
      'olla',
      OLLA_BIN,
      ['-c', cfg],
      /olla listening on 127\.0\.0\.1:(\d+)/,
      START_TIMEOUT_MS,
    );
    olla = o.proc;
    stack.ollaProc = olla; // { child, exitPromise, logs } for signal tests
    stack.ollaPort = Number(o.match[1]);
    stack.olla = `http://127.0.0.1:${stack.ollaPort}`;
    stack.health = await waitHealthy(stack.olla);
    return stack;
  } catch (err) {
    const logs = stack.logs();
    await stack.stop();
    if (logs && !err.message.includes('--- ')) err.message += `\n--- logs ---\n${logs}`;
    throw err;
  }
}

// The mock's own counters and last request (GET /mock/stats, not counted by the mock).
export async function mockStats(stack) {
  const res = await fetch(`${stack.mock}/mock/stats`, { signal: AbortSignal.timeout(2000) });
  return res.json();
}
