#!/usr/bin/env node
// usage: util/fake-llm-upstream.js --port PORT [--host 127.0.0.1]
//                                   [--record DIR]
//
// The one fake LLM API of the project (nothing real can be had on
// loopback), the upstream of `make run` and of every test that needs
// one: it answers the shapes of the OpenAI, Anthropic, Gemini and
// Bedrock APIs, as JSON or as a stream (SSE), with the usage, delays,
// pauses, cut-offs, encodings and errors the request asks for.  With
// --record DIR it keeps each request body it received in
// DIR/body-KEY (KEY: the X-API-Key header) so that a test sees what
// nginx sent upstream.  Node.js built-ins only; one process,
// keep-alive.  docs/testing.md ("The fake LLM upstream") lists the
// paths and the X-Demo-* headers.

'use strict';

const fs = require('fs');
const http = require('http');
const zlib = require('zlib');

const MAX_BODY = 16 << 20;
const MAX_CHUNKS = 100000;
const CHUNK_TEXT = 'tok ';


function usage() {
    process.stderr.write('usage: fake-llm-upstream.js --port PORT '
                         + '[--host ADDR] [--record DIR]\n');
    process.exit(2);
}

let port = 0;
let host = '127.0.0.1';
let record = null;

for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];

    if (a === '--port' && i + 1 < process.argv.length) {
        port = Number(process.argv[++i]);
    } else if (a === '--host' && i + 1 < process.argv.length) {
        host = process.argv[++i];
    } else if (a === '--record' && i + 1 < process.argv.length) {
        record = process.argv[++i];
    } else {
        usage();
    }
}

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    usage();
}

let seq = 0;


// request knobs ------------------------------------------------------------

// an X-Demo-* header as a whole number in [min, max], else undefined
function knob(req, name, min, max) {
    const v = req.headers[name];

    if (v === undefined || !/^\d{1,9}$/.test(v)) {
        return undefined;
    }

    const n = Number(v);

    return n >= min && n <= max ? n : undefined;
}


function wholeNumber(v) {
    return Number.isInteger(v) && v >= 0 && v < 1e9 ? v : undefined;
}


// the output tokens the request asks for, as the providers name them
function maxTokens(data) {
    const g = data.generationConfig, b = data.inferenceConfig;

    return wholeNumber(data.max_tokens)
           ?? wholeNumber(data.max_completion_tokens)
           ?? wholeNumber(data.max_output_tokens)
           ?? (g && typeof g === 'object'
               ? wholeNumber(g.maxOutputTokens) : undefined)
           ?? (b && typeof b === 'object'
               ? wholeNumber(b.maxTokens) : undefined);
}


// { input, output, cached, reasoning, cacheWrite }: input and output
// are all the input (cached included) and all the output (reasoning
// included); each shape splits them as its provider does
function usageOf(req, data, bodyLength, embeddings) {
    const u = {
        input: Math.max(1, Math.floor(bodyLength / 4)),
        output: embeddings ? 0 : maxTokens(data) ?? 16,
        cached: 0,
        reasoning: 0,
        cacheWrite: 0,
    };
    const forced = knob(req, 'x-demo-tokens', 0, 999999999);
    const h = req.headers['x-demo-usage'];

    if (forced !== undefined && !embeddings) {
        u.output = forced;
    }

    if (h !== undefined && /^\d{1,9}(,\d{1,9}){1,4}$/.test(h)) {
        const f = h.split(',').map(Number);

        u.input = f[0];
        u.output = embeddings ? 0 : f[1];
        u.cached = Math.min(f[2] ?? 0, u.input);
        u.reasoning = Math.min(f[3] ?? 0, u.output);
        u.cacheWrite = Math.min(f[4] ?? 0, u.input - u.cached);
    }

    u.total = u.input + u.output;

    return u;
}


// what the user said last, for the JSON answers' text
function lastText(data) {
    const m = data.messages ?? data.contents;
    let last, c;

    if (typeof data.prompt === 'string') {
        return data.prompt;
    }
    if (typeof data.input === 'string') {
        return data.input;
    }

    last = Array.isArray(m) ? m[m.length - 1]
           : Array.isArray(data.input) ? data.input[data.input.length - 1]
           : undefined;
    if (!last || typeof last !== 'object') {
        return undefined;
    }

    c = last.content ?? last.parts;
    if (typeof c === 'string') {
        return c;
    }
    if (Array.isArray(c) && c[0] && typeof c[0].text === 'string') {
        return c[0].text;
    }

    return undefined;
}


// the shapes ---------------------------------------------------------------

// each shape: json(ctx) -> object; stream(ctx) -> [events] where an
// event is [name or null, object or string, isContentChunk]; error(s)

function openaiError(status) {
    return { error: { message: `demo status ${status}`, type: 'demo_error',
                      param: null, code: null } };
}


function chatUsage(u) {
    return {
        prompt_tokens: u.input,
        completion_tokens: u.output,
        total_tokens: u.total,
        prompt_tokens_details: { cached_tokens: u.cached },
        completion_tokens_details: { reasoning_tokens: u.reasoning },
    };
}


// OpenAI Chat Completions and Completions share their stream framing
function openaiStream(ctx, object, choice) {
    const u = ctx.usage, ev = [];
    const includeUsage = ctx.data.stream_options
                         && ctx.data.stream_options.include_usage === true;
    const head = { id: ctx.id, object, created: ctx.created,
                   model: ctx.model };
    const chunk = (choices, usage, content) => {
        const c = { ...head, choices };

        if (includeUsage) {
            c.usage = usage;
        }

        return [null, c, content];
    };

    ev.push(chunk([choice(null, true, null)], null, false));
    for (let i = 0; i < ctx.chunks; i++) {
        ev.push(chunk([choice(CHUNK_TEXT, false, null)], null, true));
    }
    ev.push(chunk([choice(null, false, 'stop')], null, false));
    if (includeUsage) {
        ev.push(chunk([], chatUsage(u), false));
    }
    ev.push([null, '[DONE]', false]);

    return ev;
}


const chat = {
    prefix: 'chatcmpl-demo-',
    json: (ctx) => ({
        id: ctx.id, object: 'chat.completion', created: ctx.created,
        model: ctx.model,
        choices: [{ index: 0,
                    message: { role: 'assistant', content: ctx.text,
                               refusal: null },
                    logprobs: null, finish_reason: 'stop' }],
        usage: chatUsage(ctx.usage),
    }),
    stream: (ctx) => openaiStream(ctx, 'chat.completion.chunk',
        (text, first, finish) => ({
            index: 0,
            delta: first ? { role: 'assistant', content: '' }
                   : text === null ? {} : { content: text },
            logprobs: null, finish_reason: finish,
        })),
    error: openaiError,
};


const completions = {
    prefix: 'cmpl-demo-',
    json: (ctx) => ({
        id: ctx.id, object: 'text_completion', created: ctx.created,
        model: ctx.model,
        choices: [{ text: ctx.text, index: 0, logprobs: null,
                    finish_reason: 'stop' }],
        usage: chatUsage(ctx.usage),
    }),
    stream: (ctx) => openaiStream(ctx, 'text_completion',
        (text, first, finish) => ({
            text: text ?? '', index: 0, logprobs: null,
            finish_reason: finish,
        })),
    error: openaiError,
};


const embeddings = {
    prefix: 'emb-demo-',
    embeddings: true,
    json: (ctx) => {
        const input = ctx.data.input;
        const n = Array.isArray(input) && input.length > 0
                  && typeof input[0] !== 'number' ? input.length : 1;
        const dims = wholeNumber(ctx.data.dimensions) || 8;
        const vec = new Float32Array(Math.min(dims, 4096));
        const data = [];

        for (let i = 0; i < vec.length; i++) {
            vec[i] = ((i % 7) - 3) / 10;
        }
        for (let i = 0; i < n; i++) {
            data.push({
                object: 'embedding', index: i,
                embedding: ctx.data.encoding_format === 'base64'
                           ? Buffer.from(vec.buffer).toString('base64')
                           : Array.from(vec),
            });
        }

        return { object: 'list', data, model: ctx.model,
                 usage: { prompt_tokens: ctx.usage.input,
                          total_tokens: ctx.usage.input } };
    },
    stream: null,
    error: openaiError,
};


function responsesUsage(u) {
    return {
        input_tokens: u.input,
        input_tokens_details: { cached_tokens: u.cached },
        output_tokens: u.output,
        output_tokens_details: { reasoning_tokens: u.reasoning },
        total_tokens: u.total,
    };
}


function responseObject(ctx, status, text) {
    const done = status === 'completed';

    return {
        id: ctx.id, object: 'response', created_at: ctx.created, status,
        error: null, incomplete_details: null, instructions: null,
        max_output_tokens: null, model: ctx.model,
        output: text === null ? [] : [messageItem(ctx, status, text)],
        parallel_tool_calls: true, previous_response_id: null,
        temperature: 1, tool_choice: 'auto', tools: [], top_p: 1,
        usage: done ? responsesUsage(ctx.usage) : null,
    };
}


function messageItem(ctx, status, text) {
    return {
        type: 'message', id: `msg_demo_${ctx.seq}`, status,
        role: 'assistant',
        content: text === null ? []
                 : [{ type: 'output_text', text, annotations: [] }],
    };
}


const responses = {
    prefix: 'resp_demo_',
    json: (ctx) => responseObject(ctx, 'completed', ctx.text),
    stream: (ctx) => {
        const ev = [];
        const full = CHUNK_TEXT.repeat(ctx.chunks);
        const part = { item_id: `msg_demo_${ctx.seq}`, output_index: 0,
                       content_index: 0 };
        const add = (type, body, content) => {
            ev.push([type, { type, sequence_number: ev.length, ...body },
                     content === true]);
        };

        add('response.created',
            { response: responseObject(ctx, 'in_progress', null) });
        add('response.in_progress',
            { response: responseObject(ctx, 'in_progress', null) });
        add('response.output_item.added',
            { output_index: 0, item: messageItem(ctx, 'in_progress', null) });
        add('response.content_part.added',
            { ...part, part: { type: 'output_text', text: '',
                               annotations: [] } });
        for (let i = 0; i < ctx.chunks; i++) {
            add('response.output_text.delta',
                { ...part, delta: CHUNK_TEXT, logprobs: [] }, true);
        }
        add('response.output_text.done',
            { ...part, text: full, logprobs: [] });
        add('response.content_part.done',
            { ...part, part: { type: 'output_text', text: full,
                               annotations: [] } });
        add('response.output_item.done',
            { output_index: 0, item: messageItem(ctx, 'completed', full) });
        add('response.completed',
            { response: responseObject(ctx, 'completed', full) });

        return ev;
    },
    error: openaiError,
};


function anthropicUsage(u, output) {
    return {
        input_tokens: u.input - u.cached - u.cacheWrite,
        cache_creation_input_tokens: u.cacheWrite,
        cache_read_input_tokens: u.cached,
        output_tokens: output,
    };
}


const anthropic = {
    prefix: 'msg_demo_',
    json: (ctx) => ({
        id: ctx.id, type: 'message', role: 'assistant', model: ctx.model,
        content: [{ type: 'text', text: ctx.text }],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: anthropicUsage(ctx.usage, ctx.usage.output),
    }),
    stream: (ctx) => {
        const ev = [];
        const add = (type, body, content) => {
            ev.push([type, { type, ...body }, content === true]);
        };

        add('message_start', { message: {
            id: ctx.id, type: 'message', role: 'assistant', content: [],
            model: ctx.model, stop_reason: null, stop_sequence: null,
            usage: anthropicUsage(ctx.usage, Math.min(1, ctx.usage.output)),
        } });
        add('content_block_start',
            { index: 0, content_block: { type: 'text', text: '' } });
        add('ping', {});
        for (let i = 0; i < ctx.chunks; i++) {
            add('content_block_delta',
                { index: 0, delta: { type: 'text_delta', text: CHUNK_TEXT } },
                true);
        }
        add('content_block_stop', { index: 0 });
        // cumulative: the totals of the whole message, not an increment
        add('message_delta', {
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: anthropicUsage(ctx.usage, ctx.usage.output),
        });
        add('message_stop', {});

        return ev;
    },
    error: (status) => ({
        type: 'error',
        error: {
            type: status === 429 ? 'rate_limit_error'
                  : status === 529 ? 'overloaded_error'
                  : status >= 500 ? 'api_error' : 'invalid_request_error',
            message: `demo status ${status}`,
        },
    }),
};


function geminiChunk(ctx, text, output, finish) {
    const u = ctx.usage, reasoning = Math.min(u.reasoning, output);
    const m = {
        promptTokenCount: u.input,
        candidatesTokenCount: output - reasoning,
        totalTokenCount: u.input + output,
    };
    const cand = { content: { parts: [{ text }], role: 'model' }, index: 0 };

    if (u.cached) {
        m.cachedContentTokenCount = u.cached;
    }
    if (reasoning) {
        m.thoughtsTokenCount = reasoning;
    }
    if (finish) {
        cand.finishReason = 'STOP';
    }

    return { candidates: [cand], usageMetadata: m, modelVersion: ctx.model,
             responseId: ctx.id };
}


const gemini = {
    prefix: 'gemini-demo-',
    json: (ctx) => geminiChunk(ctx, ctx.text, ctx.usage.output, true),
    // every event carries the usage so far; the last one the whole
    stream: (ctx) => {
        const ev = [], n = ctx.chunks, out = ctx.usage.output;

        for (let i = 1; i <= n; i++) {
            ev.push([null, geminiChunk(ctx, CHUNK_TEXT,
                                       Math.floor(out * i / n), false),
                     true]);
        }
        ev.push([null, geminiChunk(ctx, '', out, true), false]);

        return ev;
    },
    error: (status) => ({
        error: { code: status, message: `demo status ${status}`,
                 status: status === 429 ? 'RESOURCE_EXHAUSTED'
                         : status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT' },
    }),
};


const bedrock = {
    prefix: 'bedrock-demo-',
    json: (ctx) => {
        const u = ctx.usage;
        const usage = { inputTokens: u.input, outputTokens: u.output,
                        totalTokens: u.total };

        if (u.cached) {
            usage.cacheReadInputTokens = u.cached;
        }
        if (u.cacheWrite) {
            usage.cacheWriteInputTokens = u.cacheWrite;
        }

        return {
            output: { message: { role: 'assistant',
                                 content: [{ text: ctx.text }] } },
            stopReason: 'end_turn', usage, metrics: { latencyMs: 1 },
        };
    },
    stream: null,
    error: (status) => ({ message: `demo status ${status}` }),
};


// path -> [shape, model from the path, streamed by the path]
function route(url) {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let m;

    if ((m = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/
             .exec(path)))
    {
        return [gemini, decodeURIComponent(m[1]),
                m[2] === 'streamGenerateContent'];
    }
    if ((m = /\/model\/([^/]+)\/converse$/.exec(path))) {
        return [bedrock, decodeURIComponent(m[1]), false];
    }
    if (path.endsWith('/chat/completions')) {
        return [chat, null, false];
    }
    if (path.endsWith('/completions')) {
        return [completions, null, false];
    }
    if (path.endsWith('/embeddings')) {
        return [embeddings, null, false];
    }
    if (path.endsWith('/responses')) {
        return [responses, null, false];
    }
    if (path.endsWith('/messages')) {
        return [anthropic, null, false];
    }

    return [chat, null, false];
}


// the answer -----------------------------------------------------------------

function encoding(req) {
    const e = req.headers['x-demo-encoding'];

    if (req.headers['x-demo-gzip'] === '1') {
        return 'gzip';
    }

    return e === 'gzip' || e === 'deflate' || e === 'br' ? e : null;
}


function compress(enc, buf) {
    return enc === 'gzip' ? zlib.gzipSync(buf)
           : enc === 'deflate' ? zlib.deflateSync(buf)
           : zlib.brotliCompressSync(buf);
}


function sendJson(res, status, headers, obj, enc, cutAfter) {
    let body = Buffer.from(JSON.stringify(obj) + '\n');

    if (enc) {
        body = compress(enc, body);
        headers['Content-Encoding'] = enc;
    }

    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = body.length;
    res.writeHead(status, headers);

    // a cut JSON answer: the length announced, fewer bytes sent
    if (cutAfter !== undefined && cutAfter < body.length) {
        res.write(body.subarray(0, cutAfter), () => res.destroy());
        return;
    }

    res.end(body);
}


// writes the events as they would come from the provider, each its own
// chunk delayMs after the previous; waits pauseMs after pauseAfter
// content events; stops without the end after cutAfter content events
function sendStream(res, events, sse, opts) {
    const nl = opts.crlf ? '\r\n' : '\n';
    let limit = events.length, cut = false, seen = 0, i = 0, sent = 0;
    let write, finish, abort, z;

    if (opts.cutAfter !== undefined) {
        for (let k = 0; k < events.length; k++) {
            if (events[k][2] && ++seen > opts.cutAfter) {
                limit = k;
                cut = true;
                break;
            }
        }
    }

    const text = events.map(([name, obj], k) => {
        const data = typeof obj === 'string' ? obj : JSON.stringify(obj);

        if (!sse) {
            return (k ? ',' + nl : '[') + data;
        }

        return (name ? `event: ${name}${nl}` : '') + `data: ${data}${nl}${nl}`;
    });

    if (!sse && !cut) {
        text.push(']' + nl);
        limit++;
    }

    const headers = sse ? { 'Content-Type': 'text/event-stream',
                            'Cache-Control': 'no-cache' }
                        : { 'Content-Type': 'application/json' };

    if (opts.enc) {
        headers['Content-Encoding'] = opts.enc;
        z = opts.enc === 'gzip' ? zlib.createGzip()
            : opts.enc === 'deflate' ? zlib.createDeflate()
            : zlib.createBrotliCompress();
        z.on('data', (d) => res.write(d));
        write = (s, cb) => { z.write(s); z.flush(cb); };
        finish = () => { z.on('end', () => res.end()); z.end(); };
        abort = () => z.flush(() => res.destroy());
    } else {
        write = (s, cb) => res.write(s, cb);
        finish = () => res.end();
        abort = () => res.destroy();
    }

    res.writeHead(200, headers);

    // no delay, no pause, no encoding: all in one write
    if (!opts.delay && opts.pauseAfter === undefined && !z) {
        const all = text.slice(0, limit).join('');

        if (cut) {
            res.write(all, () => res.destroy());
        } else {
            res.end(all);
        }
        return;
    }

    const next = () => {
        if (res.destroyed) {
            return;
        }
        if (i === limit) {
            if (cut) {
                abort();
            } else {
                finish();
            }
            return;
        }
        const content = events[i] !== undefined && events[i][2];

        write(text[i++], () => {
            const pause = content && ++sent === opts.pauseAfter
                          ? opts.pauseMs : 0;

            if (opts.delay || pause) {
                setTimeout(next, (opts.delay || 0) + pause);
            } else {
                next();
            }
        });
    };

    next();
}


function serve(req, res, body, bodyLength) {
    const [shape, pathModel, pathStream] = route(req.url);
    const status = knob(req, 'x-demo-status', 200, 599);
    const enc = encoding(req);
    let data, ctx, stream;

    if (req.method === 'GET' && req.url === '/health') {
        res.writeHead(200, { 'Content-Type': 'text/plain',
                             'Content-Length': 3 });
        res.end('ok\n');
        return;
    }

    if (status !== undefined && status !== 200) {
        sendJson(res, status, {}, shape.error(status), enc);
        return;
    }

    try {
        data = body.length ? JSON.parse(body) : {};
    } catch (e) {
        data = {};
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        data = {};
    }

    seq++;
    ctx = {
        seq,
        id: `${shape.prefix}${process.pid}-${seq}`,
        created: Math.floor(Date.now() / 1000),
        model: typeof data.model === 'string' ? data.model
               : pathModel ?? 'demo',
        data,
        usage: usageOf(req, data, bodyLength, shape.embeddings === true),
        chunks: knob(req, 'x-demo-stream-chunks', 0, MAX_CHUNKS) ?? 5,
    };

    stream = shape.stream !== null && (pathStream || data.stream === true);

    if (stream) {
        // Gemini streams JSON (an array) unless ?alt=sse
        sendStream(res, shape.stream(ctx),
                   shape !== gemini || /[?&]alt=sse(&|$)/.test(req.url), {
                       enc,
                       delay: knob(req, 'x-demo-chunk-delay-ms', 0, 600000),
                       cutAfter: knob(req, 'x-demo-cut-after', 0, MAX_CHUNKS),
                       crlf: req.headers['x-demo-crlf'] === '1',
                       pauseAfter: knob(req, 'x-demo-pause-after', 1,
                                        MAX_CHUNKS),
                       pauseMs: knob(req, 'x-demo-pause-ms', 0, 600000)
                                ?? 2000,
                   });
        return;
    }

    const said = lastText(data);

    ctx.text = said === undefined ? 'This is a demo answer.'
               : 'You said: ' + said.slice(0, 200);

    sendJson(res, 200, { 'X-Tokens-Used': ctx.usage.total },
             shape.json(ctx), enc,
             knob(req, 'x-demo-cut-after', 0, MAX_BODY));
}


// --record: what nginx sent upstream, for the tests to read
function keep(req, raw, length) {
    const key = (req.headers['x-api-key'] ?? 'none')
                .replace(/[^A-Za-z0-9_.-]/g, '');
    const head = `content-length: ${req.headers['content-length'] ?? 0}\n`
                 + `received: ${length}\n\n`;

    try {
        fs.writeFileSync(`${record}/body-${key}`,
                         Buffer.concat([Buffer.from(head), raw]));
    } catch (e) {
        process.stderr.write(`record: ${e.message}\n`);
    }
}


function handle(req, res) {
    const parts = [];
    let length = 0;

    req.on('data', (c) => {
        if (length + c.length <= MAX_BODY) {
            parts.push(c);
        }
        length += c.length;
    });

    req.on('end', () => {
        const delay = knob(req, 'x-demo-delay', 0, 999999);
        const raw = Buffer.concat(parts);
        const body = raw.toString();

        if (record !== null) {
            keep(req, raw, length);
        }

        if (delay) {
            setTimeout(serve, delay, req, res, body, length);
        } else {
            serve(req, res, body, length);
        }
    });

    req.on('error', () => res.destroy());
}


const server = http.createServer(handle);

server.keepAliveTimeout = 65000;
server.headersTimeout = 70000;
server.requestTimeout = 0;

server.on('clientError', (err, socket) => socket.destroy());

server.listen(port, host, () => {
    process.stdout.write(`demo-upstream: listening on ${host}:${port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
