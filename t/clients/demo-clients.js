// node t/clients/demo-clients.js PORT
//
// Talks to the demo upstream (util/fake-llm-upstream.js) on 127.0.0.1:PORT
// through the providers' official clients (openai, @anthropic-ai/sdk,
// from t/clients/package.json; NODE_PATH points at them) and prints
// what each client made of each answer as one JSON object; the checks
// are in t/002-demo-upstream.t.

'use strict';

const OpenAI = require('openai').default;
const Anthropic = require('@anthropic-ai/sdk').default;

const port = process.argv[2];
const usage = { headers: { 'X-Demo-Usage': '100,20,30,5',
                           'X-Demo-Stream-Chunks': '3' } };
const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`,
                            apiKey: 'demo', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: `http://127.0.0.1:${port}`,
                                  apiKey: 'demo', maxRetries: 0 });
const msgs = [{ role: 'user', content: 'hello there' }];


async function collect(stream) {
    const all = [];

    for await (const ev of stream) {
        all.push(ev);
    }

    return all;
}


async function errorOf(promise) {
    try {
        await promise;
        return null;
    } catch (e) {
        return { status: e.status, name: e.constructor.name };
    }
}


async function main() {
    const out = {};
    let chunks, ms;

    out.chat = await openai.chat.completions.create(
        { model: 'gpt-4o', messages: msgs, max_tokens: 9 });

    chunks = await collect(await openai.chat.completions.create(
        { model: 'gpt-4o', messages: msgs, stream: true,
          stream_options: { include_usage: true } }, usage));
    out.chat_stream = {
        text: chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''),
        usage: chunks[chunks.length - 1].usage,
    };

    out.completion = await openai.completions.create(
        { model: 'gpt-3.5-turbo-instruct', prompt: 'abc', max_tokens: 5 });

    out.embedding = await openai.embeddings.create(
        { model: 'text-embedding-3-small', input: ['a', 'b'] });

    out.response = await openai.responses.create(
        { model: 'gpt-4o', input: 'hello there' }, usage);
    out.response_text = out.response.output_text;

    // the SDK's stream helper checks the order of the events
    ms = openai.responses.stream({ model: 'gpt-4o', input: 'hi' }, usage);
    out.response_stream = (await ms.finalResponse()).usage;

    out.message = await anthropic.messages.create(
        { model: 'claude-sonnet-4-5', max_tokens: 7, messages: msgs });

    ms = anthropic.messages.stream(
        { model: 'claude-sonnet-4-5', max_tokens: 64, messages: msgs },
        { headers: { 'X-Demo-Usage': '100,20,30,0,10',
                     'X-Demo-Stream-Chunks': '3' } });
    const final = await ms.finalMessage();
    out.message_stream = { usage: final.usage,
                           text: final.content[0].text };

    out.openai_429 = await errorOf(openai.chat.completions.create(
        { model: 'gpt-4o', messages: msgs },
        { headers: { 'X-Demo-Status': '429' } }));
    out.anthropic_529 = await errorOf(anthropic.messages.create(
        { model: 'claude-sonnet-4-5', max_tokens: 7, messages: msgs },
        { headers: { 'X-Demo-Status': '529' } }));

    process.stdout.write(JSON.stringify(out) + '\n');
}


main().catch((e) => {
    process.stderr.write(`demo-clients: ${e.stack || e}\n`);
    process.exit(1);
});
