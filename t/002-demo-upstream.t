# The demo upstream (util/fake-llm-upstream.js, a fake LLM API) answers
# every shape the LLM accounting reads, JSON and streamed, with the
# usage, cut-offs, delays, encodings and errors the X-Demo-* headers ask
# for; and the providers' official clients (t/clients) parse what it
# sends.  docs/testing.md, "The fake LLM upstream", is the contract checked
# here.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use JSON::PP;
use IO::Uncompress::Gunzip qw(gunzip);
use Compress::Zlib qw(uncompress);
use Time::HiRes qw(time);
use File::Temp qw(tempdir);

my ($env, $up, $r, $d, @ev, $body, $t0, $out, $rec);

$env = zae_env();
$rec = tempdir(CLEANUP => 1);
$up = demo_upstream(record => $rec);

sub post {
    my ($path, $body, $headers) = @_;

    return http_req("POST $path\n$body", port => $up,
                    headers => "Content-Type: application/json\n"
                               . ($headers // ''));
}

sub json { my $v = eval { decode_json($_[0]) }; return $v // {} }

# [event name or undef, decoded data or the raw string], in order
sub sse {
    my ($text) = @_;
    my @out;

    for my $block (split /\r?\n\r?\n/, $text) {
        my ($name, $data);
        for my $l (split /\r?\n/, $block) {
            $name = $1 if $l =~ /^event: (.*)$/;
            $data = $1 if $l =~ /^data: (.*)$/;
        }
        next unless defined $data;
        push @out, [$name, $data eq '[DONE]' ? $data : json($data)];
    }

    return @out;
}

my $chat = '{"model":"m1","max_tokens":9,"messages":[{"role":"user",'
           . '"content":"hello there"}]}';
my $in = int(length($chat) / 4);
my $usage = "X-Demo-Usage: 100,20,30,5\n";


# OpenAI Chat Completions ------------------------------------------------

$r = post('/v1/chat/completions', $chat);
$d = json($r->{body});
is($r->{status}, 200, 'chat: 200');
is_deeply([@{ $d->{usage} }{qw(prompt_tokens completion_tokens
                               total_tokens)}],
          [$in, 9, $in + 9], 'chat: usage from body bytes / 4 and max_tokens');
is($r->{headers}{'x-tokens-used'}, $in + 9, 'chat: X-Tokens-Used = total');

$r = post('/v1/chat/completions', $chat, $usage);
$d = json($r->{body});
is_deeply([@{ $d->{usage} }{qw(prompt_tokens completion_tokens
                               total_tokens)},
           $d->{usage}{prompt_tokens_details}{cached_tokens},
           $d->{usage}{completion_tokens_details}{reasoning_tokens}],
          [100, 20, 120, 30, 5], 'chat: X-Demo-Usage sets every field');
is($r->{headers}{'x-tokens-used'}, 120, 'chat: X-Tokens-Used follows it');

$r = post('/v1/chat/completions', '{"stream":true}',
          "X-Demo-Stream-Chunks: 4\n");
@ev = sse($r->{body});
like($r->{headers}{'content-type'}, qr{^text/event-stream}, 'chat SSE: type');
ok(!defined $r->{headers}{'x-tokens-used'}, 'chat SSE: no X-Tokens-Used');
is($ev[-1][1], '[DONE]', 'chat SSE: ends with [DONE]');
is(scalar(grep { ref $_->[1] && exists $_->[1]{usage} } @ev), 0,
   'chat SSE without include_usage: no usage anywhere');
is(join('', map { ref $_->[1] ? $_->[1]{choices}[0]{delta}{content} // ''
                              : '' } @ev),
   'tok ' x 4, 'chat SSE: 4 content chunks of "tok "');

$r = post('/v1/chat/completions',
          '{"stream":true,"stream_options":{"include_usage":true}}',
          $usage . "X-Demo-Stream-Chunks: 2\n");
@ev = sse($r->{body});
is($ev[-1][1], '[DONE]', 'include_usage: still ends with [DONE]');
is_deeply($ev[-2][1]{choices}, [], 'include_usage: usage chunk has no '
                                   . 'choices');
is($ev[-2][1]{usage}{total_tokens}, 120, 'include_usage: usage in it');
is(scalar(grep { ref $_->[1] && defined $_->[1]{usage} } @ev), 1,
   'include_usage: only that chunk has a usage, the others null');

$r = post('/v1/chat/completions', '{"stream":true}',
          "X-Demo-Stream-Chunks: 5\nX-Demo-Cut-After: 2\n");
@ev = sse($r->{body});
is(scalar(grep { ref $_->[1] && $_->[1]{choices}[0]{delta}{content} } @ev),
   2, 'cut stream: 2 content chunks');
ok($ev[-1][1] ne '[DONE]', 'cut stream: no [DONE]');
unlike($r->{raw}, qr/\r\n0\r\n\r\n\z/, 'cut stream: no last chunk');

$r = post('/v1/chat/completions', $chat, "X-Demo-Cut-After: 20\n");
is(length $r->{body}, 20, 'cut JSON: 20 bytes of the body');
cmp_ok($r->{headers}{'content-length'}, '>', 20,
       'cut JSON: more announced');

$t0 = time;
$r = post('/v1/chat/completions', '{"stream":true}',
          "X-Demo-Stream-Chunks: 4\nX-Demo-Chunk-Delay-Ms: 50\n");
cmp_ok(time - $t0, '>=', 0.3, 'chunk delay: 7 events 50 ms apart take '
                              . '300 ms or more');
is(scalar(sse($r->{body})), 7, 'chunk delay: all 7 events');

$t0 = time;
$r = post('/v1/chat/completions', '{"stream":true}',
          "X-Demo-Stream-Chunks: 4\nX-Demo-Pause-After: 2\n"
          . "X-Demo-Pause-Ms: 400\n");
cmp_ok(time - $t0, '>=', 0.4, 'pause: 400 ms after the 2nd content chunk');
is(scalar(sse($r->{body})), 7, 'pause: then the rest, all 7 events');


# --record: each request body kept under its X-API-Key --------------------

sub recorded {
    my ($key) = @_;
    open my $fh, '<', "$rec/body-$key" or return '';
    local $/;
    return <$fh>;
}

post('/v1/chat/completions', $chat, "X-API-Key: rec-1\n");
is(recorded('rec-1'), 'content-length: ' . length($chat) . "\n"
                      . 'received: ' . length($chat) . "\n\n$chat",
   'record: the length announced, the bytes read, the body');
post('/v1/chat/completions', '{"a":1}', "X-API-Key: ../r e/c-2\n");
is(recorded('..rec-2'), "content-length: 7\nreceived: 7\n\n{\"a\":1}",
   'record: the key cut to [A-Za-z0-9_.-], no way out of the folder');
post('/v1/chat/completions', '{}');
is(recorded('none'), "content-length: 2\nreceived: 2\n\n{}",
   'record: no X-API-Key, body-none');


# OpenAI Completions, Embeddings, Responses --------------------------------

$r = post('/v1/completions', '{"model":"i","prompt":"abc","max_tokens":3}');
$d = json($r->{body});
is($d->{object}, 'text_completion', 'completions: object');
is($d->{usage}{completion_tokens}, 3, 'completions: usage');

$r = post('/v1/completions', '{"prompt":"abc","stream":true,'
          . '"stream_options":{"include_usage":true}}', $usage);
@ev = sse($r->{body});
is($ev[1][1]{choices}[0]{text}, 'tok ', 'completions SSE: text chunks');
is($ev[-2][1]{usage}{prompt_tokens}, 100, 'completions SSE: usage chunk');

$body = '{"model":"e","input":["a","b","c"]}';
$r = post('/v1/embeddings', $body);
$d = json($r->{body});
is(scalar @{ $d->{data} }, 3, 'embeddings: one vector per input');
is_deeply($d->{usage}, { prompt_tokens => int(length($body) / 4),
                         total_tokens => int(length($body) / 4) },
          'embeddings: prompt and total only');
is($r->{headers}{'x-tokens-used'}, int(length($body) / 4),
   'embeddings: X-Tokens-Used = input');

$r = post('/v1/responses', '{"model":"r","input":"hi"}', $usage);
$d = json($r->{body});
is($d->{object}, 'response', 'responses: object');
is_deeply([@{ $d->{usage} }{qw(input_tokens output_tokens total_tokens)},
           $d->{usage}{input_tokens_details}{cached_tokens},
           $d->{usage}{output_tokens_details}{reasoning_tokens}],
          [100, 20, 120, 30, 5], 'responses: usage');

$r = post('/v1/responses', '{"model":"r","input":"hi","stream":true}',
          $usage);
@ev = sse($r->{body});
is($ev[0][0], 'response.created', 'responses SSE: first event');
is($ev[-1][0], 'response.completed', 'responses SSE: last event');
is($ev[-1][1]{response}{usage}{total_tokens}, 120,
   'responses SSE: usage in response.completed');
is(scalar(grep { $_->[0] eq 'response.output_text.delta' } @ev), 5,
   'responses SSE: 5 deltas by default');


# Anthropic Messages --------------------------------------------------------

$r = post('/v1/messages', $chat, "X-Demo-Usage: 100,20,30,0,10\n");
$d = json($r->{body});
is($d->{type}, 'message', 'anthropic: type');
is_deeply($d->{usage}, { input_tokens => 60,
                         cache_creation_input_tokens => 10,
                         cache_read_input_tokens => 30,
                         output_tokens => 20 },
          'anthropic: input_tokens excludes the cache');
is($r->{headers}{'x-tokens-used'}, 120, 'anthropic: X-Tokens-Used = all');

$r = post('/v1/messages', '{"stream":true}',
          "X-Demo-Usage: 100,20,30,0,10\nX-Demo-Stream-Chunks: 3\n");
@ev = sse($r->{body});
is_deeply([map { $_->[0] } @ev],
          [qw(message_start content_block_start ping), ('content_block_delta')
           x 3, qw(content_block_stop message_delta message_stop)],
          'anthropic SSE: the event sequence');
is($ev[0][1]{message}{usage}{input_tokens}, 60,
   'anthropic SSE: input usage in message_start');
is($ev[-2][1]{usage}{output_tokens}, 20,
   'anthropic SSE: cumulative output in message_delta');
is($ev[-1][1]{type}, 'message_stop', 'anthropic SSE: data type = event');


# Gemini, Bedrock -----------------------------------------------------------

$r = post('/v1beta/models/gemini-2.5-flash:generateContent', '{}', $usage);
$d = json($r->{body});
is($d->{modelVersion}, 'gemini-2.5-flash', 'gemini: model from the path');
is_deeply($d->{usageMetadata}, { promptTokenCount => 100,
                                 candidatesTokenCount => 15,
                                 thoughtsTokenCount => 5,
                                 cachedContentTokenCount => 30,
                                 totalTokenCount => 120 },
          'gemini: usageMetadata (candidates exclude thoughts)');

$r = post('/v1beta/models/g:streamGenerateContent?alt=sse', '{}',
          $usage . "X-Demo-Stream-Chunks: 4\nX-Demo-Crlf: 1\n");
@ev = sse($r->{body});
like($r->{body}, qr/\A(data: [^\r\n]+\r\n\r\n)+\z/, 'gemini SSE: CRLF');
is(scalar @ev, 5, 'gemini SSE: 4 chunks and the last');
is($ev[-1][1]{usageMetadata}{totalTokenCount}, 120,
   'gemini SSE: the last event has the whole usage');
cmp_ok($ev[0][1]{usageMetadata}{totalTokenCount}, '<', 120,
       'gemini SSE: earlier events less');
is($ev[-1][1]{candidates}[0]{finishReason}, 'STOP', 'gemini SSE: STOP');

$r = post('/v1beta/models/g:streamGenerateContent', '{}',
          "X-Demo-Stream-Chunks: 2\n");
$d = json($r->{body});
is(ref $d eq 'ARRAY' ? scalar @$d : -1, 3,
   'gemini stream without alt=sse: a JSON array');

$r = post('/model/us.anthropic.claude-3-5%3A0/converse',
          '{"messages":[{"role":"user","content":[{"text":"hi"}]}],'
          . '"inferenceConfig":{"maxTokens":11}}');
$d = json($r->{body});
is($d->{usage}{outputTokens}, 11, 'bedrock: maxTokens');
is($d->{usage}{totalTokens}, $d->{usage}{inputTokens} + 11, 'bedrock: total');
is($d->{output}{message}{content}[0]{text}, 'You said: hi', 'bedrock: text');


# encodings, errors, bodies ---------------------------------------------------

$r = post('/v1/chat/completions', $chat, "X-Demo-Gzip: 1\n");
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip: Content-Encoding');
gunzip(\$r->{body} => \$out);
is(json($out)->{usage}{total_tokens}, $in + 9, 'gzip: JSON inside');

$r = post('/v1/messages', '{"stream":true}',
          "X-Demo-Gzip: 1\nX-Demo-Chunk-Delay-Ms: 1\n");
gunzip(\$r->{body} => \$out);
is((sse($out))[-1][0], 'message_stop', 'gzip SSE: whole stream inside');

$r = post('/v1/chat/completions', $chat, "X-Demo-Encoding: deflate\n");
is(json(uncompress($r->{body}) // '')->{object}, 'chat.completion',
   'deflate');

$r = post('/v1/chat/completions', $chat, "X-Demo-Encoding: br\n");
is($r->{headers}{'content-encoding'}, 'br', 'br: announced');

for my $c (['/v1/chat/completions', 429, qr/"type":"demo_error"/],
           ['/v1/messages', 429, qr/"type":"rate_limit_error"/],
           ['/v1/messages', 529, qr/"type":"overloaded_error"/],
           ['/v1beta/models/g:generateContent', 429,
            qr/"status":"RESOURCE_EXHAUSTED"/],
           ['/model/m/converse', 500, qr/"message":"demo status 500"/])
{
    $r = post($c->[0], '{}', "X-Demo-Status: $c->[1]\n");
    is($r->{status}, $c->[1], "status $c->[1] on $c->[0]");
    like($r->{body}, $c->[2], "error body in the provider's shape");
    ok(!defined $r->{headers}{'x-tokens-used'}, 'no X-Tokens-Used');
}

$body = '{"messages":[{"role":"user","content":"' . ('x' x 600000) . '"}]}';
$r = post('/v1/chat/completions', $body);
is(json($r->{body})->{usage}{prompt_tokens}, int(length($body) / 4),
   'a 600 KB body is read whole');

$r = Test::Zae::Nginx::http($up,
    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"max\r\n"
    . "e\r\n_tokens\":4242}\r\n0\r\n\r\n");
is(json($r->{body})->{usage}{completion_tokens}, 4242,
   'a chunked request body is read');

is(http_req('GET /health', port => $up)->{body}, "ok\n", '/health');


# the official clients --------------------------------------------------------

$out = `NODE_PATH=${\ clients_dir()} node t/clients/demo-clients.js $up`;
is($?, 0, 'the clients ran (t/clients/demo-clients.js)');
$d = json($out);

is($d->{chat}{usage}{completion_tokens}, 9, 'openai: chat usage');
is($d->{chat_stream}{text}, 'tok tok tok ', 'openai: chat stream text');
is($d->{chat_stream}{usage}{total_tokens}, 120, 'openai: stream usage');
is($d->{completion}{usage}{completion_tokens}, 5, 'openai: completions');
is(scalar @{ $d->{embedding}{data}[1]{embedding} // [] }, 8,
   'openai: embeddings (base64 decoded by the client)');
is($d->{response_text}, 'You said: hello there', 'openai: output_text');
is($d->{response}{usage}{total_tokens}, 120, 'openai: responses usage');
is($d->{response_stream}{total_tokens}, 120,
   'openai: responses stream helper accepts the events, final usage');
is($d->{message}{usage}{output_tokens}, 7, 'anthropic: usage');
is_deeply($d->{message_stream},
          { text => 'tok tok tok ',
            usage => { input_tokens => 60, cache_creation_input_tokens => 10,
                       cache_read_input_tokens => 30, output_tokens => 20 } },
          'anthropic: the stream helper accumulates the usage');
is_deeply($d->{openai_429}, { status => 429, name => 'RateLimitError' },
          'openai: 429 is a RateLimitError');
is_deeply($d->{anthropic_529}, { status => 529, name => 'OverloadedError' },
          'anthropic: 529 is an OverloadedError');

done_testing();
