// Wire compatibility: the official `openai` npm client against a real `seekd serve` on
// 127.0.0.1 with small generated models (a DeepSeek-V3-template model and an R1-template one).
// Run by ctest (server.openai_compat), which sets SEEKD_BIN, SEEKD_TEST_TMP, SEEKD_TOKENIZER_DIR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../reference/package.json'));
const { default: OpenAI } = await import(require.resolve('openai'));

const BIN = process.env.SEEKD_BIN ?? 'build/seekd';
const TMP = process.env.SEEKD_TEST_TMP ?? '/tmp/seekd-server-test';
const TOK = process.env.SEEKD_TOKENIZER_DIR;
const TEMPLATES = path.join(here, '../../../shared/fixtures/chat-templates');
const KEY = 'sk-test-key';

// Starts `seekd serve` and resolves with { proc, url } once it prints its listening line.
export function startServer(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + err)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); });
  });
}

function makeModels() {
  fs.mkdirSync(TMP, { recursive: true });
  const v3 = path.join(TMP, 'v3.gguf');
  execFileSync(BIN, ['make-model', '--out', v3, '--tokenizer', TOK, '--layers', '2']);
  // The same vocabulary with DeepSeek-R1-Distill's template, whose prompt opens <think>.
  const r1tok = path.join(TMP, 'r1-tokenizer');
  fs.mkdirSync(r1tok, { recursive: true });
  fs.copyFileSync(path.join(TOK, 'tokenizer.json'), path.join(r1tok, 'tokenizer.json'));
  const cfg = JSON.parse(fs.readFileSync(path.join(TOK, 'tokenizer_config.json'), 'utf8'));
  cfg.chat_template = fs.readFileSync(
    path.join(TEMPLATES, 'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja'), 'utf8');
  fs.writeFileSync(path.join(r1tok, 'tokenizer_config.json'), JSON.stringify(cfg));
  const r1 = path.join(TMP, 'r1.gguf');
  execFileSync(BIN, ['make-model', '--out', r1, '--tokenizer', r1tok, '--layers', '2', '--seed', '7']);
  return { v3, r1 };
}

let server, client, models;

before(async () => {
  assert.ok(TOK, 'SEEKD_TOKENIZER_DIR must be set (run through ctest)');
  models = makeModels();
  server = await startServer(['--model', `tiny=${models.v3}`, '--model', `r1=${models.r1}`,
    '--api-key', KEY, '--threads', '1', '--ctx', '2048', '--kv-cache-mem', '64MiB']);
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: KEY, maxRetries: 0 });
});

after(() => { server?.proc.kill('SIGTERM'); });

const hello = [{ role: 'user', content: 'Hello, who are you?' }];
const longText = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');

async function ready() {
  const r = await fetch(server.url + '/ready', { headers: { Authorization: `Bearer ${KEY}` } });
  return r.json();
}

test('models are listed', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['r1', 'tiny']);
  assert.equal(list.data[0].object, 'model');
});

test('chat completion has the OpenAI/DeepSeek shape and usage', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 5, seed: 3 });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'tiny');
  assert.match(r.system_fingerprint, /^fp_seekd/);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 5);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 5);
  assert.equal(r.usage.prompt_cache_hit_tokens + r.usage.prompt_cache_miss_tokens, r.usage.prompt_tokens);
  assert.equal(r.usage.prompt_tokens_details.cached_tokens, r.usage.prompt_cache_hit_tokens);
  // The prompt is the real template: BOS, <｜User｜>, the text, <｜Assistant｜>.
  const t = await (await fetch(server.url + '/tokenize', {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny', messages: hello }),
  })).json();
  assert.equal(t.count, r.usage.prompt_tokens);
});

test('the same seed gives the same text; a repeated long prompt hits the prefix cache', async () => {
  const msgs = [{ role: 'system', content: longText }, ...hello];
  const a = await client.chat.completions.create({ model: 'tiny', messages: msgs, max_tokens: 8, seed: 11, temperature: 0.9 });
  const b = await client.chat.completions.create({ model: 'tiny', messages: msgs, max_tokens: 8, seed: 11, temperature: 0.9 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.ok(b.usage.prompt_cache_hit_tokens > 100, JSON.stringify(b.usage));
  assert.equal(b.usage.prompt_tokens_details.cached_tokens, b.usage.prompt_cache_hit_tokens);
});

test('streaming: role first, deltas that add up to the non-streamed text, usage, [DONE]', async () => {
  const whole = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 12, temperature: 0 });
  const stream = await client.chat.completions.create({
    model: 'tiny', messages: hello, max_tokens: 12, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
  const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
  assert.equal(text, whole.choices[0].message.content);
  const fin = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.equal(fin.length, 1);
  assert.equal(fin[0].choices[0].finish_reason, 'length');
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 12);
});

test('stop strings end the text before them, across tokens', async () => {
  const whole = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 16, temperature: 0 });
  const text = whole.choices[0].message.content;
  assert.ok(text.length > 10, text);
  const stop = text.slice(5, 9);
  const r = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 16, temperature: 0, stop: [stop, 'never-there'] });
  assert.equal(r.choices[0].message.content, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
});

test('n choices, each complete', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4, n: 3, temperature: 0 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  // n samples of a long prompt: computed once; the siblings find its blocks in the prefix cache
  // (the request's usage counts the prompt once, as computed by the first).
  const hits = async () => {
    const text = await (await fetch(server.url + '/metrics', { headers: { Authorization: `Bearer ${KEY}` } })).text();
    return Number(text.match(/^seekd_prefix_cache_hits_total\{model="tiny"\} (\d+)/m)[1]);
  };
  const before = await hits();
  const nl = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: longText + ' n-test' }], max_tokens: 2, n: 3, temperature: 0 });
  assert.equal(nl.usage.prompt_cache_hit_tokens, 0);
  const state = await ready();
  const block = state.models.find((m) => m.name === 'tiny').engine.kv_block_size;
  assert.ok(block >= 1, JSON.stringify(state));
  const shared = Math.floor(nl.usage.prompt_tokens / block) * block;
  assert.equal(await hits() - before, 2 * shared);
  assert.ok(r.choices.every((c) => c.message.content === r.choices[0].message.content));
  assert.equal(r.usage.completion_tokens, 12);
  const s = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4, n: 2, temperature: 0, stream: true });
  const by = new Map();
  for await (const c of s) for (const ch of c.choices) by.set(ch.index, (by.get(ch.index) ?? '') + (ch.delta.content ?? ''));
  assert.deepEqual([...by.keys()].sort(), [0, 1]);
  assert.equal(by.get(0), r.choices[0].message.content);
});

test('logprobs with top alternatives', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 5);
  for (const t of lp) {
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.logprob <= 0);
    assert.equal(t.logprob, t.top_logprobs[0].logprob);  // greedy takes the most likely
    assert.ok(Array.isArray(t.bytes) && t.bytes.length > 0);
    assert.ok(t.bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256));
  }
});

test('R1 template: reasoning goes to reasoning_content, streamed as its own field', async () => {
  // This template revision closes <think> at once unless thinking is switched on.
  const off = await client.chat.completions.create({ model: 'r1', messages: hello, max_tokens: 6, temperature: 0 });
  assert.equal(off.choices[0].message.reasoning_content, undefined);
  assert.ok(off.choices[0].message.content.length > 0);
  const think = { chat_template_kwargs: { enable_thinking: true } };
  const r = await client.chat.completions.create({ model: 'r1', messages: hello, max_tokens: 6, temperature: 0, ...think });
  const m = r.choices[0].message;
  assert.ok(m.reasoning_content.length > 0, JSON.stringify(m));
  assert.equal(m.content, '');  // a random model never closes </think> within 6 tokens
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 6);
  const s = await client.chat.completions.create({ model: 'r1', messages: hello, max_tokens: 6, temperature: 0, stream: true, ...think });
  let reasoning = '';
  for await (const c of s) reasoning += c.choices[0]?.delta?.reasoning_content ?? '';
  assert.equal(reasoning, m.reasoning_content);
});

test('text completions, streamed and not, with echo and fill-in-the-middle', async () => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'def add(a, b):', max_tokens: 6, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].finish_reason, 'length');
  const e = await client.completions.create({ model: 'tiny', prompt: 'def add(a, b):', max_tokens: 6, temperature: 0, echo: true });
  assert.equal(e.choices[0].text, 'def add(a, b):' + r.choices[0].text);
  const s = await client.completions.create({ model: 'tiny', prompt: 'def add(a, b):', max_tokens: 6, temperature: 0, stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
  // FIM through the /beta alias: prefix, suffix and the three FIM tokens.
  const beta = new OpenAI({ baseURL: server.url + '/beta', apiKey: KEY, maxRetries: 0 });
  const f = await beta.completions.create({ model: 'tiny', prompt: 'def add(a, b):\n    ', suffix: '\n    return c', max_tokens: 4, temperature: 0 });
  const plainPrompt = (await (await fetch(server.url + '/tokenize', { method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny', prompt: 'def add(a, b):\n    ' }) })).json()).count;
  const suffixLen = (await (await fetch(server.url + '/tokenize', { method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny', prompt: '\n    return c', add_special_tokens: false }) })).json()).count;
  assert.equal(f.usage.prompt_tokens, plainPrompt + suffixLen + 3);
});

test('JSON mode: json_object and json_schema outputs parse and match', async () => {
  const o = await client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 200, temperature: 0, response_format: { type: 'json_object' } });
  if (o.choices[0].finish_reason === 'stop') assert.equal(typeof JSON.parse(o.choices[0].message.content), 'object');
  const schema = {
    type: 'object',
    properties: { answer: { enum: ['yes', 'no'] }, ok: { type: 'boolean' }, n: { type: 'integer' } },
    required: ['answer', 'ok', 'n'], additionalProperties: false,
  };
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model: 'tiny', messages: hello, max_tokens: 400, seed, temperature: 1,
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema } },
    });
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].message.content);
    const v = JSON.parse(r.choices[0].message.content);
    assert.deepEqual(Object.keys(v).sort(), ['answer', 'n', 'ok']);
    assert.ok(['yes', 'no'].includes(v.answer));
    assert.equal(typeof v.ok, 'boolean');
    assert.ok(Number.isInteger(v.n));
  }
  await assert.rejects(client.chat.completions.create({
    model: 'tiny', messages: hello,
    response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/$defs/nope' } } },
  }), (e) => e.status === 422 && e.param === 'response_format');
});

test('tools and tool results go through the model template', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const messages = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 21}' },
  ];
  const r = await client.chat.completions.create({ model: 'tiny', messages, tools, max_tokens: 4, temperature: 0 });
  assert.ok(['length', 'stop', 'tool_calls'].includes(r.choices[0].finish_reason));
  const t = await (await fetch(server.url + '/tokenize', { method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny', messages, tools }) })).json();
  assert.equal(r.usage.prompt_tokens, t.count);
  // The tool result and the call are in the prompt, as the template writes them.
  const text = (await (await fetch(server.url + '/detokenize', { method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny', tokens: t.tokens }) })).json()).prompt;
  assert.ok(text.includes('<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather'), text);
  assert.ok(text.includes('<｜tool▁output▁begin｜>{"temp_c": 21}<｜tool▁output▁end｜>'), text);
});

test('tool_choice forces a call in the template format; calls stream as deltas', async () => {
  const tools = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object',
      properties: { city: { enum: ['Paris', 'Oslo'] }, days: { type: 'integer' } }, required: ['city', 'days'], additionalProperties: false } } },
    { type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {}, additionalProperties: false } } },
  ];
  const args = { model: 'tiny', messages: hello, tools, max_tokens: 300, temperature: 1, seed: 5,
    tool_choice: { type: 'function', function: { name: 'get_weather' } } };
  const r = await client.chat.completions.create(args);
  const ch = r.choices[0];
  assert.equal(ch.finish_reason, 'tool_calls', JSON.stringify(ch));
  assert.equal(ch.message.content, null);
  assert.equal(ch.message.tool_calls.length, 1);
  const call = ch.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.ok(call.id);
  const a = JSON.parse(call.function.arguments);
  assert.ok(['Paris', 'Oslo'].includes(a.city));
  assert.ok(Number.isInteger(a.days));
  // Streamed: the first delta names the call, later ones carry argument pieces.
  const s = await client.chat.completions.create({ ...args, stream: true });
  let name = '', argText = '', id = '', finish = '';
  for await (const c of s) {
    const d = c.choices[0]?.delta;
    for (const t of d?.tool_calls ?? []) {
      assert.equal(t.index, 0);
      if (t.id) id = t.id;
      name += t.function?.name ?? '';
      argText += t.function?.arguments ?? '';
    }
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(name, 'get_weather');
  assert.ok(id);
  assert.deepEqual(JSON.parse(argText), a);  // same seed, same call
  assert.equal(finish, 'tool_calls');
  // "required" picks one of the tools; an unknown name is a 422.
  const any = await client.chat.completions.create({ ...args, tool_choice: 'required' });
  assert.ok(['get_weather', 'noop'].includes(any.choices[0].message.tool_calls[0].function.name));
  await assert.rejects(client.chat.completions.create({ ...args, tool_choice: { type: 'function', function: { name: 'nope' } } }),
    (e) => e.status === 422 && e.param === 'tool_choice');
});

test('sampling fields, logit_bias, max_completion_tokens and the DeepSeek-Model header', async () => {
  const ids = (await (await fetch(server.url + '/tokenize', { method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny', prompt: ' hello', add_special_tokens: false }) })).json()).tokens;
  assert.equal(ids.length, 1);
  // +100 forces the token at every step, whatever the sampler draws.
  const r = await client.chat.completions.create({
    model: 'tiny', messages: hello, max_completion_tokens: 3, temperature: 1.3, top_p: 0.9, top_k: 50,
    min_p: 0.01, repetition_penalty: 1.1, frequency_penalty: 0.5, presence_penalty: 0.5, seed: 3,
    logit_bias: { [ids[0]]: 100 }, user: 'u-1',
  });
  assert.equal(r.usage.completion_tokens, 3);
  assert.equal(r.choices[0].message.content, ' hello hello hello');
  // The model named by header when the body has none.
  const raw = await fetch(server.url + '/v1/chat/completions', {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'DeepSeek-Model': 'r1' },
    body: JSON.stringify({ messages: hello, max_tokens: 1 }),
  });
  assert.equal(raw.status, 200);
  assert.equal((await raw.json()).model, 'r1');
});

test('an aborted stream is cancelled at once', async () => {
  const ac = new AbortController();
  const s = await client.chat.completions.create(
    { model: 'tiny', messages: hello, max_tokens: 1500, temperature: 0, stream: true }, { signal: ac.signal });
  let n = 0;
  try {
    for await (const c of s) if (++n === 3) ac.abort();
  } catch (e) {
    assert.ok(e.name === 'AbortError' || /abort/i.test(String(e)), String(e));
  }
  let st;
  for (let i = 0; i < 100; ++i) {
    st = await ready();
    const eng = st.models.find((m) => m.name === 'tiny').engine;
    if (st.active_requests === 0 && eng.running === 0 && eng.waiting === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const eng = st.models.find((m) => m.name === 'tiny').engine;
  assert.equal(st.active_requests, 0);
  assert.equal(eng.running, 0);
  assert.equal(eng.waiting, 0);
});

test('errors in OpenAI shape with DeepSeek status codes', async () => {
  const bad = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401 && e.error?.type === 'authentication_error');
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: hello }),
    (e) => e.status === 404 && e.code === 'model_not_found' && e.param === 'model');
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: hello, temperature: 5 }),
    (e) => e.status === 422 && e.param === 'temperature' && /between 0 and 2/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'wizard', content: 'x' }] }),
    (e) => e.status === 422 && e.param === 'messages[0].role');
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: longText.repeat(20) }] }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded' && /2048/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 5000 }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded' && e.param === 'max_tokens');
  const raw = await fetch(server.url + '/v1/chat/completions', {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"model": "tiny", "messages": [',
  });
  assert.equal(raw.status, 400);
  const body = await raw.json();
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  const big = await fetch(server.url + '/v1/chat/completions', {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: 'x'.repeat(9 << 20),
  }).catch((e) => e);
  if (!(big instanceof Error)) assert.equal(big.status, 413);
  const health = await fetch(server.url + '/health');  // no key needed
  assert.equal(health.status, 200);
});

test('a full queue answers 503 with Retry-After', async () => {
  const small = await startServer(['--model', `tiny=${models.v3}`, '--threads', '1', '--max-seqs', '1', '--max-queue', '1']);
  try {
    const c = new OpenAI({ baseURL: small.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const calls = Array.from({ length: 6 }, () =>
      c.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 300 }).then(() => 200, (e) => e));
    const results = await Promise.all(calls);
    const refused = results.filter((r) => r !== 200);
    assert.ok(refused.length >= 1, 'some requests must be refused');
    for (const e of refused) {
      assert.equal(e.status, 503);
      assert.equal(e.headers.get('retry-after'), '1');
    }
    assert.ok(results.includes(200));
  } finally {
    small.proc.kill('SIGTERM');
  }
});

test('quotas: 402 insufficient_quota once a key has used its tokens, kept across restarts; 429 past the rate limit', async () => {
  const db = path.join(TMP, 'usage.db');
  fs.rmSync(db, { force: true });
  const args = ['--model', `tiny=${models.v3}`, '--threads', '1', '--api-key', 'k-one,k-two',
    '--token-quota', 'key2=5', '--usage-db', db, '--rate-limit-rpm', '3'];
  let srv = await startServer(args);
  let spent = 0;
  try {
    const two = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'k-two', maxRetries: 0 });
    const first = await two.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4 });
    assert.ok(first.usage.total_tokens > 5, 'the first call uses up the 5 tokens');
    spent = first.usage.total_tokens;
    await assert.rejects(two.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4 }),
      (e) => e.status === 402 && e.code === 'insufficient_quota' && e.error?.type === 'insufficient_quota' &&
        /used \d+ of its 5 tokens/.test(e.message));
    const usage = await (await fetch(srv.url + '/v1/usage', { headers: { Authorization: 'Bearer k-two' } })).json();
    assert.equal(usage.key_id, 'key2');
    assert.equal(usage.requests, 1);
    assert.equal(usage.total_tokens, first.usage.total_tokens);
    assert.equal(usage.completion_tokens, first.usage.completion_tokens);
    assert.equal(usage.remaining_tokens, 0);

    // key1 has no quota but the same rate limit: 3 per minute, then 429 with Retry-After.
    const one = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'k-one', maxRetries: 0 });
    for (let i = 0; i < 3; ++i) await one.models.list();
    await assert.rejects(one.models.list(), (e) => {
      assert.equal(e.status, 429);
      assert.equal(e.code, 'rate_limit_exceeded');
      assert.ok(Number(e.headers.get('retry-after')) >= 1);
      assert.ok(Number(e.headers.get('retry-after-ms')) > 0);
      return true;
    });
  } finally {
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.once('exit', r));
  }
  // The ledger is a file: a restarted server still refuses the spent key.
  srv = await startServer(args);
  try {
    const two = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'k-two', maxRetries: 0 });
    await assert.rejects(two.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4 }),
      (e) => e.status === 402 && e.code === 'insufficient_quota');
    const bal = await (await fetch(srv.url + '/user/balance', { headers: { Authorization: 'Bearer k-two' } })).json();
    assert.equal(bal.is_available, false);
    assert.equal(bal.balance_infos[0].total_balance, '0');
    const one = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'k-one', maxRetries: 0 });
    const ok = await one.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
  } finally {
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.once('exit', r));
  }
  // `seekd usage` reads the same ledger: one charged request per key, refusals not charged.
  const report = JSON.parse(execFileSync(BIN, ['usage', '--usage-db', db, '--json']).toString());
  const byKey = Object.fromEntries(report.keys.map((k) => [k.key_id, k]));
  assert.deepEqual(Object.keys(byKey).sort(), ['key1', 'key2']);
  assert.equal(byKey.key2.requests, 1);
  assert.equal(byKey.key2.total_tokens, spent);
  assert.equal(byKey.key1.requests, 1);
});

test('a KV window lets a request stream past the context', async () => {
  const w = await startServer(['--model', `tiny=${models.v3}`, '--threads', '1', '--ctx', '128',
    '--kv-window', '64', '--kv-sinks', '4']);
  try {
    const c = new OpenAI({ baseURL: w.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const r = await c.completions.create({ model: 'tiny', prompt: longText.slice(0, 200), max_tokens: 300,
      temperature: 0, ignore_eos: true });
    assert.equal(r.usage.completion_tokens, 300);
    assert.ok(r.usage.prompt_tokens + r.usage.completion_tokens > 128);
    assert.equal(r.choices[0].finish_reason, 'length');
  } finally {
    w.proc.kill('SIGTERM');
  }
  // 8-bit KV cannot slide: refused at start, with the reason.
  await assert.rejects(startServer(['--model', `tiny=${models.v3}`, '--ctx', '128', '--kv-window', '64',
    '--kv-cache-dtype', 'int8']), /f32 KV cache/);
});
