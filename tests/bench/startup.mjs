// Start-up time and idle memory of one server process, for tests/bench/run.sh.
//
//   node startup.mjs --port P --serving-path /internal/health [--ready-path /olla/litellm/health]
//                    [--idle-ms 1000] -- command args...
//
// Spawns the command, polls GET http://127.0.0.1:P<serving-path> every millisecond and records
// the time from spawn to the first 200 ("serving"), then the time to the first 200 on
// --ready-path ("ready": for olla, the upstream has passed its first health probe). After
// --idle-ms more it sums VmRSS over the process and its children (and splits the first process's
// into anonymous and file-backed memory), stops it with SIGTERM (SIGKILL after 3 s) and prints
// `START {json}`.
import http from 'node:http';
import fs from 'node:fs';
import { spawn } from 'node:child_process';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  process.stderr.write('usage: node startup.mjs --port P --serving-path PATH [--ready-path PATH] -- cmd...\n');
  process.exit(2);
}
const opts = {};
for (let i = 0; i < sep; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];
const cmd = argv.slice(sep + 1);
const port = Number(opts.port);
const idleMs = Number(opts['idle-ms'] ?? 1000);
const timeoutMs = Number(opts['timeout-ms'] ?? 10000);
const now = () => process.hrtime.bigint();

function get(path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => { req.destroy(); resolve(0); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(path, t0) {
  while (Number(now() - t0) / 1e6 < timeoutMs) {
    if ((await get(path)) === 200) return Number(now() - t0) / 1e6;
    await sleep(1);
  }
  return null;
}

function statusKb(pid, key) {
  try {
    const m = new RegExp(`${key}:\\s+(\\d+)\\s+kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

function treeRssKb(root) {
  const pids = [root];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === root) pids.push(Number(d));
    } catch { /* gone */ }
  }
  return pids.reduce((kb, p) => kb + (statusKb(p, 'VmRSS') ?? 0), 0);
}

const t0 = now();
const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
let exited = false;
const exitP = new Promise((r) => child.on('exit', () => { exited = true; r(); }));
const kill = (sig) => { if (!exited) try { child.kill(sig); } catch { /* gone */ } };
process.on('SIGTERM', () => { kill('SIGKILL'); process.exit(1); });
process.on('SIGINT', () => { kill('SIGKILL'); process.exit(1); });

const servingMs = await waitFor(opts['serving-path'], t0);
const readyMs = opts['ready-path'] && servingMs !== null ? await waitFor(opts['ready-path'], t0) : null;
await sleep(idleMs);
const idleRssKb = exited ? null : treeRssKb(child.pid);
// Of the first process: heap, stacks and other private memory vs. mapped files (binary, libraries).
const anonKb = exited ? null : statusKb(child.pid, 'RssAnon');
const fileKb = exited ? null : statusKb(child.pid, 'RssFile');
kill('SIGTERM');
const killer = setTimeout(() => kill('SIGKILL'), 3000);
await exitP;
clearTimeout(killer);
process.stdout.write(`START ${JSON.stringify({ serving_ms: servingMs, ready_ms: readyMs,
                                               idle_rss_kb: idleRssKb, rss_anon_kb: anonKb,
                                               rss_file_kb: fileKb })}\n`);
