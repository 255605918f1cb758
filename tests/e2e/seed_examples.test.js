// The API page's (docs: litellm-api.md) curl examples, run as written with curl, against olla
// in front of the mock LiteLLM. Only the host and port (http://localhost:40114) are replaced by
// the test gateway's. The examples are copied below verbatim; when the page itself is found
// (SEED_DOC, or shared/seed/litellm-api.md next to or above the repository), a test checks that
// the copies still match it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startStack } from './harness.js';

const T = { timeout: 15_000 };
const SEED_HOST = 'http://localhost:40114';

// ---- The examples, verbatim from the page's ```bash blocks.

const CHAT = `curl -X POST http://localhost:40114/olla/litellm/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "gpt-4",
    "messages": [
      {
        "role": "system",
        "content": "You are a helpful assistant."
      },
      {
        "role": "user", 
        "content": "Explain quantum computing in simple terms."
      }
    ],
    "temperature": 0.7,
    "max_tokens": 500,
    "stream": false
  }'`;

const MODELS = `curl http://localhost:40114/olla/litellm/v1/models`;

const EMBEDDINGS = `curl -X POST http://localhost:40114/olla/litellm/v1/embeddings \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "text-embedding-ada-002",
    "input": "The quick brown fox jumps over the lazy dog"
  }'`;

const HEALTH = `curl http://localhost:40114/olla/litellm/health`;

// The page's "Streaming Response" section: the chat example with "stream": true.
const CHAT_STREAM = CHAT.replace('"stream": false', '"stream": true');

// ---- A tiny POSIX-shell word splitter: enough for the examples (quotes, backslash-newline).
function shellWords(src) {
  const words = [];
  let cur = null;
  let i = 0;
  const push = () => {
    if (cur !== null) words.push(cur);
    cur = null;
  };
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\\' && src[i + 1] === '\n') {
      i += 2; // line continuation
    } else if (ch === ' ' || ch === '\t' || ch === '\n') {
      push();
      i++;
    } else if (ch === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      cur = (cur ?? '') + src.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      cur = cur ?? '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && '"\\$`\n'.includes(src[i + 1])) {
          if (src[i + 1] !== '\n') cur += src[i + 1];
          i += 2;
        } else {
          cur += src[i++];
        }
      }
      if (i >= src.length) throw new Error('unterminated double quote');
      i++;
    } else if (ch === '\\') {
      cur = (cur ?? '') + (src[i + 1] ?? '');
      i += 2;
    } else {
      cur = (cur ?? '') + ch;
      i++;
    }
  }
  push();
  return words;
}

// Runs an example: the command's own words with the host swapped, plus -sS -i and a time limit
// in front (so the status and headers can be checked and nothing hangs).
function runCurl(example, olla) {
  const argv = shellWords(example).map((w) => w.split(SEED_HOST).join(olla));
  assert.equal(argv[0], 'curl');
  const args = ['-sS', '-i', '--max-time', '10', ...argv.slice(1)];
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\ncurl ${args.join(' ')}\nstderr: ${stderr}`;
        reject(err);
        return;
      }
      resolve(parseHttp(stdout));
    });
  });
}

// Splits curl -i output (possibly preceded by 100 Continue heads) into status, headers, body.
function parseHttp(out) {
  let rest = out;
  for (;;) {
    const sep = rest.indexOf('\r\n\r\n');
    assert.ok(sep >= 0, `no header/body separator in curl output:\n${out}`);
    const head = rest.slice(0, sep).split('\r\n');
    const body = rest.slice(sep + 4);
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head[0])?.[1]);
    if (status === 100) {
      rest = body;
      continue;
    }
    const headers = {};
    for (const line of head.slice(1)) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    return { status, headers, body };
  }
}

function findSeedDoc() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.SEED_DOC];
  // tests/e2e -> repo root -> its parents, each with shared/seed/litellm-api.md
  for (let dir = path.resolve(here, '../..'), k = 0; k < 4; k++, dir = path.dirname(dir)) {
    candidates.push(path.join(dir, 'shared/seed/litellm-api.md'));
  }
  return candidates.find((p) => p && existsSync(p));
}

const isInt = (v) => Number.isInteger(v);

describe('the seed page\'s curl examples, run as written', { timeout: 50_000 }, () => {
  let stack;

  before(async () => {
    stack = await startStack();
  });

  after(async () => {
    await stack?.stop();
  });

  test('the examples here are the page\'s, verbatim', (t) => {
    const doc = findSeedDoc();
    if (!doc) {
      t.skip('seed page not found (set SEED_DOC to check)');
      return;
    }
    const text = readFileSync(doc, 'utf8');
    for (const [name, ex] of Object.entries({ CHAT, MODELS, EMBEDDINGS, HEALTH })) {
      assert.ok(text.includes('```bash\n' + ex + '\n```'), `${name} no longer matches ${doc}`);
    }
    assert.ok(text.includes('When `"stream": true`'));
  });

  test('POST /olla/litellm/v1/chat/completions', T, async () => {
    const res = await runCurl(CHAT, stack.olla);
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    const b = JSON.parse(res.body);
    assert.equal(typeof b.id, 'string');
    assert.equal(b.object, 'chat.completion');
    assert.ok(isInt(b.created));
    assert.equal(b.model, 'gpt-4');
    assert.equal(b.choices.length, 1);
    assert.equal(b.choices[0].index, 0);
    assert.equal(b.choices[0].message.role, 'assistant');
    assert.equal(typeof b.choices[0].message.content, 'string');
    assert.ok(b.choices[0].message.content.length > 0);
    assert.equal(b.choices[0].finish_reason, 'stop');
    for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.ok(isInt(b.usage[k]), k);
    assert.equal(b.usage.total_tokens, b.usage.prompt_tokens + b.usage.completion_tokens);
    // The page's "Response Headers" section.
    assert.equal(res.headers['x-olla-endpoint'], 'litellm-gateway');
    assert.equal(res.headers['x-olla-backend-type'], 'litellm');
    assert.equal(res.headers['x-olla-model'], 'gpt-4');
    assert.ok(res.headers['x-olla-request-id']);
    assert.match(res.headers['x-olla-response-time'] ?? '', /^\d+\.\d{3}s$/);
  });

  test('the same with "stream": true: data: frames ending with data: [DONE]', T, async () => {
    assert.notEqual(CHAT_STREAM, CHAT);
    const res = await runCurl(CHAT_STREAM, stack.olla);
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(res.headers['x-olla-model'], 'gpt-4');
    assert.equal(res.headers['x-olla-endpoint'], 'litellm-gateway');
    assert.ok(res.body.endsWith('\n\n'), 'the last frame is terminated by a blank line');
    const frames = res.body.split('\n\n').filter((f) => f.length > 0);
    assert.ok(frames.length >= 3, `frames: ${frames.length}`);
    for (const f of frames) assert.match(f, /^data: \S/, `frame: ${JSON.stringify(f)}`);
    assert.equal(frames.at(-1), 'data: [DONE]');
    let text = '';
    const finish = [];
    for (const f of frames.slice(0, -1)) {
      const chunk = JSON.parse(f.slice('data: '.length));
      assert.equal(typeof chunk.id, 'string');
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.ok(isInt(chunk.created));
      assert.equal(chunk.model, 'gpt-4');
      assert.equal(chunk.choices[0].index, 0);
      assert.ok('delta' in chunk.choices[0]);
      text += chunk.choices[0].delta.content ?? '';
      if (chunk.choices[0].finish_reason) finish.push(chunk.choices[0].finish_reason);
    }
    assert.equal(text, 'Quantum computing uses qubits that');
    assert.deepEqual(finish, ['stop']);
    assert.equal(res.body.split('data: [DONE]').length, 2, '[DONE] exactly once');
  });

  test('GET /olla/litellm/v1/models', T, async () => {
    const res = await runCurl(MODELS, stack.olla);
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    const b = JSON.parse(res.body);
    assert.equal(b.object, 'list');
    assert.ok(Array.isArray(b.data));
    for (const m of b.data) {
      assert.deepEqual(Object.keys(m).sort(), ['created', 'id', 'object', 'owned_by']);
      assert.equal(typeof m.id, 'string');
      assert.equal(m.object, 'model');
      assert.ok(isInt(m.created));
      assert.equal(typeof m.owned_by, 'string');
    }
    // The page's four chat models, owned by their providers, plus the mock's embedding model.
    const owners = Object.fromEntries(b.data.map((m) => [m.id, m.owned_by]));
    assert.deepEqual(owners, {
      'gpt-4': 'openai',
      'claude-3-opus': 'anthropic',
      'gemini-pro': 'google',
      'llama-70b': 'together_ai',
      'text-embedding-ada-002': 'openai',
    });
  });

  test('POST /olla/litellm/v1/embeddings', T, async () => {
    const res = await runCurl(EMBEDDINGS, stack.olla);
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.headers['x-olla-model'], 'text-embedding-ada-002');
    const b = JSON.parse(res.body);
    assert.equal(b.object, 'list');
    assert.equal(b.model, 'text-embedding-ada-002');
    assert.equal(b.data.length, 1);
    assert.equal(b.data[0].object, 'embedding');
    assert.equal(b.data[0].index, 0);
    assert.ok(Array.isArray(b.data[0].embedding) && b.data[0].embedding.length > 0);
    assert.ok(b.data[0].embedding.every((v) => typeof v === 'number'));
    assert.ok(isInt(b.usage.prompt_tokens) && isInt(b.usage.total_tokens));
  });

  test('GET /olla/litellm/health', T, async () => {
    const res = await runCurl(HEALTH, stack.olla);
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.ok(res.headers['x-olla-request-id']);
    const b = JSON.parse(res.body);
    assert.equal(b.status, 'healthy');
    assert.equal(b.models, 5);
    assert.ok(Array.isArray(b.providers));
    assert.deepEqual(b.providers, ['anthropic', 'google', 'openai', 'together_ai']);
    // The contract's addition.
    assert.deepEqual(b.endpoints, { healthy: 1, total: 1 });
  });
});
