# The providers' official clients against nginx with the module: the
# npm packages openai and @anthropic-ai/sdk (t/clients/package.json,
# installed by util/deps.sh into .cache/npm-clients) parse the 429 of
# zae_limit_error_format openai / anthropic as their RateLimitError,
# read retry-after-ms and
# retry after it; an OpenAI stream through zae_limit_llm reaches the
# SDK without the usage chunk it did not ask for, and is charged its
# usage.  The upstream is util/fake-llm-upstream.js (the fake LLM API,
# see docs/testing.md): usage 10 in, 5 out and 3 text chunks, asked for
# by the X-Demo-* headers the clients send.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use File::Temp qw(tempdir);
use JSON::PP;

my ($env, $ddb, $nsid, $n, $dir, $clients, $out);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};
$dir = tempdir(CLEANUP => 1);
chmod 0777, $dir;

$clients = ($ENV{ZAE_CACHE} || "$env->{TEST_NGINX_TOP}/.cache")
           . '/npm-clients/node_modules';

unless (-d "$clients/openai" && -d "$clients/\@anthropic-ai/sdk"
        && `node --version 2>/dev/null` =~ /^v\d+/)
{
    # util/deps.sh installs them: their absence is a broken setup
    fail("openai and \@anthropic-ai/sdk in $clients (run util/deps.sh)");
    done_testing();
    exit;
}

demo_upstream();

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=2s
                       flush_interval=200ms;

    log_format sdk '$http_x_api_key $status';

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        access_log logs/sdk.log sdk;

        proxy_http_version 1.1;
        proxy_buffering off;

        location /openai/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=$zae_llm_model
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:1/sec,tpm:100000000/hour;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            zae_limit_headers openai rpm=requests tpm=tokens;
            zae_limit_error_format openai;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /anthropic/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=$zae_llm_model
                      consume=rpm:1 limits=rpm:1/sec;
            zae_limit_error_format anthropic;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }
    }
}
EOF
$n->start;

my $port = $env->{TEST_NGINX_SERVER_PORT};

# runs a node script with the clients on NODE_PATH; its last stdout line
# is a JSON object of results

sub node {
    my ($name, $js) = @_;
    my $file = "$dir/$name.js";

    open my $fh, '>', $file or die "$file: $!";
    print $fh $js;
    close $fh;

    my $res = `NODE_PATH='$clients' node '$file' 2>&1`;
    my ($last) = $res =~ /([^\n]*)\n?\z/;
    my $r = eval { decode_json($last) };

    diag("$name: $res") unless $r;
    return $r // {};
}


# OpenAI -------------------------------------------------------------------------

$out = node('openai', <<"EOF");
const OpenAI = require('openai');
const mk = (retries) => new OpenAI({
    apiKey: 'sk-test', baseURL: 'http://127.0.0.1:$port/openai/v1',
    maxRetries: retries, defaultHeaders: { 'X-API-Key': 'sdk-oa',
        'X-Demo-Usage': '10,5', 'X-Demo-Stream-Chunks': '3' } });
(async () => {
    const r = {};
    const first = await mk(0).chat.completions.create({
        model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    r.first = first.usage.total_tokens;
    try {
        await mk(0).chat.completions.create({
            model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
        r.second = 'admitted';
    } catch (e) {
        r.rate_limit_error = e instanceof OpenAI.RateLimitError;
        r.status = e.status;
        r.type = e.type;
        r.code = e.code;
        r.message = e.message;
        r.retry_after_ms = e.headers && e.headers.get('retry-after-ms');
        r.limit_requests = e.headers && e.headers.get('x-ratelimit-limit-requests');
    }
    // one retry allowed: the SDK waits retry-after-ms, then succeeds
    const t0 = Date.now();
    const third = await mk(1).chat.completions.create({
        model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    r.retried_ms = Date.now() - t0;
    r.third = third.usage.total_tokens;
    await new Promise((ok) => setTimeout(ok, 1100));
    // a stream without include_usage: every chunk has a choice
    const stream = await mk(0).chat.completions.create({
        model: 'gpt-4o', stream: true,
        messages: [{ role: 'user', content: 'hi' }] });
    r.chunks = 0; r.empty_choices = 0; r.text = '';
    for await (const c of stream) {
        r.chunks++;
        if (c.choices.length === 0) r.empty_choices++;
        else r.text += c.choices[0].delta.content || '';
    }
    console.log(JSON.stringify(r));
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); });
EOF

is($out->{first}, 15, 'openai: the SDK reads the answer');
ok($out->{rate_limit_error}, 'openai: the 429 is an OpenAI.RateLimitError');
is($out->{status}, 429, 'openai: status 429');
is($out->{type}, 'requests', 'openai: error.type');
is($out->{code}, 'rate_limit_exceeded', 'openai: error.code');
like($out->{message} // '', qr/Rate limit exceeded for sdk-oa\/gpt-4o/,
     'openai: error.message');
like($out->{retry_after_ms} // '', qr/^\d+$/,
     'openai: retry-after-ms readable by the SDK');
is($out->{limit_requests}, 1, 'openai: x-ratelimit-limit-requests');
is($out->{third}, 15, 'openai: the retried call succeeded');
ok(($out->{retried_ms} // 0) >= 300,
   "openai: the SDK waited before its retry ($out->{retried_ms} ms)");
is($out->{chunks}, 5,
   'openai stream: the role chunk, 3 text chunks and the last');
is($out->{empty_choices}, 0, 'openai stream: no usage-only chunk');
is($out->{text}, 'tok ' x 3, 'openai stream: the text');

my $log = do { local (@ARGV, $/) = $n->prefix . '/logs/sdk.log'; <> };
like($log, qr/^sdk-oa 429\nsdk-oa 200\n/m,
     'openai: a 429, then the retry admitted');

select(undef, undef, undef, 0.8);
my $b = get_bucket($ddb, $nsid, 'sdk-oa', 'gpt-4o');
is($b && $b->{b_tpm_tc}, 45_000,
   'openai: three calls charged their usage (15 each, the 429 nothing)')
    or diag(explain($b));


# Anthropic ----------------------------------------------------------------------

$out = node('anthropic', <<"EOF");
const Anthropic = require('\@anthropic-ai/sdk');
const client = new Anthropic({ apiKey: 'sdk-an',
    baseURL: 'http://127.0.0.1:$port/anthropic', maxRetries: 0,
    defaultHeaders: { 'X-API-Key': 'sdk-an', 'X-Demo-Usage': '10,5' } });
(async () => {
    const r = {};
    const req = { model: 'claude-3-5-sonnet', max_tokens: 16,
                  messages: [{ role: 'user', content: 'hi' }] };
    const first = await client.messages.create(req);
    r.first = first.usage.output_tokens;
    try {
        await client.messages.create(req);
        r.second = 'admitted';
    } catch (e) {
        r.rate_limit_error = e instanceof Anthropic.RateLimitError;
        r.status = e.status;
        r.error_type = e.error && e.error.error && e.error.error.type;
        r.message = e.message;
        r.retry_after_ms = e.headers && e.headers.get('retry-after-ms');
    }
    console.log(JSON.stringify(r));
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); });
EOF

is($out->{first}, 5, 'anthropic: the SDK reads the answer');
ok($out->{rate_limit_error},
   'anthropic: the 429 is an Anthropic.RateLimitError');
is($out->{status}, 429, 'anthropic: status 429');
is($out->{error_type}, 'rate_limit_error', 'anthropic: error.type');
like($out->{message} // '', qr/Rate limit exceeded for sdk-an/,
     'anthropic: the message');
like($out->{retry_after_ms} // '', qr/^\d+$/, 'anthropic: retry-after-ms');

$n->stop;

done_testing();
