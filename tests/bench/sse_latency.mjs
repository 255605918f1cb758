// SSE load tools for tests/bench/run.sh. Plain node:http, no npm packages.
//
//   node sse_latency.mjs upstream --port P [--frames 10] [--delay-ms 200]
//       A LiteLLM-shaped upstream whose stream frames carry the moment they were written
//       ("t": CLOCK_MONOTONIC ns as a string). Answers /health/liveliness, /v1/models and
//       /model/info so olla's probes and discovery see a healthy endpoint.
//   node sse_latency.mjs latency --url URL [--streams 1000] [--delay-ms 200] [--ramp-ms 1000]
//       Opens N concurrent streams (starts spread over --ramp-ms so frames do not all arrive in
//       the same instant) and prints `SSE {json}`: per-frame one-way latency (arrival minus the
//       upstream's stamp, frames after the first), inter-frame gap minus the configured delay,
//       and time from request to first frame.
//   node sse_latency.mjs hold --url URL --streams K [--rate 2000] [--pids 1,2]
//                             [--upstream-port P] [--timeout-s 60]
//       Opens K streams at --rate per second and keeps them all open; once every stream has its
//       first frame (or the timeout), samples the summed VmRSS of --pids and the number of
//       established TCP connections to --upstream-port, then prints `HOLD {json}` and hangs up.
//
// Both processes read process.hrtime (CLOCK_MONOTONIC on Linux), so the stamps compare across
// processes on one machine.
import http from 'node:http';
import fs from 'node:fs';

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) out[k] = true;
      else { out[k] = v; i++; }
    } else out._.push(a);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const mode = args._[0];
const now = () => process.hrtime.bigint();

const CHAT_BODY = JSON.stringify({
  model: 'gpt-4',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Explain quantum computing in simple terms.' },
  ],
  temperature: 0.7,
  max_tokens: 500,
  stream: true,
});

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summarize(values) {
  const s = Float64Array.from(values).sort();
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99),
           max: s.length ? s[s.length - 1] : null };
}

// ------------------------------------------------------------------------------------ upstream

function upstream() {
  const port = Number(args.port);
  const frames = Number(args.frames ?? 10);
  const delayMs = Number(args['delay-ms'] ?? 200);
  const words = ['Quantum', ' computing', ' uses', ' qubits', ' that', ' can', ' be', ' both'];
  const models = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4', object: 'model',
                                                           created: 0, owned_by: 'openai' }] });
  const completion = JSON.stringify({
    id: 'chatcmpl-bench', object: 'chat.completion', created: 0, model: 'gpt-4',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Quantum computing uses qubits' },
                finish_reason: 'stop' }],
    usage: { prompt_tokens: 25, completion_tokens: 5, total_tokens: 30 },
  });

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/health/liveliness') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('"I\'m alive!"');
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(models);
    }
    if (req.method === 'GET' && path === '/model/info') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"data":[]}');
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"not found","type":"not_found_error","param":null,"code":"404"}}');
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let stream = false;
      try { stream = JSON.parse(body).stream === true; } catch { /* non-JSON: non-stream */ }
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(completion);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      let i = 0;
      let timer = null;
      const send = () => {
        timer = null;
        if (res.destroyed) return;
        if (i === frames) {
          res.end('data: [DONE]\n\n');
          return;
        }
        const w = words[i % words.length];
        const frame = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,` +
          `"model":"gpt-4","choices":[{"index":0,"delta":{"content":"${w}"},"finish_reason":null}],` +
          `"t":"${now()}"}\n\n`;
        res.write(frame);
        i++;
        timer = setTimeout(send, delayMs);
      };
      res.on('close', () => { if (timer) clearTimeout(timer); });
      send();
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  server.listen(port, '127.0.0.1');
  const stop = () => { server.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ------------------------------------------------------------------------------------ client

// Calls onFrame(payloadString, arrivalNs) for every `data:` frame of the response.
function readFrames(res, onFrame) {
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    const t = now();
    buf += chunk;
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, k);
      buf = buf.slice(k + 2);
      for (const line of frame.split('\n')) {
        if (line.startsWith('data: ')) onFrame(line.slice(6), t);
      }
    }
  });
}

function openStream(url, agent, handlers) {
  const t0 = now();
  const req = http.request(url, {
    method: 'POST', agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CHAT_BODY) },
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      handlers.onError(`status ${res.statusCode}`);
      res.resume();
      return;
    }
    readFrames(res, (payload, t) => handlers.onFrame(payload, t, t0));
    res.on('end', () => handlers.onEnd());
    res.on('error', (e) => handlers.onError(e.code || e.message));
  });
  req.on('error', (e) => handlers.onError(e.code || e.message));
  req.end(CHAT_BODY);
  return req;
}

function latency() {
  const url = args.url;
  const streams = Number(args.streams ?? 1000);
  const delayNs = BigInt(Math.round(Number(args['delay-ms'] ?? 200) * 1e6));
  const rampMs = Number(args['ramp-ms'] ?? 1000);
  const timeoutS = Number(args['timeout-s'] ?? 60);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

  // Frames before every stream is open and past its first frame are left out of the per-frame
  // figures: connection set-up is not what they measure.
  const steadyFrom = now() + BigInt(Math.round((rampMs + Number(delayNs) / 1e6 + 100) * 1e6));
  const lat = [];     // per-frame one-way latency, µs
  const gapDev = [];  // inter-frame gap minus the upstream's delay, µs
  const ttfb = [];    // request start to first frame, µs
  const errors = {};
  let done = 0, completed = 0, frames = 0;
  const reqs = [];

  const finish = () => {
    const out = {
      streams, completed, frames, errors,
      frame_latency_us: summarize(lat), gap_minus_delay_us: summarize(gapDev),
      first_frame_us: summarize(ttfb),
    };
    process.stdout.write(`SSE ${JSON.stringify(out)}\n`);
    for (const r of reqs) r.destroy();
    agent.destroy();
    process.exit(0);
  };
  const oneDone = () => { if (++done === streams) finish(); };
  setTimeout(() => { errors.timeout = streams - done; finish(); }, timeoutS * 1000).unref();

  for (let i = 0; i < streams; i++) {
    setTimeout(() => {
      let prev = null;
      let first = true;
      let ended = false;
      reqs.push(openStream(url, agent, {
        onFrame(payload, t, t0) {
          if (payload === '[DONE]') return;
          frames++;
          // The first frame rides with the response headers: it is counted in first_frame_us.
          // Later frames are the steady-state relay this figure is about.
          if (first) {
            ttfb.push(Number(t - t0) / 1e3);
            first = false;
          } else if (t >= steadyFrom) {
            const m = /"t":"(\d+)"/.exec(payload);
            if (m) lat.push(Number(t - BigInt(m[1])) / 1e3);
            if (prev !== null) gapDev.push(Number(t - prev - delayNs) / 1e3);
          }
          prev = t;
        },
        onEnd() { if (!ended) { ended = true; completed++; oneDone(); } },
        onError(e) { if (!ended) { ended = true; errors[e] = (errors[e] || 0) + 1; oneDone(); } },
      }));
    }, (i * rampMs) / streams);
  }
}

// ------------------------------------------------------------------------------------ hold

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

function establishedTo(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try { text = fs.readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n')) {
      const c = line.trim().split(/\s+/);
      if (c.length > 3 && c[3] === '01' && c[2].endsWith(`:${hex}`)) n++;
    }
  }
  return n;
}

function hold() {
  const url = args.url;
  const streams = Number(args.streams);
  const rate = Number(args.rate ?? 2000);
  const timeoutS = Number(args['timeout-s'] ?? 60);
  const pids = String(args.pids ?? '').split(',').filter(Boolean).map(Number);
  const upPort = args['upstream-port'] ? Number(args['upstream-port']) : null;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const sumRss = () => pids.reduce((a, p) => a + rssKb(p), 0);

  const idleRss = sumRss();
  const t0 = now();
  const reqs = [];
  const errors = {};
  // resolved: streams that got their first frame or failed before it.
  let firstFrames = 0, ended = 0, opened = 0, resolved = 0, reported = false;
  const resolveOne = () => {
    if (++resolved === streams) report(firstFrames === streams ? 'all' : 'settled');
  };

  const report = (why) => {
    if (reported) return;
    reported = true;
    const openMs = Number(now() - t0) / 1e6;
    // Let the proxy settle (buffers, pools) before sampling the peak.
    setTimeout(() => {
      const peakRss = sumRss();
      const out = {
        streams, opened, first_frames: firstFrames, ended_early: ended, errors, why,
        open_ms: Math.round(openMs), idle_rss_kb: idleRss, peak_rss_kb: peakRss,
        rss_per_stream_kb: firstFrames ? (peakRss - idleRss) / firstFrames : null,
        upstream_established: upPort ? establishedTo(upPort) : null,
        open_now: opened - ended,
      };
      process.stdout.write(`HOLD ${JSON.stringify(out)}\n`);
      for (const r of reqs) r.destroy();
      agent.destroy();
      setTimeout(() => process.exit(0), 200);
    }, 1000);
  };
  setTimeout(() => report('timeout'), timeoutS * 1000).unref();

  const batch = Math.max(1, Math.round(rate / 100));
  const tick = setInterval(() => {
    for (let j = 0; j < batch && opened < streams; j++) {
      opened++;
      let first = true, over = false;
      const close = () => {
        over = true;
        ended++;
        if (first) { first = false; resolveOne(); }
      };
      reqs.push(openStream(url, agent, {
        onFrame() {
          if (first) {
            first = false;
            firstFrames++;
            resolveOne();
          }
        },
        onEnd() { if (!over) close(); },
        onError(e) { if (!over) { errors[e] = (errors[e] || 0) + 1; close(); } },
      }));
    }
    if (opened >= streams) clearInterval(tick);
  }, 10);
}

if (mode === 'upstream') upstream();
else if (mode === 'latency') latency();
else if (mode === 'hold') hold();
else {
  process.stderr.write('usage: node sse_latency.mjs upstream|latency|hold [--options]\n');
  process.exit(2);
}
