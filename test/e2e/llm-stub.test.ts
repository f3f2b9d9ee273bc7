import * as http from 'http';
import { LlmStub, STUB_MODEL, startLlmStub } from '../fixtures/llm-stub';
import { httpRequest } from '../fixtures/opencode';

/** The scripted LLM itself, without opencode: the wire format the opencode tests rely on. */

let stub: LlmStub;
beforeAll(async () => {
  stub = await startLlmStub();
});
afterAll(async () => {
  await stub.stop();
});
beforeEach(() => stub.reset());

const TOOLS = [{ type: 'function', function: { name: 'bash', parameters: { type: 'object', properties: {} } } }];

function chat(userText: string, o: { tools?: boolean; stream?: boolean } = {}) {
  return httpRequest(`${stub.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer k' },
    body: {
      model: STUB_MODEL,
      stream: o.stream ?? true,
      stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'SYS' }, { role: 'user', content: [{ type: 'text', text: userText }] }],
      ...(o.tools === false ? {} : { tools: TOOLS, tool_choice: 'auto' }),
    },
  });
}

/** The `data:` payloads of an SSE body. */
function sse(text: string): any[] {
  return text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6)).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

test('streams a reply: role chunk, content, finish_reason, usage chunk, [DONE]; records the request', async () => {
  const r = await chat('hello');
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/event-stream');
  const ev = sse(r.text);
  expect(ev[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
  expect(ev.filter((e) => e !== '[DONE]' && e.choices[0]?.delta?.content).map((e) => e.choices[0].delta.content).join('')).toBe(stub.defaultReply);
  expect(ev.find((e) => e !== '[DONE]' && e.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
  expect(ev[ev.length - 2]).toMatchObject({ choices: [], usage: { total_tokens: 15 } });
  expect(ev[ev.length - 1]).toBe('[DONE]');
  expect(stub.requests).toHaveLength(1);
  expect(stub.requests[0]).toMatchObject({ kind: 'chat', system: 'SYS', lastUser: 'hello', finished: true, cancelled: false });
  expect(stub.requests[0].headers.authorization).toBe('Bearer k');
});

test('a request without tools is a title request: plain text', async () => {
  const r = await chat('Generate a title', { tools: false });
  expect(sse(r.text).map((e) => (e === '[DONE]' ? '' : e.choices[0]?.delta?.content ?? '')).join('')).toBe(stub.titleReply);
  expect(stub.requests[0].kind).toBe('title');
});

test('TOOL:<name> <json> becomes a tool call; stream: false gets one JSON completion', async () => {
  const ev = sse((await chat('please TOOL:bash {"command":"ls -la \\"x\\""}')).text);
  const call = ev.find((e) => e !== '[DONE]' && e.choices[0]?.delta?.tool_calls)?.choices[0].delta.tool_calls[0];
  expect(call).toMatchObject({ index: 0, type: 'function', function: { name: 'bash' } });
  expect(JSON.parse(call.function.arguments)).toEqual({ command: 'ls -la "x"' });
  expect(ev.find((e) => e !== '[DONE]' && e.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');

  const plain = (await chat('hi', { stream: false })).json();
  expect(plain.choices[0]).toMatchObject({ message: { role: 'assistant', content: stub.defaultReply }, finish_reason: 'stop' });
});

test('scripted rules win over directives; fail gives an OpenAI error body; stream-error ends mid-stream', async () => {
  stub.script('RULE', { type: 'text', text: 'scripted' }, 1);
  expect(sse((await chat('RULE TOOL:bash {}')).text).map((e) => (e === '[DONE]' ? '' : e.choices[0]?.delta?.content ?? '')).join('')).toBe('scripted');
  // used up: the directive applies again
  expect(sse((await chat('RULE TOOL:bash {}')).text).some((e) => e !== '[DONE]' && e.choices[0]?.delta?.tool_calls)).toBe(true);

  const failed = await chat('STUB:FAIL:503');
  expect(failed.status).toBe(503);
  expect(failed.json().error).toMatchObject({ type: 'server_error' });
  stub.script('BAD', { type: 'fail', status: 400, message: 'nope' });
  expect((await chat('BAD')).json().error).toEqual({ message: 'nope', type: 'invalid_request_error', code: null, param: null });

  const broken = sse((await chat('STUB:STREAM-ERROR')).text);
  expect(broken[broken.length - 1]).toMatchObject({ error: { type: 'server_error' } });
  expect(broken).not.toContain('[DONE]');
});

test('hang keeps the stream open until the client goes away, and records the cancellation', async () => {
  const req = http.request(`${stub.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
  const firstChunk = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => res.once('data', (d: Buffer) => resolve(d.toString())));
    req.on('error', (e) => (/socket hang up|aborted/.test(e.message) ? undefined : reject(e)));
  });
  req.end(JSON.stringify({ model: STUB_MODEL, stream: true, messages: [{ role: 'user', content: 'STUB:HANG' }], tools: TOOLS }));
  expect(await firstChunk).toContain('"role":"assistant"');
  const rec = await stub.waitFor((r) => r.action?.type === 'hang', 5000);
  expect(rec.cancelled).toBe(false);
  req.destroy();
  await stub.waitFor((r) => r === rec && r.cancelled, 5000);
  expect(rec.finished).toBe(false);
});
