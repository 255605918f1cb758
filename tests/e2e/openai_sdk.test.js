// The official openai npm package against olla in front of the mock LiteLLM.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';

import { mockStats, startStack, waitHealthy } from './harness.js';

const T = { timeout: 15_000 }; // per test; nothing here should take more than a few seconds

// The mock streams these words, cycled, one per content chunk.
const WORDS = ['Quantum', ' computing', ' uses', ' qubits', ' that', ' can', ' exist', ' in',
  ' superposition', ',', ' enabling', ' parallelism.'];
const expectedText = (n) => Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]).join('');

const MESSAGES = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Explain quantum computing in simple terms.' },
];

// A header value from either a fetch Headers object (openai 5.x) or a plain object (4.x).
function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

// A raw HTTP/1.1 request whose path is sent byte for byte (fetch would normalise %2e%2e away).
function rawRequest(port, method, rawPath, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: rawPath, headers, timeout: 5000, agent: false },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout on ${method} ${rawPath}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('openai SDK through olla', { timeout: 50_000 }, () => {
  let stack;
  let client;

  before(async () => {
    stack = await startStack();
    client = new OpenAI({
      baseURL: `${stack.olla}/olla/litellm/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      timeout: 10_000,
    });
  });

  after(async () => {
    await stack?.stop();
  });

  // The mock keeps only its last request, and the gateway's 1 s health probes land there too:
  // null when a probe came in between (the caller then skips those checks).
  async function lastLlmRequest() {
    const last = (await mockStats(stack)).last_request;
    return last && !String(last.target).startsWith('/health') ? last : null;
  }

  test('models.list() returns the mock models with their real providers', T, async () => {
    const page = await client.models.list();
    const models = page.data;
    const byId = Object.fromEntries(models.map((m) => [m.id, m]));
    assert.deepEqual(
      Object.keys(byId).sort(),
      ['claude-3-opus', 'gemini-pro', 'gpt-4', 'llama-70b', 'text-embedding-ada-002'],
    );
    assert.equal(models.length, 5, 'no duplicates');
    const owners = Object.fromEntries(models.map((m) => [m.id, m.owned_by]));
    assert.deepEqual(owners, {
      'gpt-4': 'openai',
      'claude-3-opus': 'anthropic',
      'gemini-pro': 'google',
      'llama-70b': 'together_ai',
      'text-embedding-ada-002': 'openai',
    });
    for (const m of models) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
    }
  });

  test('chat.completions.create (non-stream): content, usage and X-Olla headers', T, async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4', messages: MESSAGES, temperature: 0.7, max_tokens: 500 })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'gpt-4');
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, expectedText(5));
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(data.usage, { prompt_tokens: 25, completion_tokens: 5, total_tokens: 30 });

    const h = response.headers;
    assert.equal(h.get('x-olla-endpoint'), 'litellm-gateway');
    assert.equal(h.get('x-olla-backend-type'), 'litellm');
    assert.equal(h.get('x-olla-model'), 'gpt-4');
    const rid = h.get('x-olla-request-id');
    assert.ok(rid && /^[\x21-\x7e]{1,128}$/.test(rid), `x-olla-request-id: ${rid}`);
    assert.match(h.get('x-olla-response-time') ?? '', /^\d+\.\d{3}s$/);
    // Upstream headers pass through.
    assert.equal(h.get('x-litellm-model-id'), 'mock');

    // The mock echoes the X-Request-ID it received: the gateway sent its id upstream.
    assert.equal(h.get('x-request-id'), rid);
    // The request reached LiteLLM with the prefix stripped, the body unchanged, the key forwarded.
    const last = await lastLlmRequest();
    if (last) {
      assert.equal(last.method, 'POST');
      assert.equal(last.target, '/v1/chat/completions');
      assert.equal(last.json.model, 'gpt-4');
      assert.deepEqual(last.json.messages, MESSAGES);
      assert.equal(last.headers['x-request-id'], rid);
      assert.equal(last.headers.authorization, 'Bearer sk-test');
    }
  });

  test('a client X-Request-ID comes back as X-Olla-Request-ID (and goes upstream)', T, async () => {
    const { response } = await client.chat.completions
      .create(
        { model: 'claude-3-opus', messages: MESSAGES },
        { headers: { 'X-Request-ID': 'my-id-1' } },
      )
      .withResponse();
    assert.equal(response.headers.get('x-olla-request-id'), 'my-id-1');
    assert.equal(response.headers.get('x-olla-model'), 'claude-3-opus');
    assert.equal(response.headers.get('x-request-id'), 'my-id-1', 'sent upstream (mock echo)');
    const last = await lastLlmRequest();
    if (last) assert.equal(last.headers['x-request-id'], 'my-id-1');
  });

  test('streaming chat with include_usage: all deltas, usage on the final chunk', T, async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'gpt-4',
        messages: MESSAGES,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(response.headers.get('x-olla-endpoint'), 'litellm-gateway');
    assert.equal(response.headers.get('x-olla-backend-type'), 'litellm');
    assert.equal(response.headers.get('x-olla-model'), 'gpt-4');
    assert.ok(response.headers.get('x-olla-request-id'));
    assert.match(response.headers.get('x-olla-response-time') ?? '', /^\d+\.\d{3}s$/);

    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 7, `got ${chunks.length} chunks`);
    let text = '';
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      for (const choice of c.choices) text += choice.delta?.content ?? '';
    }
    assert.equal(text, expectedText(5));
    const finish = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean);
    assert.deepEqual(finish, ['stop']);
    const final = chunks.at(-1);
    assert.deepEqual(final.choices, []);
    assert.deepEqual(final.usage, { prompt_tokens: 25, completion_tokens: 5, total_tokens: 30 });
  });

  test('streaming is live: chunks arrive as the backend produces them (no batching)', T, async () => {
    const n = 4;
    const delay = 200;
    const stream = await client.chat.completions.create(
      { model: 'gpt-4', messages: MESSAGES, stream: true },
      { headers: { 'x-mock-chunks': String(n), 'x-mock-delay-ms': String(delay) } },
    );
    const t0 = performance.now();
    const arrivals = [];
    let text = '';
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta?.content;
      if (content) {
        arrivals.push(performance.now() - t0);
        text += content;
      }
    }
    assert.equal(text, expectedText(n));
    assert.equal(arrivals.length, n, `content chunks seen separately: ${arrivals.map(Math.round)}`);
    const spread = arrivals.at(-1) - arrivals[0];
    assert.ok(
      spread >= (n - 1) * (delay * 0.75),
      `first..last content chunk ${spread.toFixed(0)} ms, want >= ${(n - 1) * delay * 0.75} ms ` +
        `(arrivals: ${arrivals.map(Math.round).join(', ')} ms)`,
    );
    for (let i = 1; i < arrivals.length; i++) {
      assert.ok(
        arrivals[i] - arrivals[i - 1] >= delay * 0.5,
        `chunk ${i} came ${(arrivals[i] - arrivals[i - 1]).toFixed(0)} ms after chunk ${i - 1}`,
      );
    }
  });

  test('completions.create (text completion), plain', T, async () => {
    const { data, response } = await client.completions
      .create({ model: 'gpt-4', prompt: 'Say something', max_tokens: 16 })
      .withResponse();
    assert.equal(response.headers.get('x-olla-model'), 'gpt-4');
    assert.equal(response.headers.get('x-olla-endpoint'), 'litellm-gateway');
    assert.equal(data.object, 'text_completion');
    assert.equal(data.choices[0].text, expectedText(5));
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.equal(data.usage.total_tokens, 30);
    const last = await lastLlmRequest();
    if (last) assert.equal(last.target, '/v1/completions');
  });

  test('completions.create (text completion), streamed', T, async () => {
    const stream = await client.completions.create(
      { model: 'gpt-4', prompt: 'Say something', stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-mock-chunks': '7' } },
    );
    let text = '';
    let usage;
    let count = 0;
    for await (const chunk of stream) {
      count++;
      for (const c of chunk.choices) text += c.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(count >= 9, `got ${count} chunks`);
    assert.equal(text, expectedText(7));
    assert.deepEqual(usage, { prompt_tokens: 25, completion_tokens: 7, total_tokens: 32 });
  });

  test('embeddings.create with a string input', T, async () => {
    // encoding_format given explicitly: without it the SDK asks for base64, which the mock ignores.
    const { data, response } = await client.embeddings
      .create({
        model: 'text-embedding-ada-002',
        input: 'The quick brown fox jumps over the lazy dog',
        encoding_format: 'float',
      })
      .withResponse();
    assert.equal(response.headers.get('x-olla-model'), 'text-embedding-ada-002');
    assert.equal(data.object, 'list');
    assert.equal(data.model, 'text-embedding-ada-002');
    assert.equal(data.data.length, 1);
    assert.equal(data.data[0].object, 'embedding');
    assert.equal(data.data[0].index, 0);
    assert.ok(data.data[0].embedding.length > 0);
    assert.ok(data.data[0].embedding.every((v) => typeof v === 'number' && Number.isFinite(v)));
    assert.deepEqual(data.usage, { prompt_tokens: 9, total_tokens: 9 });
    const last = await lastLlmRequest();
    if (last) assert.equal(last.target, '/v1/embeddings');
  });

  test('embeddings.create with an array input', T, async () => {
    const input = ['first text', 'second text', 'third text'];
    const res = await client.embeddings.create({
      model: 'text-embedding-ada-002',
      input,
      encoding_format: 'float',
    });
    assert.equal(res.data.length, input.length);
    res.data.forEach((e, i) => {
      assert.equal(e.object, 'embedding');
      assert.equal(e.index, i);
      assert.ok(e.embedding.length > 0);
    });
    // Different inputs, different vectors.
    assert.notDeepEqual(res.data[0].embedding, res.data[1].embedding);
    const last = await lastLlmRequest();
    if (last) assert.deepEqual(last.json.input, input);
  });

  test('a backend 429 raises RateLimitError with Retry-After and provider/endpoint context', T, async () => {
    let caught;
    await assert.rejects(
      client.chat.completions.create(
        { model: 'gpt-4', messages: MESSAGES },
        { headers: { 'x-mock-fail': '429' } },
      ),
      (err) => {
        caught = err;
        return true;
      },
    );
    assert.ok(caught instanceof OpenAI.RateLimitError, `got ${caught?.constructor?.name}: ${caught}`);
    assert.ok(caught instanceof OpenAI.APIError);
    assert.equal(caught.status, 429);
    assert.equal(header(caught.headers, 'retry-after'), '7');
    assert.equal(header(caught.headers, 'x-olla-endpoint'), 'litellm-gateway');
    assert.ok(header(caught.headers, 'x-olla-request-id'));
    assert.equal(caught.error?.type, 'rate_limit_error');
    assert.equal(caught.error?.message, 'Rate limit exceeded for model gpt-4');
    assert.equal(caught.error?.provider, 'openai');
    assert.equal(caught.error?.endpoint, 'litellm-gateway');
    // The backend's own fields are kept.
    assert.ok('code' in caught.error);
  });

  test('the 429 context names the requested model\'s provider (anthropic)', T, async () => {
    let caught;
    await assert.rejects(
      client.chat.completions.create(
        { model: 'claude-3-opus', messages: MESSAGES },
        { headers: { 'x-mock-fail': '429' } },
      ),
      (err) => {
        caught = err;
        return true;
      },
    );
    assert.ok(caught instanceof OpenAI.RateLimitError);
    assert.equal(caught.error?.provider, 'anthropic');
    assert.equal(caught.error?.endpoint, 'litellm-gateway');
  });

  // Reads a stream to its end; resolves with the chunks seen, or rejects with the error raised
  // by the SDK, with the chunks seen before it attached as err.seenChunks.
  async function drain(stream) {
    const seen = [];
    try {
      for await (const chunk of stream) seen.push(chunk);
    } catch (err) {
      err.seenChunks = seen;
      throw err;
    }
    return seen;
  }

  test('mid-stream failure (backend error frame): the stream throws after the first chunks', T, async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4', messages: MESSAGES, stream: true },
      { headers: { 'x-mock-fail': 'midstream' } },
    );
    let caught;
    await assert.rejects(drain(stream), (err) => {
      caught = err;
      return true;
    });
    assert.ok(caught.seenChunks.length >= 1, 'received chunks before the failure');
    const text = caught.seenChunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, expectedText(2));
    assert.ok(caught instanceof OpenAI.APIError, `got ${caught?.constructor?.name}: ${caught}`);
    assert.match(String(caught.message), /mid-stream/);
  });

  test('mid-stream failure (backend connection reset): the stream throws, never ends cleanly', T, async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4', messages: MESSAGES, stream: true },
      { headers: { 'x-mock-fail': 'reset', 'X-Request-ID': 'reset-1' } },
    );
    let caught;
    await assert.rejects(drain(stream), (err) => {
      caught = err;
      return true;
    });
    assert.ok(caught.seenChunks.length >= 1, 'received chunks before the failure');
    const text = caught.seenChunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, expectedText(2));
    // The gateway's final SSE frame (contract 3): {"error":{"type":"upstream_error","code":502,...}}
    assert.ok(caught instanceof OpenAI.APIError, `got ${caught?.constructor?.name}: ${caught}`);
    assert.equal(caught.error?.type, 'upstream_error');
    assert.equal(caught.error?.code, 502);
  });

  test('the gateway serves again after a mid-stream reset', T, async () => {
    await waitHealthy(stack.olla, { timeoutMs: 10_000 });
    const res = await client.chat.completions.create({ model: 'gpt-4', messages: MESSAGES });
    assert.equal(res.choices[0].message.content, expectedText(5));
  });

  test('X-Olla-Response-Time counts the wait for the upstream\'s headers', T, async () => {
    const { response } = await client.chat.completions
      .create(
        { model: 'gpt-4', messages: MESSAGES },
        { headers: { 'x-mock-fail': 'slow-headers', 'x-mock-delay-ms': '600' } },
      )
      .withResponse();
    const rt = response.headers.get('x-olla-response-time') ?? '';
    assert.match(rt, /^\d+\.\d{3}s$/);
    const secs = Number(rt.slice(0, -1));
    assert.ok(secs >= 0.6 && secs < 5, `x-olla-response-time ${rt}, the upstream took 0.6 s`);
  });

  test('a client that stops reading a stream makes the gateway hang up on the backend', T, async () => {
    const before = (await mockStats(stack)).disconnects;
    const stream = await client.chat.completions.create(
      { model: 'gpt-4', messages: MESSAGES, stream: true },
      { headers: { 'x-mock-chunks': '100', 'x-mock-delay-ms': '100' } },
    );
    let seen = 0;
    try {
      for await (const chunk of stream) {
        void chunk;
        if (++seen === 2) stream.controller.abort();
      }
    } catch (err) {
      if (!(err instanceof OpenAI.APIUserAbortError) && err?.name !== 'AbortError') throw err;
    }
    assert.ok(seen >= 2);
    // The mock would go on for ~10 s; it must see the hang-up within a couple of chunk gaps.
    const deadline = Date.now() + 3000;
    let after = before;
    while (Date.now() < deadline && after === before) {
      await new Promise((r) => setTimeout(r, 50));
      after = (await mockStats(stack)).disconnects;
    }
    assert.ok(after > before, 'the backend saw the client\'s hang-up');
    // ... and the endpoint is not blamed for it.
    const health = await (await fetch(`${stack.olla}/olla/litellm/health`)).json();
    assert.equal(health.status, 'healthy');
  });

  test('an unknown route answers 404 JSON not_found_error with a request id', T, async () => {
    const res = await fetch(`${stack.olla}/definitely/not/a/route`, {
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.ok(res.headers.get('x-olla-request-id'));
    const body = await res.json();
    assert.equal(body.error?.type, 'not_found_error');
    assert.equal(body.error?.code, 404);
    assert.equal(typeof body.error?.message, 'string');
  });

  test('the gateway\'s own errors echo a client X-Request-ID', T, async () => {
    const res = await fetch(`${stack.olla}/nope`, {
      headers: { 'X-Request-ID': 'my-id-404' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-olla-request-id'), 'my-id-404');
  });

  test('path traversal is refused with 400 and never reaches the backend', T, async () => {
    for (const p of [
      '/olla/litellm/%2e%2e/secret',
      '/olla/litellm/%2E%2E/secret',
      '/olla/litellm/../secret',
      '/olla/litellm/v1/.%2e/.%2e/secret',
    ]) {
      const res = await rawRequest(stack.ollaPort, 'GET', p);
      assert.equal(res.status, 400, `${p} -> ${res.status} ${res.body}`);
      assert.ok(res.headers['x-olla-request-id'], `${p}: x-olla-request-id`);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      const body = JSON.parse(res.body);
      assert.equal(body.error?.type, 'invalid_request_error', p);
      assert.equal(body.error?.code, 400, p);
    }
    const last = (await mockStats(stack)).last_request;
    assert.ok(!String(last?.target ?? '').includes('secret'), `mock saw ${last?.target}`);
  });
});
