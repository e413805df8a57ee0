# zae_limit_llm through nginx against DynamoDB Local: the request body
# read before the acquire (in memory and from the temp file), the
# estimate in consume=, the usage of every provider shape read from the
# answer (JSON, event streams, gzip) and reconciled to the token, the
# include_usage added upstream and its chunk removed from what the
# client receives, streams cut by the client or by the upstream charged
# as partial, upstream 4xx and 5xx, a body over the limit, invalid JSON
# and a bad model.  The upstream is util/fake-llm-upstream.js (the fake
# LLM API, see docs/testing.md), told by X-Demo-* headers what usage,
# chunks, pauses, cuts, encodings or errors to answer; it records what
# nginx sent upstream.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(ceil);
use Time::HiRes qw(sleep time);

my ($env, $ddb, $nsid, $n, $r, $dir, $conf, @log);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};
$dir = tempdir(CLEANUP => 1);
chmod 0777, $dir;

demo_upstream(record => $dir);

$conf = <<'EOF';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=2s
                       flush_interval=200ms;

    log_format llm '$http_x_api_key $status src=$zae_llm_usage_source '
                   'in=$zae_llm_input_tokens out=$zae_llm_output_tokens '
                   'total=$zae_llm_total_tokens '
                   'cached=$zae_llm_cached_tokens '
                   'reasoning=$zae_llm_reasoning_tokens '
                   'ie=$zae_llm_input_estimate mt=$zae_llm_max_tokens '
                   'est=$zae_llm_estimate model=$zae_llm_model '
                   'stream=$zae_llm_stream cost=$zae_llm_cost '
                   'ce=$zae_llm_cost_estimate zs=$zae_limit_status';

    zae_limit_llm_price gpt-4o input=2.50 output=10 cached_input=1.25;
    zae_limit_llm_price claude-* input=3 output=15;
    zae_limit_llm_price * input=1 output=2;

    proxy_http_version 1.1;
    proxy_buffering off;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        access_log logs/llm.log llm;

        location /p/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:100000/min,tpm:1000000000/hour;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /buffered/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:100000/min,tpm:1000000000/hour;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            proxy_buffering on;
            client_body_buffer_size 1k;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /nousage/ {
            zae_limit_llm on;
            zae_limit_llm_stream_usage off;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:100000/min,tpm:1000000000/hour;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /estimate/ {
            zae_limit_llm on;
            zae_limit_llm_max_body 1k;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:100000/min,tpm:1000000000/hour;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /model/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=$zae_llm_model
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:100000/min,tpm:1000000000/hour;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /budget/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=usd:$zae_llm_cost_estimate
                      limits=usd:5000000/day;
            zae_limit_reconcile usd $zae_llm_cost;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /split/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=rpm:1,itpm:$zae_llm_input_estimate,otpm:$zae_llm_max_tokens
                      limits=rpm:100000/min,itpm:1000000000/hour,otpm:1000000000/hour;
            zae_limit_reconcile itpm $zae_llm_input_tokens;
            zae_limit_reconcile otpm $zae_llm_output_tokens;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /redirect/ {
            zae_limit_llm on;
            error_page 418 = @llm;
            proxy_intercept_errors on;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location @llm {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=llm
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:100000/min,tpm:1000000000/hour;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            rewrite ^ /v1/chat/completions break;
            proxy_set_header X-Demo-Status "";
            proxy_set_header X-Demo-Usage 4,5;
            proxy_set_header X-Demo-Stream-Chunks 2;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location = /metrics {
            zae_limit_metrics;
        }
    }
}
EOF

$n = nginx(conf => $conf);
$n->start;


sub settle { sleep($_[0] // 0.8) }

sub bucket {
    my ($key, $resource) = @_;
    return get_bucket($ddb, $nsid, $key, $resource // 'llm');
}

# the access log line of a key (the last one)

sub logline {
    my ($key) = @_;
    my $file = $n->prefix . '/logs/llm.log';
    my $line;

    open my $fh, '<', $file or return '';
    while (<$fh>) {
        $line = $_ if /^\Q$key\E /;
    }
    close $fh;

    return $line // '';
}

# the fake's knobs as headers: demo(usage => '21,34', chunks => 5)

my %knob = (usage => 'Usage', chunks => 'Stream-Chunks', cut => 'Cut-After',
            status => 'Status', gzip => 'Gzip', enc => 'Encoding',
            crlf => 'Crlf', pause_after => 'Pause-After',
            pause => 'Pause-Ms');

sub demo {
    my (%k) = @_;
    return join '', map { "X-Demo-$knob{$_}: $k{$_}\n" } sort keys %k;
}

sub post {
    my ($uri, $key, $body, %args) = @_;
    return http_req("POST $uri\n$body",
                    headers => "X-API-Key: $key\n"
                               . "Content-Type: application/json\n"
                               . ($args{headers} // ''),
                    timeout => $args{timeout});
}

# what the backend received from nginx for a key

sub upstream_body {
    my ($key) = @_;
    open my $fh, '<', "$dir/body-$key" or return undef;
    local $/;
    my $all = <$fh>;
    close $fh;
    my ($cl) = $all =~ /^content-length: (\d+)$/m;
    my ($got) = $all =~ /^received: (\d+)$/m;
    my (undef, $body) = split /\n\n/, $all, 2;
    return { cl => $cl, received => $got, body => $body };
}

# the input estimate of the documented rule (docs/directives.md):
# ceil((chars + 3 * wide) / 4) + 3 * messages + 3

sub input_estimate {
    my ($chars, $messages, $wide) = @_;
    return ceil(($chars + 3 * ($wide // 0)) / 4) + 3 * $messages + 3;
}

sub tc_is {
    my ($key, $tokens, $what, %args) = @_;
    my $b = bucket($key, $args{resource});

    is($b && $b->{b_tpm_tc}, $tokens * 1000, "$what: tpm tc = $tokens")
        or diag(logline($key));
    is($b && $b->{b_rpm_tc}, 1000, "$what: rpm tc = 1");
}

my $msg = '"messages":[{"role":"user","content":"Say hello to the world"}]';
my $ie = input_estimate(length('Say hello to the world'), 1);


# OpenAI Chat Completions, JSON ------------------------------------------------

$r = post('/p/v1/chat/completions', 'chat-json',
          qq({"model":"gpt-4o",$msg,"max_tokens":50}),
          headers => demo(usage => '21,34,4,3'));
is($r->{status}, 200, 'chat json: 200');
settle();
tc_is('chat-json', 55, 'chat json: usage from the body');
my $est = $ie + 50;
like(logline('chat-json'),
     qr/src=body in=21 out=34 total=55 cached=4 reasoning=3 ie=$ie mt=50 est=$est model=gpt-4o stream= /,
     'chat json: variables');

# cost: (21 - 4) * 2.50 + 4 * 1.25 + 34 * 10 = 387.5 micro-dollars, up
like(logline('chat-json'), qr/ cost=388 ce=@{[ceil($ie * 2.5 + 500)]} /,
     'chat json: cost and cost estimate in micro-dollars');


# OpenAI Chat Completions, streamed, include_usage added and removed -----------

$r = post('/p/v1/chat/completions', 'chat-add',
          qq({"model":"gpt-4o",$msg,"stream":true,"max_tokens":40}),
          headers => demo(usage => '11,22', chunks => 5));
is($r->{status}, 200, 'chat stream: 200');

my $up = upstream_body('chat-add');
ok($up && $up->{cl} == $up->{received}, 'chat stream: upstream Content-Length'
   . ' matches the patched body') or diag(explain($up));
my $sent = eval { decode_json($up->{body}) };
ok($sent && $sent->{stream_options}{include_usage},
   'chat stream: include_usage added upstream') or diag($up->{body});
is($sent && $sent->{messages}[0]{content}, 'Say hello to the world',
   'chat stream: the rest of the body unchanged');

# what the client did not ask for: the usage-only chunk; the other
# chunks keep the "usage": null the provider puts in each of them once
# include_usage is on
unlike($r->{body}, qr/"choices":\[\]/,
       'chat stream: the usage-only chunk removed for the client');
unlike($r->{body}, qr/"usage":(?!null)/,
       'chat stream: no usage reaches the client');
is(() = $r->{body} =~ /"content":"tok "/g, 5,
   'chat stream: every content chunk reaches the client');
like($r->{body}, qr/data: \[DONE\]\n\n\z/, 'chat stream: [DONE] at the end');
settle();
tc_is('chat-add', 33, 'chat stream: usage from the added chunk');
like(logline('chat-add'), qr/src=stream in=11 out=22 total=33 /,
     'chat stream: source stream');


# the client asked for the usage itself: it sees it ---------------------------

$r = post('/p/v1/chat/completions', 'chat-own',
          qq({"model":"gpt-4o",$msg,"stream":true,)
          . qq("stream_options":{"include_usage":true}}),
          headers => demo(usage => '5,6', chunks => 2));
like($r->{body}, qr/^data: \{(?=[^\n]*"choices":\[\])(?=[^\n]*"usage":\{)/m,
     'chat stream, client asked: the usage chunk reaches it')
    or diag($r->{body});
$up = upstream_body('chat-own');
is($up->{cl}, length(qq({"model":"gpt-4o",$msg,"stream":true,)
                     . qq("stream_options":{"include_usage":true}})),
   'chat stream, client asked: body sent unchanged');
settle();
tc_is('chat-own', 11, 'chat stream, client asked');


# proxy_buffering on, a body in the temp file (client_body_buffer_size 1k) ------

my $long = 'x' x 3000;
$r = post('/buffered/v1/chat/completions', 'chat-file',
          qq({"model":"gpt-4o","messages":[{"role":"user",)
          . qq("content":"$long"}],"stream":true,"max_tokens":10}),
          headers => demo(usage => '100,200', chunks => 3));
is($r->{status}, 200, 'file body: 200');
$up = upstream_body('chat-file');
$sent = eval { decode_json($up->{body}) };
ok($sent && $sent->{stream_options}{include_usage}
   && $up->{cl} == $up->{received}
   && length($sent->{messages}[0]{content}) == 3000,
   'file body: include_usage inserted into the file-buffered body');
unlike($r->{body}, qr/"usage":(?!null)/,
       'buffered answer: usage chunk removed');
settle();
tc_is('chat-file', 300, 'file body, buffered answer');
like(logline('chat-file'), qr/ ie=@{[input_estimate(3000, 1)]} /,
     'file body: the estimate read the whole file');


# stream_usage off: no usage in the stream, partial ----------------------------

$r = post('/nousage/v1/chat/completions', 'chat-partial',
          qq({"model":"gpt-4o",$msg,"stream":true,"max_tokens":100}),
          headers => demo(chunks => 6));
$up = upstream_body('chat-partial');
unlike($up->{body}, qr/stream_options/, 'stream_usage off: body unchanged');
settle();
tc_is('chat-partial', $ie + 6,
      'stream without usage: input estimate + ceil(24 chars / 4)');
like(logline('chat-partial'), qr/src=partial in=$ie out=6 total=@{[$ie + 6]} /,
     'stream without usage: source partial');

# never more than the estimate

$r = post('/nousage/v1/chat/completions', 'chat-cap',
          qq({"model":"gpt-4o",$msg,"stream":true,"max_tokens":2}),
          headers => demo(chunks => 10));
settle();
tc_is('chat-cap', $ie + 2, 'partial capped at the estimate');


# the upstream cuts the stream ------------------------------------------------

$r = post('/p/v1/chat/completions', 'chat-cut',
          qq({"model":"gpt-4o",$msg,"stream":true,"max_tokens":100}),
          headers => demo(chunks => 8, cut => 4));
is($r->{status}, 200, 'upstream cut: 200 was sent');
settle();
tc_is('chat-cut', $ie + 4, 'upstream cut after 4 chunks: partial');
like(logline('chat-cut'), qr/src=partial /, 'upstream cut: source partial');


# the client goes away mid-stream ---------------------------------------------

{
    my $body = qq({"model":"gpt-4o",$msg,"stream":true,"max_tokens":100});
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $env->{TEST_NGINX_SERVER_PORT})
        or die "connect: $!";
    my $knobs = demo(chunks => 8, pause_after => 3, pause => 1500);
    $knobs =~ s/\n/\r\n/g;
    print $s "POST /p/v1/chat/completions"
             . " HTTP/1.1\r\nHost: localhost\r\nX-API-Key: chat-abort\r\n"
             . $knobs
             . "Content-Type: application/json\r\nContent-Length: "
             . length($body) . "\r\n\r\n$body";

    my ($got, $deadline) = ('', time + 5);
    while (time < $deadline && (() = $got =~ /tok /g) < 3) {
        sysread($s, $got, 65536, length $got) or last;
    }
    is(() = $got =~ /tok /g, 3, 'client abort: 3 chunks read, then gone');
    close $s;
}

settle(2.5);
tc_is('chat-abort', $ie + 3,
      'client abort: input estimate + the 3 chunks generated');
like(logline('chat-abort'), qr/src=partial /, 'client abort: partial');


# upstream 4xx and 5xx --------------------------------------------------------

$r = post('/p/v1/chat/completions', 'chat-400',
          qq({"model":"gpt-4o",$msg}), headers => demo(status => 400));
is($r->{status}, 400, 'upstream 400 passed on');
settle();
tc_is('chat-400', 0, 'upstream 4xx: tokens reconciled to 0, request kept');

$r = post('/p/v1/chat/completions', 'chat-503',
          qq({"model":"gpt-4o",$msg}), headers => demo(status => 503));
is($r->{status}, 503, 'upstream 503 passed on');
settle();
my $b5 = bucket('chat-503');
ok($b5 && $b5->{b_tpm_tc} == 0 && $b5->{b_rpm_tc} == 0,
   'upstream 5xx: rolled back') or diag(explain($b5));


# gzip --------------------------------------------------------------------------

$r = post('/p/v1/chat/completions', 'chat-gzip',
          qq({"model":"gpt-4o",$msg}),
          headers => demo(usage => '7,8', gzip => 1));
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip answer passed on');
settle();
tc_is('chat-gzip', 15, 'gzip answer: usage read through zlib');


# an encoding the module cannot read: the estimate stays, one warning

$r = post('/p/v1/chat/completions', 'chat-br',
          qq({"model":"gpt-4o",$msg,"max_tokens":20}),
          headers => demo(usage => '7,8', enc => 'br'));
post('/p/v1/chat/completions', 'chat-br2',
     qq({"model":"gpt-4o",$msg,"max_tokens":20}),
     headers => demo(usage => '7,8', enc => 'br'));
settle();
tc_is('chat-br', $ie + 20, 'br answer: not read, the estimate kept');
like(logline('chat-br'), qr/src=none /, 'br answer: source none');
is(() = $n->error_log
   =~ /content encoding "br" not read, the estimate is kept \(logged once\)/g,
   1,
   'br answer: logged once');

# the other shapes ------------------------------------------------------------

$r = post('/p/v1/embeddings', 'emb',
          '{"model":"text-embedding-3-small","input":"hello"}',
          headers => demo(usage => '9,0'));
settle();
tc_is('emb', 9, 'embeddings');

$r = post('/p/v1/responses', 'resp-json',
          '{"model":"gpt-4o","input":"hello there"}',
          headers => demo(usage => '12,30,2,10'));
settle();
tc_is('resp-json', 42, 'responses json');
like(logline('resp-json'), qr/cached=2 reasoning=10 /, 'responses: details');

$r = post('/p/v1/responses', 'resp-sse',
          '{"model":"gpt-4o","input":"hello there","stream":true}',
          headers => demo(usage => '12,31', chunks => 3));
like($r->{body}, qr/response\.completed/, 'responses stream passed on');
settle();
tc_is('resp-sse', 43, 'responses stream: response.completed');

$r = post('/p/v1/messages', 'anth-json',
          '{"model":"claude-3-5-sonnet","max_tokens":64,'
          . '"messages":[{"role":"user","content":"hi"}]}',
          headers => demo(usage => '35,7,20,0,5'));
settle();
tc_is('anth-json', 42, 'anthropic json: input + cache creation + cache read'
      . ' + output');
like(logline('anth-json'), qr/in=35 out=7 total=42 cached=20 /,
     'anthropic json: input includes the cache');

# claude-*: (35 - 20) * 3 + 20 * 3 + 7 * 15 = 210 micro-dollars
like(logline('anth-json'), qr/ cost=210 /, 'anthropic: prefix price');

$r = post('/p/v1/messages', 'anth-sse',
          '{"model":"claude-3-5-sonnet","max_tokens":64,"stream":true,'
          . '"messages":[{"role":"user","content":"hi"}]}',
          headers => demo(usage => '10,17', chunks => 4));
like($r->{body}, qr/message_stop/, 'anthropic stream passed on');
settle();
tc_is('anth-sse', 27, 'anthropic stream: message_start + message_delta');

$r = post('/p/v1beta/models/gemini-2.0-flash:generateContent',
          'gem-json', '{"contents":[{"parts":[{"text":"hi"}]}]}',
          headers => demo(usage => '8,9'));
settle();
tc_is('gem-json', 17, 'gemini json');
like(logline('gem-json'), qr/model=gemini-2\.0-flash /,
     'gemini: the model from the path');

$r = post('/p/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
          'gem-sse', '{"contents":[{"parts":[{"text":"hi"}]}]}',
          headers => demo(usage => '8,13', chunks => 3, crlf => 1));
settle();
tc_is('gem-sse', 21, 'gemini stream: the last usageMetadata wins');
like(logline('gem-sse'), qr/stream=1 /, 'gemini stream: $zae_llm_stream');

$r = post('/p/model/amazon.nova-pro-v1:0/converse', 'bedrock',
          '{"messages":[{"role":"user","content":[{"text":"hi"}]}]}',
          headers => demo(usage => '30,40'));
settle();
tc_is('bedrock', 70, 'bedrock converse json');


# the estimate: invalid JSON, a body over zae_limit_llm_max_body ---------------

$r = post('/estimate/v1/chat/completions', 'bad-json', '{"model": nope');
is($r->{status}, 200, 'invalid JSON passes');
settle();
tc_is('bad-json', ceil(length('{"model": nope') / 4) + 1024,
      'invalid JSON: estimate from its size + default max tokens');

my $big = qq({"model":"gpt-4o","messages":[{"role":"user","content":")
          . ('y' x 3000) . '"}]}';
post('/estimate/v1/chat/completions', 'big', $big) for 1 .. 2;
settle();
my $bb = bucket('big');
is($bb && $bb->{b_tpm_tc}, 2 * (ceil(length($big) / 4) + 1024) * 1000,
   'body over max_body: estimate from its size, not parsed');
my $over = qr/request body of \d+ bytes is over zae_limit_llm_max_body \d+, /;
is(() = $n->error_log
   =~ /$over\Qnot parsed, estimated from its size (logged once)\E/g, 1,
   'body over max_body: logged once');


# the model as the resource -----------------------------------------------------

my %m0 = metrics();

$r = post('/model/v1/chat/completions', 'model-bad',
          qq({"model":"9 bad model",$msg}));
is($r->{status}, 400, 'bad model: 400');
my $e = eval { decode_json($r->{body}) };
is($e && $e->{field}, 'model', 'bad model: the JSON error names the model');
is($e && $e->{value}, '9 bad model', 'bad model: and its value');

$r = post('/model/v1/chat/completions', 'model-none', "{$msg}");
is($r->{status}, 400, 'missing model: 400');
like($r->{body}, qr/"field": "model".*missing|missing.*"field": "model"/,
     'missing model: the error says so');

$r = post('/model/v1/chat/completions', 'model-json', '{"model":');
is($r->{status}, 400, 'model of invalid JSON: 400');

$r = http_req("POST /model/v1/chat/completions\n{$msg}",
             headers => "Content-Type: application/json\n");
is($r->{status}, 200, 'missing model, no entity: not limited, passed on');

my %m1 = metrics();
is(calls(\%m1), calls(\%m0), 'bad models: no DynamoDB call');

$r = post('/model/v1/chat/completions', 'model-ok',
          qq({"model":"gpt-4o",$msg}), headers => demo(usage => '3,4'));
is($r->{status}, 200, 'good model: 200');
settle();
tc_is('model-ok', 7, 'the model is the resource', resource => 'gpt-4o');


# a dollar budget -----------------------------------------------------------------

$r = post('/budget/v1/chat/completions', 'budget',
          qq({"model":"gpt-4o",$msg,"max_tokens":100}),
          headers => demo(usage => '1000,100'));
is($r->{status}, 200, 'budget: 200');
settle();
my $bu = bucket('budget');

# 1000 * 2.50 + 100 * 10 = 3500 micro-dollars
is($bu && $bu->{b_usd_tc}, 3500 * 1000, 'budget: the cost in micro-dollars')
    or diag(logline('budget'));



# a gzip stream --------------------------------------------------------------

$r = post('/p/v1/chat/completions', 'chat-gzsse',
          qq({"model":"gpt-4o",$msg,"stream":true}),
          headers => demo(usage => '13,17', chunks => 4, gzip => 1));
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip stream passed on');
settle();
tc_is('chat-gzsse', 30, 'gzip stream: usage read through zlib');


# a price for every other model ("*") ---------------------------------------------

$r = post('/budget/v1/chat/completions', 'budget-star',
          qq({"model":"mistral-large",$msg,"max_tokens":100}),
          headers => demo(usage => '100,100'));
settle();
$bu = bucket('budget-star');
is($bu && $bu->{b_usd_tc}, 300 * 1000, 'price "*": 100 * 1 + 100 * 2');


# a chunked request body is patched and sent with its length -----------------------

{
    my $body = qq({"model":"gpt-4o",$msg,"stream":true});
    my $half = int(length($body) / 2);
    my $knobs = demo(usage => '2,3', chunks => 1);
    $knobs =~ s/\n/\r\n/g;
    my $raw = "POST /p/v1/chat/completions HTTP/1.1\r\n"
              . "Host: localhost\r\nX-API-Key: chat-chunked\r\n" . $knobs
              . "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
              . sprintf("%x\r\n%s\r\n", $half, substr($body, 0, $half))
              . sprintf("%x\r\n%s\r\n", length($body) - $half,
                        substr($body, $half))
              . "0\r\n\r\n";
    $r = Test::Zae::Nginx::http($env->{TEST_NGINX_SERVER_PORT}, $raw);
    is($r->{status}, 200, 'chunked request body: 200');
    $up = upstream_body('chat-chunked');
    $sent = eval { decode_json($up->{body}) };
    ok($sent && $sent->{stream_options}{include_usage}
       && $up->{cl} == $up->{received},
       'chunked request body: patched, Content-Length right')
        or diag(explain($up));
    unlike($r->{body}, qr/"usage":(?!null)/,
           'chunked request body: usage removed');
    settle();
    tc_is('chat-chunked', 5, 'chunked request body');
}


# input and output limits apart ---------------------------------------------------

$r = post('/split/v1/messages',
          'split', '{"model":"claude-3-5-sonnet","max_tokens":64,'
          . '"messages":[{"role":"user","content":"hi"}]}',
          headers => demo(usage => '35,7,20,0,5'));
settle();
my $bs = bucket('split');
is($bs && $bs->{b_itpm_tc}, 35_000, 'itpm reconciled to the input tokens');
is($bs && $bs->{b_otpm_tc}, 7_000, 'otpm reconciled to the output tokens');


# an internal redirect: the body is read and patched once ------------------------

$r = post('/redirect/v1/chat/completions', 'redir',
          qq({"model":"gpt-4o",$msg,"stream":true}),
          headers => demo(status => 418));
is($r->{status}, 200, 'after error_page: the stream of the named location');
$up = upstream_body('redir');
is(() = ($up->{body} // '') =~ /include_usage/g, 1,
   'after error_page: include_usage added once');
ok($up->{cl} == $up->{received}, 'after error_page: the length is right');
unlike($r->{body}, qr/"usage":(?!null)/,
       'after error_page: the added usage chunk still removed');
settle();
tc_is('redir', 9, 'after error_page: charged once, to the usage');


sub metrics {
    my %m;
    my $res = http_req('GET /metrics');
    for my $l (split /\n/, $res->{body} // '') {
        next if $l =~ /^#/;
        my ($k, $v) = $l =~ /^(\S+) (\d+)$/ or next;
        $m{$k} = $v;
    }
    return %m;
}

sub calls {
    my ($m) = @_;
    my $sum = 0;
    $sum += $m->{$_} for grep { /^zae_limit_dynamodb_calls_total/ } keys %$m;
    return $sum;
}


$n->stop;

done_testing();
