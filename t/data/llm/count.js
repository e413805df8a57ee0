// Regenerates t/data/llm/*.json and counts.txt: request bodies with the
// real OpenAI prompt token count of each (gpt-4o, o200k_base, the
// message and function overheads of the Chat Completions API), computed
// offline by the npm package gpt-tokenizer:
//
//   mkdir /tmp/tok && cd /tmp/tok && npm install gpt-tokenizer@3.4.0
//   NODE_PATH=/tmp/tok/node_modules node t/data/llm/count.js t/data/llm
//
// The texts are written for these tests.  test_llm.c reads counts.txt
// and checks the input estimate against each count.
'use strict';

const fs = require('fs');
const path = require('path');
const gpt4o = require('gpt-tokenizer/cjs/model/gpt-4o');

const dir = process.argv[2] || __dirname;

const prose = [
  'Rate limiting an API that is billed by the token is harder than ' +
  'limiting one that is billed by the request. A request tells you how ' +
  'much it may cost before it runs, but the true cost is only known ' +
  'when the answer has been generated, and for a streamed answer that ' +
  'is after the headers have already left.',
  'The usual answer is to reserve an estimate first and to settle the ' +
  'difference later. The estimate must be cheap to compute, because it ' +
  'runs on every request, and it should err on the side of caution, ' +
  'because an estimate that is too low lets a burst of large prompts ' +
  'through before the real counts arrive.',
  'Consider a team of forty engineers sharing one organisation key. ' +
  'Each of them runs an agent that sends the whole repository map with ' +
  'every call, around twenty thousand tokens, and expects an answer of ' +
  'a few hundred. Without a reservation the first minute of the morning ' +
  'sends eight hundred thousand tokens before any limit notices.',
  'Tokenizers split text into pieces that are frequent in their ' +
  'training data. English words of common use are one piece each, ' +
  'rarer words are two or three, numbers are split into groups of ' +
  'digits, and whitespace is usually folded into the following word.',
  'Why does the meeting start at 09:30 on Tuesday, 14 March 2025, and ' +
  'not at 10:00? Because the Berlin office (UTC+1) and the Austin office ' +
  '(UTC-6) overlap for exactly two hours; anything later is past 17:00 ' +
  'in Europe. Invoice #4471-B totals EUR 12,845.50 incl. 19% VAT.',
];

const code =
  'static int\nparse_header(struct parser *p, const char *buf, size_t len)\n' +
  '{\n    size_t  i;\n\n    for (i = 0; i < len; i++) {\n' +
  '        if (buf[i] == \':\') {\n            p->name_end = i;\n' +
  '            p->state = STATE_VALUE;\n            return 0;\n        }\n\n' +
  '        if (buf[i] < 0x21 || buf[i] > 0x7e) {\n' +
  '            return -1;   /* not a token character */\n        }\n    }\n\n' +
  '    return 1;\n}\n\n' +
  'def merge_intervals(items):\n    """Merge overlapping [start, end) ' +
  'pairs."""\n    out = []\n    for start, end in sorted(items):\n' +
  '        if out and start <= out[-1][1]:\n' +
  '            out[-1][1] = max(out[-1][1], end)\n        else:\n' +
  '            out.append([start, end])\n    return out\n\n' +
  'SELECT customer_id, SUM(amount) AS total\nFROM orders\n' +
  'WHERE created_at >= NOW() - INTERVAL \'30 days\'\n' +
  'GROUP BY customer_id\nHAVING SUM(amount) > 1000\nORDER BY total DESC;\n';

const zh =
  '限流的目的不是拒绝用户，而是让所有用户都能公平地使用有限的资源。' +
  '当一个团队共享同一个密钥时，某个人的批量任务可能在几秒钟内耗尽整个' +
  '分钟的额度，其他人的请求随之失败。因此我们在请求发出之前先预留一个' +
  '估计值，等到答案返回后再按真实的用量结算。估计值越接近真实值，' +
  '被错误拒绝的请求就越少。';
const ja =
  'レート制限は、共有された資源を公平に分けるための仕組みです。' +
  'ストリーミングの応答では、使用量は最後のイベントにしか含まれないため、' +
  '途中で接続が切れた場合は、それまでに生成された文字数から推定します。' +
  '東京とシンガポールの両方のリージョンで同じ上限を共有できます。';
const ru =
  'Ограничение скорости запросов нужно не для того, чтобы отказывать ' +
  'пользователям, а для того, чтобы все могли честно пользоваться общими ' +
  'ресурсами. Оценка стоимости запроса делается заранее, а точный расчёт ' +
  'выполняется после получения ответа от модели.';
const de =
  'Die Begrenzung der Anfragerate verhindert, dass ein einzelner ' +
  'Batch-Auftrag das gesamte Minutenkontingent eines Teams aufbraucht. ' +
  'Die Schätzung wird vor dem Senden reserviert und nach der Antwort ' +
  'mit dem tatsächlichen Verbrauch verrechnet; Größenordnung: ±15 %.';
const emoji =
  'Deploy status: ✅ api-eu, ✅ api-us, ❌ api-ap (timeout) 🔥🔥 — ' +
  'retrying in 30 s… 🚀 Ping @oncall 👀. Ünïcödé “quotes” and ‘more’.';

const fn = [{
  name: 'get_forecast',
  description: 'Get the weather forecast for a city for the next days',
  parameters: {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name, e.g. Lisbon' },
      days: { type: 'integer', description: 'How many days, 1 to 10' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    },
    required: ['city'],
  },
}, {
  name: 'search_orders',
  description: 'Search the orders of the current customer by date and ' +
               'state; returns at most 50 orders, newest first',
  parameters: {
    type: 'object',
    properties: {
      since: { type: 'string', description: 'ISO 8601 date' },
      state: { type: 'string', enum: ['open', 'shipped', 'returned'] },
      include_items: { type: 'boolean', description: 'Also list items' },
    },
  },
}];

const P = prose.join('\n\n');
const sys = 'You are a concise assistant. Answer in the language of the ' +
            'question, with at most three short paragraphs.';

const cases = {
  'chat-short': { messages: [{ role: 'user', content: 'Hello! What is ' +
                  'the capital of Portugal?' }] },
  'chat-system': { messages: [{ role: 'system', content: sys },
                   { role: 'user', content: prose[0] + ' Summarise.' }] },
  'chat-multiturn': { messages: [
    { role: 'system', content: sys },
    { role: 'user', content: prose[1] },
    { role: 'assistant', content: prose[3] },
    { role: 'user', content: 'And how would you size the estimate?' },
    { role: 'assistant', content: prose[2] },
    { role: 'user', content: prose[4] },
  ] },
  'chat-prose': { messages: [{ role: 'system', content: sys },
                  { role: 'user', content: 'Summarise this:\n\n' +
                    (P + '\n\n').repeat(6) }] },
  'chat-code': { messages: [{ role: 'user', content: 'Review this ' +
                 'code and point out bugs:\n\n```\n' + code + '```' }] },
  'chat-json': { messages: [{ role: 'user', content: 'Fix this JSON:\n' +
                 JSON.stringify({ users: [{ id: 1, name: 'Ana',
                   tags: ['a', 'b'], quota: { rpm: 60, tpm: 90000 } },
                   { id: 2, name: 'Bo "the admin"', path: 'C:\\tmp\\x',
                     note: 'line1\nline2\ttab' }] }, null, 2) }] },
  'chat-zh': { messages: [{ role: 'user', content: zh + zh }] },
  'chat-ja': { messages: [{ role: 'user', content: ja + ja }] },
  'chat-ru': { messages: [{ role: 'user', content: ru + ' ' + ru }] },
  'chat-de': { messages: [{ role: 'system', content: sys },
               { role: 'user', content: de + ' ' + de }] },
  'chat-mixed': { messages: [{ role: 'user', content: prose[0] + '\n' +
                  zh + '\n' + ru + '\n' + emoji + '\n' + code }] },
  'chat-functions': { messages: [{ role: 'system', content: sys },
                      { role: 'user', content: 'Will it rain in Lisbon ' +
                        'this weekend, and where is my last order?' }],
                      functions: fn },
};

let out = '';

for (const [name, c] of Object.entries(cases)) {
  const n = gpt4o.countChatCompletionTokens(c);
  const body = Object.assign({ model: 'gpt-4o' }, c, { max_tokens: 256 });
  fs.writeFileSync(path.join(dir, name + '.json'), JSON.stringify(body));
  out += name + ' ' + n + '\n';
}

fs.writeFileSync(path.join(dir, 'counts.txt'),
  '# name  prompt tokens (gpt-4o, gpt-tokenizer ' +
  require('gpt-tokenizer/package.json').version + ')\n' + out);
process.stdout.write(out);
