// Turns the samples of tests/bench/run.sh (one JSON object a line) into the markdown report:
// medians over rounds, olla/nginx ratios, PASS/MISS per target.
//   node summarize.mjs results.jsonl > report.md
import fs from 'node:fs';

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean)
  .map((l) => JSON.parse(l));
const of = (kind) => rows.filter((r) => r.kind === kind);
const meta = of('meta')[0] ?? {};
const end = of('end')[0] ?? {};

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 0) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
const fmtInt = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const ms = (us) => (us === null || us === undefined ? '–' : (us / 1000).toFixed(2));
const cpuMs = (us) => (us === null || us === undefined ? '–' : fmtInt(us / 1000));
const ratio = (a, b) => (a === null || b === null || !b ? null : a / b);
const fx = (r) => (r === null ? '–' : `${r.toFixed(2)}x`);

const out = [];
const p = (s = '') => out.push(s);
const targets = []; // [what, measured, goal, pass|null]
const verdict = (ok) => (typeof ok === 'string' ? ok : ok === null ? 'n/a' : ok ? 'PASS' : 'MISS');

p('# olla benchmark');
p();
p(`- date: ${meta.date ?? '?'} (finished ${end.date ?? '?'}); ${meta.quick ? '**quick run**' : 'full run'}:`
  + ` ${meta.dur_s} s loads, ${meta.rounds} round(s) interleaved, medians`);
p(`- machine: ${meta.nproc} cores, ${meta.cpu}, kernel ${meta.kernel}; load average at start`
  + ` ${meta.loadavg}, at end ${end.loadavg ?? '?'}; open-file limit ${meta.nofile}`);
p(`- ${meta.olla_version ?? 'olla'} (commit ${meta.commit ?? '?'}, binary built ${meta.olla_built ?? '?'}), nginx ${meta.nginx}, wrk ${meta.wrk} (\`-t1\`), node ${meta.node}`);
p(`- benchmark processes at nice ${meta.nice ?? 0}${meta.nice ? ' (above other work on the machine)' : ''}`);
p('- every load, proxy and upstream share the same cores: only ratios taken in one run mean'
  + ' anything, and a busy machine widens p99 for every path');
p();

// ------------------------------------------------------------------------- non-streaming

// A sample taken while the proxy died (flagged by run.sh, or named by a crash record) is shown in
// the error count but left out of the medians.
const crashRecords = of('crash');
const http = of('http').map((r) => ({
  ...r,
  crashed: r.crashed === true || crashRecords.some((c) => c.target === r.target
    && c.during === `${r.upstream} t=${r.threads} c=${r.c} round ${r.round}`),
}));
const httpOk = http.filter((r) => !r.crashed);
const groups = [...new Set(http.map((r) => `${r.upstream}|${r.threads}`))];
const httpMed = (upstream, threads, target, c, f) =>
  median(httpOk.filter((r) => r.upstream === upstream && r.threads === threads && r.target === target
                         && r.c === c).map(f));
const cpuPerReq = (r) => (r.cpu_s === null || r.cpu_s < 0 || !r.wrk.requests ? null
  : (r.cpu_s * 1e6) / r.wrk.requests);

const httpSection = [];
for (const g of groups) {
  const [upstream, tStr] = g.split('|');
  const threads = Number(tStr);
  const label = upstream === 'mock' ? 'mock-litellm (1 thread)' : 'nginx, fixed chat-completion JSON';
  httpSection.push(`### Non-streaming chat completions — upstream: ${label}; proxies with ${threads}`
    + ` thread(s)/worker(s)`);
  httpSection.push('');
  httpSection.push('| path | c=8 req/s | c=8 p50 ms | c=8 p99 ms | c=64 req/s | c=64 p50 ms | c=64 p99 ms'
    + ' | CPU µs/req c=8 | CPU µs/req c=64 | errors |');
  httpSection.push('|---|---|---|---|---|---|---|---|---|---|');
  const med = {};
  for (const target of ['direct', 'nginx', 'olla']) {
    const have = http.some((r) => r.upstream === upstream && r.threads === threads && r.target === target);
    if (!have) continue;
    const m = (c, f) => httpMed(upstream, threads, target, c, f);
    med[target] = {
      rps8: m(8, (r) => r.wrk.rps), p50_8: m(8, (r) => r.wrk.p50_us), p99_8: m(8, (r) => r.wrk.p99_us),
      rps64: m(64, (r) => r.wrk.rps), p50_64: m(64, (r) => r.wrk.p50_us), p99_64: m(64, (r) => r.wrk.p99_us),
      cpu8: m(8, cpuPerReq), cpu64: m(64, cpuPerReq),
    };
    const errs = http.filter((r) => r.upstream === upstream && r.threads === threads && r.target === target)
      .reduce((a, r) => a + r.wrk.errors + r.wrk.non2xx, 0);
    const x = med[target];
    const name = target === 'direct' ? 'straight to the upstream' : target === 'nginx'
      ? 'nginx reverse proxy' : 'olla';
    httpSection.push(`| ${name} | ${fmtInt(x.rps8)} | ${ms(x.p50_8)} | ${ms(x.p99_8)} | ${fmtInt(x.rps64)}`
      + ` | ${ms(x.p50_64)} | ${ms(x.p99_64)} | ${fmt(x.cpu8, 1)} | ${fmt(x.cpu64, 1)} | ${errs} |`);
  }
  if (med.olla && med.nginx) {
    const o = med.olla, n = med.nginx;
    httpSection.push(`| **olla / nginx** | **${fx(ratio(o.rps8, n.rps8))}** | ${fx(ratio(o.p50_8, n.p50_8))}`
      + ` | **${fx(ratio(o.p99_8, n.p99_8))}** | **${fx(ratio(o.rps64, n.rps64))}**`
      + ` | ${fx(ratio(o.p50_64, n.p50_64))} | **${fx(ratio(o.p99_64, n.p99_64))}**`
      + ` | ${fx(ratio(o.cpu8, n.cpu8))} | ${fx(ratio(o.cpu64, n.cpu64))} | |`);
    // Per-round ratios show how much the machine moved during the run; their median pairs loads
    // run back to back (the verdicts above stay the ratio of the medians).
    const perRound = (c) => {
      const rounds = [...new Set(http.map((r) => r.round))].sort();
      const ratios = rounds.map((rd) => {
        const get = (t) => httpOk.find((r) => r.upstream === upstream && r.threads === threads
                                        && r.target === t && r.c === c && r.round === rd);
        const a = get('olla'), b = get('nginx');
        return a && b ? a.wrk.rps / b.wrk.rps : null;
      });
      const paired = ratios.filter((x) => x !== null);
      const mid = paired.length > 1 ? ` (median ${median(paired).toFixed(2)})` : '';
      return ratios.map((x) => (x === null ? '–' : x.toFixed(2))).join(', ') + mid;
    };
    httpSection.push('');
    httpSection.push(`olla/nginx req/s per round: c=8 ${perRound(8)}; c=64 ${perRound(64)}.`);
    if (upstream === 'nginx-json') {
      for (const c of [8, 64]) {
        const rr = ratio(c === 8 ? o.rps8 : o.rps64, c === 8 ? n.rps8 : n.rps64);
        const pr = ratio(c === 8 ? o.p99_8 : o.p99_64, c === 8 ? n.p99_8 : n.p99_64);
        const count = (t) => httpOk.filter((r) => r.upstream === upstream && r.threads === threads
                                             && r.target === t && r.c === c).length;
        const few = count('olla') < count('nginx')
          ? ` (olla: ${count('olla')} of ${count('nginx')} rounds)` : '';
        targets.push([`throughput c=${c}, ${threads} thread(s)`, fx(rr) + few, '>= 1.0x nginx',
                      rr === null ? null : rr >= 1.0]);
        targets.push([`p99 latency c=${c}, ${threads} thread(s)`, fx(pr) + few, '<= 1.2x nginx',
                      pr === null ? null : pr <= 1.2]);
      }
    }
  }
  httpSection.push('');
}

// ------------------------------------------------------------------------- perf

const perf = of('perf');
const perfSection = [];
if (perf.length) {
  // accept and accept4 as one column; a column none of the loads made a call of is left out.
  for (const r of perf) {
    if (r.counters.accept4 !== undefined) {
      r.counters.accept = (r.counters.accept || 0) + r.counters.accept4;
      delete r.counters.accept4;
    }
  }
  const cols = ['syscalls', 'read', 'write', 'readv', 'writev', 'recvfrom', 'sendto', 'recvmsg',
                'sendmsg', 'epoll_wait', 'epoll_ctl', 'ioctl', 'futex', 'accept', 'setsockopt',
                'getpeername', 'shutdown', 'close', 'context-switches']
    .filter((k) => perf.some((r) => r.counters[k] > 0));
  perfSection.push('### Per request, from `perf stat` (upstream nginx JSON, 1 thread; a separate,'
    + ' traced load)');
  perfSection.push('');
  perfSection.push(`| proxy | c | req/s (traced) | CPU µs | ${cols.join(' | ')} |`);
  perfSection.push(`|---|---|---|---|${cols.map(() => '---').join('|')}|`);
  for (const r of perf) {
    const n = r.wrk.requests || 1;
    const per = (k) => (r.counters[k] === undefined ? '–' : (r.counters[k] / n).toFixed(2));
    const cpu = r.counters['task-clock'] !== undefined ? ((r.counters['task-clock'] * 1e3) / n).toFixed(1) : '–';
    const c = r.conn === 'close' ? `${r.c}, new connection each request` : r.c;
    perfSection.push(`| ${r.target} | ${c} | ${fmtInt(r.wrk.rps)} | ${cpu} | ${cols.map(per).join(' | ')} |`);
  }
  perfSection.push('');
  perfSection.push('Counts are system calls made by the proxy process(es) per proxied request (client'
    + ' and upstream side together); `syscalls` is all of them. "New connection each request": wrk'
    + ' sends `Connection: close`, so each request also pays for accepting and closing its client'
    + ' connection.');
  perfSection.push('');
}

// ------------------------------------------------------------------------- SSE

const sse = of('sse');
const sseSection = [];
if (sse.length) {
  const s0 = sse[0];
  sseSection.push(`### SSE: ${s0.streams} concurrent streams, frames 200 ms apart, frame latency`
    + ' = arrival at the client minus the upstream\'s send stamp');
  sseSection.push('');
  sseSection.push('| path | frame p50 ms | frame p99 ms | first frame p50 ms | first frame p99 ms'
    + ' | gap − delay p50 ms | gap − delay p99 ms | proxy CPU ms per load | streams completed |');
  sseSection.push('|---|---|---|---|---|---|---|---|---|');
  const m = (t, f) => median(sse.filter((r) => r.target === t).map(f));
  for (const t of ['direct', 'nginx', 'olla']) {
    if (!sse.some((r) => r.target === t)) continue;
    const done = sse.filter((r) => r.target === t).map((r) => `${r.completed}/${r.streams}`).join(', ');
    sseSection.push(`| ${t === 'direct' ? 'straight to the upstream' : t} | ${ms(m(t, (r) => r.frame_latency_us.p50))}`
      + ` | ${ms(m(t, (r) => r.frame_latency_us.p99))} | ${ms(m(t, (r) => r.first_frame_us.p50))}`
      + ` | ${ms(m(t, (r) => r.first_frame_us.p99))} | ${ms(m(t, (r) => r.gap_minus_delay_us.p50))}`
      + ` | ${ms(m(t, (r) => r.gap_minus_delay_us.p99))}`
      + ` | ${cpuMs(m(t, (r) => (r.cpu_s == null ? null : r.cpu_s * 1e6)))} | ${done} |`);
  }
  // Added latency: per round, proxied minus direct; median over rounds.
  const added = (t, key, q) => median([...new Set(sse.map((r) => r.round))].map((rd) => {
    const a = sse.find((r) => r.target === t && r.round === rd);
    const d = sse.find((r) => r.target === 'direct' && r.round === rd);
    return a && d ? a[key][q] - d[key][q] : null;
  }));
  for (const t of ['nginx', 'olla']) {
    if (!sse.some((r) => r.target === t)) continue;
    sseSection.push(`| **added by ${t}** | **${ms(added(t, 'frame_latency_us', 'p50'))}**`
      + ` | **${ms(added(t, 'frame_latency_us', 'p99'))}** | ${ms(added(t, 'first_frame_us', 'p50'))}`
      + ` | ${ms(added(t, 'first_frame_us', 'p99'))} | | | | |`);
  }
  sseSection.push('');
  sseSection.push('"Added" is the proxied figure minus the direct one, per round, median over rounds. A'
    + ' negative value means the difference is below what this machine can resolve: the direct'
    + ' path\'s own p99 is the noise floor. Proxy CPU: user and system time of the proxy\'s'
    + ' processes over one load (all its streams and frames), median over rounds.');
  sseSection.push('');
  const olla99 = added('olla', 'frame_latency_us', 'p99');
  const olla50 = added('olla', 'frame_latency_us', 'p50');
  const nginx99 = added('nginx', 'frame_latency_us', 'p99');
  const direct99 = m('direct', (r) => r.frame_latency_us.p99);
  targets.push([`SSE added latency per frame, ${s0.streams} streams`,
                `p50 ${ms(olla50)} ms, p99 ${ms(olla99)} ms (nginx adds p99 ${ms(nginx99)} ms;`
                + ` direct p99 ${ms(direct99)} ms)`, '< 1 ms p99',
                olla99 === null ? null : olla99 < 1000]);
}

// ------------------------------------------------------------------------- held streams

const hold = of('hold');
const holdSection = [];
if (hold.length) {
  const h0 = hold[0];
  holdSection.push(`### Concurrent long streams (each idles 8 s between frames; asked ${fmtInt(h0.asked)},`
    + ` opened ${fmtInt(h0.streams)})`);
  holdSection.push('');
  if (h0.streams < h0.asked) {
    holdSection.push(`The open-file hard limit here is ${h0.nofile} and a proxy needs two descriptors per`
      + ` stream, so ${fmtInt(h0.streams)} streams were opened instead of ${fmtInt(h0.asked)}.`);
    holdSection.push('');
  }
  holdSection.push('| proxy | streams with their first frame | still open at the peak'
    + ' | proxy→upstream connections | idle RSS MB | peak RSS MB | RSS per stream KB | time to open all s | errors |');
  holdSection.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of hold) {
    holdSection.push(`| ${r.target} | ${fmtInt(r.first_frames)} / ${fmtInt(r.streams)} | ${fmtInt(r.open_now)}`
      + ` | ${fmtInt(r.upstream_established)} | ${fmt(r.idle_rss_kb / 1024, 1)} | ${fmt(r.peak_rss_kb / 1024, 1)}`
      + ` | ${fmt(r.rss_per_stream_kb, 1)} | ${fmt(r.open_ms / 1000, 1)} | ${JSON.stringify(r.errors)} |`);
  }
  holdSection.push('');
  for (const r of hold) {
    if (r.notes && r.notes.length) holdSection.push(`${r.target} logged: ${r.notes.map((n) => `\`${n}\``).join('; ')}.`);
  }
  if (hold.some((r) => r.notes && r.notes.length)) holdSection.push('');
  const o = hold.find((r) => r.target === 'olla');
  if (o) {
    const all = o.first_frames === o.streams && o.open_now === o.streams
      && o.upstream_established >= o.streams;
    const note = o.streams < 10000 ? ` (${fmtInt(o.streams)} opened, not 10,000)` : '';
    targets.push(['streams served at once, no per-backend cap',
                  `${fmtInt(o.first_frames)} of ${fmtInt(o.streams)}, ${fmtInt(o.upstream_established)}`
                  + ` upstream connections${note}`, '10,000, all at once', !all ? false
                  : o.streams >= 10000 ? true : `PASS at ${fmtInt(o.streams)} (not 10,000)`]);
    targets.push(['RSS per held stream', `${fmt(o.rss_per_stream_kb, 1)} KB`, '<= 32 KB',
                  o.rss_per_stream_kb === null ? null : o.rss_per_stream_kb <= 32]);
  }
}

// ------------------------------------------------------------------------- start-up

const st = of('startup');
const stSection = [];
if (st.length) {
  stSection.push('### Start-up and idle memory (1 thread/worker; medians of'
    + ` ${Math.max(...st.map((r) => r.run))} starts)`);
  stSection.push('');
  stSection.push('| process | exec to serving ms | exec to upstream healthy ms | idle RSS MB'
    + ' | of which anonymous MB | of which files MB |');
  stSection.push('|---|---|---|---|---|---|');
  for (const t of ['olla', 'nginx']) {
    const rs = st.filter((r) => r.target === t);
    if (!rs.length) continue;
    stSection.push(`| ${t === 'nginx' ? 'nginx (master + worker)' : t} | ${fmt(median(rs.map((r) => r.serving_ms)), 1)}`
      + ` | ${t === 'olla' ? fmt(median(rs.map((r) => r.ready_ms)), 1) : '–'}`
      + ` | ${fmt(median(rs.map((r) => r.idle_rss_kb)) / 1024, 1)}`
      + ` | ${t === 'olla' ? fmt(median(rs.map((r) => r.rss_anon_kb)) / 1024, 1) : '–'}`
      + ` | ${t === 'olla' ? fmt(median(rs.map((r) => r.rss_file_kb)) / 1024, 1) : '–'} |`);
  }
  stSection.push('');
  const o = st.filter((r) => r.target === 'olla');
  if (o.length) {
    const rss = median(o.map((r) => r.idle_rss_kb));
    const up = median(o.map((r) => r.serving_ms));
    targets.push(['idle RSS', `${fmt(rss / 1024, 1)} MB`, '<= 10 MB', rss <= 10 * 1024]);
    targets.push(['start-up to serving', `${fmt(up, 1)} ms`, '< 100 ms', up < 100]);
  }
}

// ------------------------------------------------------------------------- reuse

const reuse = of('reuse');
const reuseSection = [];
if (reuse.length) {
  reuseSection.push('### Upstream connection reuse (c=64, 1 thread/worker)');
  reuseSection.push('');
  reuseSection.push('| proxy | requests at the upstream | upstream connections | reuse |');
  reuseSection.push('|---|---|---|---|');
  for (const r of reuse) {
    const pct = r.requests ? (100 * (1 - r.connections / r.requests)) : null;
    reuseSection.push(`| ${r.target} | ${fmtInt(r.requests)} | ${fmtInt(r.connections)} | ${fmt(pct, 3)} % |`);
    if (r.target === 'olla') {
      targets.push(['upstream connection reuse', `${fmt(pct, 3)} %`, '>= 99 %', pct === null ? null : pct >= 99]);
    }
  }
  reuseSection.push('');
}

// ------------------------------------------------------------------------- print

const crashes = crashRecords;
p('## Targets');
p();
if (crashes.length) {
  for (const c of crashes) {
    p(`**${c.target} stopped running (${c.how}) during ${c.during}**; that sample and the later`
      + ' ones of the same process are missing from the medians.');
  }
  p();
}
p('| target | measured | goal | result |');
p('|---|---|---|---|');
const ollaCrashes = crashes.filter((c) => c.target === 'olla');
targets.push(['olla keeps running through every load', ollaCrashes.length
  ? ollaCrashes.map((c) => `${c.how} during ${c.during}`).join('; ') : 'yes', 'no crash',
              ollaCrashes.length === 0]);
for (const [what, measured, goal, ok] of targets) p(`| ${what} | ${measured} | ${goal} | ${verdict(ok)} |`);
p();
p('## Figures');
p();
for (const s of [httpSection, perfSection, sseSection, holdSection, stSection, reuseSection]) {
  for (const l of s) p(l);
}
process.stdout.write(out.join('\n'));
