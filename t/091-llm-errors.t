# What clients written against the providers read: zae_limit_headers
# openai (x-ratelimit-{limit,remaining,reset}-{requests,tokens} from
# named limits, retry-after-ms on 429) and zae_limit_error_format
# openai | anthropic (the 429 and 503 bodies in the shapes the SDKs
# parse); the default zae format and headers unchanged.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use JSON::PP;

my ($env, $n, $r, $e);

$env = zae_env();

$n = nginx(conf => zae_conf(upstream => <<'UPSTREAM', server => <<'EOF'));
location / {
    return 200 '{"object":"chat.completion"}';
}
UPSTREAM
location /openai/ {
    zae_limit entity=$http_x_api_key resource=gpt-4o
              consume=rpm:1,tpm:$arg_t
              limits=rpm:2/min,tpm:1000/min;
    zae_limit_headers openai rpm=requests tpm=tokens;
    zae_limit_error_format openai;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /anthropic/ {
    zae_limit entity=$http_x_api_key resource=claude
              consume=rpm:1 limits=rpm:1/min;
    zae_limit_error_format anthropic;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /zae/ {
    zae_limit entity=$http_x_api_key resource=gpt-4o
              consume=rpm:1 limits=rpm:1/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF
$n->start;

sub req {
    my ($uri, $key, %a) = @_;
    return http_req("GET $uri", headers => "X-API-Key: $key\n", %a);
}


# headers openai ---------------------------------------------------------------

$r = req('/openai/x?t=100', 'oa-1');
is($r->{status}, 200, 'openai: admitted');
is($r->{headers}{'x-ratelimit-limit-requests'}, 2, 'limit-requests from rpm');
is($r->{headers}{'x-ratelimit-remaining-requests'}, 1,
   'remaining-requests from rpm');
is($r->{headers}{'x-ratelimit-limit-tokens'}, 1000, 'limit-tokens from tpm');
is($r->{headers}{'x-ratelimit-remaining-tokens'}, 900,
   'remaining-tokens from tpm');
like($r->{headers}{'x-ratelimit-reset-tokens'} // '', qr/^\d+s$/,
     'reset-tokens');
ok(!exists $r->{headers}{'x-ratelimit-limit-rpm'},
   'no per-name header for a mapped limit');
like($r->{headers}{'ratelimit-policy'} // '', qr/"rpm";q=2;w=60/,
     'the IETF fields stay');

# over the tokens: the 429 in OpenAI's shape

$r = req('/openai/x?t=950', 'oa-1');
is($r->{status}, 429, 'openai: 429');
$e = eval { decode_json($r->{body}) } // {};
like($e->{error}{message} // '',
     qr/^Rate limit exceeded for oa-1\/gpt-4o: \[tpm\]\. Retry after \d+\.\ds$/,
     'openai 429: error.message');
is($e->{error}{type}, 'tokens', 'openai 429: error.type from the mapping');
is($e->{error}{code}, 'rate_limit_exceeded', 'openai 429: error.code');
ok(exists $e->{error}{param} && !defined $e->{error}{param},
   'openai 429: error.param null');
like($r->{headers}{'retry-after-ms'} // '', qr/^\d+$/, 'retry-after-ms');
my $ms = $r->{headers}{'retry-after-ms'} // 0;
ok($ms > 0 && $ms <= 60000, "retry-after-ms in range ($ms)");
is($r->{headers}{'retry-after'}, int($ms / 1000) + 1,
   'Retry-After agrees with retry-after-ms');
like($r->{headers}{'x-ratelimit-remaining-tokens'} // '', qr/^9\d\d$/,
     'the 429 carries the tokens left (900 and what refilled)');

$r = req('/openai/x?t=1', 'oa-1');
$r = req('/openai/x?t=1', 'oa-1');
is($r->{status}, 429, 'openai: over the requests');
$e = eval { decode_json($r->{body}) } // {};
is($e->{error}{type}, 'requests', 'openai 429: type requests for rpm');


# error_format anthropic ------------------------------------------------------

req('/anthropic/x', 'an-1');
$r = req('/anthropic/x', 'an-1');
is($r->{status}, 429, 'anthropic: 429');
$e = eval { decode_json($r->{body}) } // {};
is($e->{type}, 'error', 'anthropic 429: type error');
is($e->{error}{type}, 'rate_limit_error', 'anthropic 429: error.type');
like($e->{error}{message} // '', qr/^Rate limit exceeded for an-1\/claude/,
     'anthropic 429: error.message');
like($r->{headers}{'retry-after-ms'} // '', qr/^\d+$/,
     'anthropic 429: retry-after-ms');
ok(exists $r->{headers}{'x-ratelimit-limit-rpm'},
   'headers on: per-name fields as before');


# the default: zae's body, no retry-after-ms --------------------------------------

req('/zae/x', 'z-1');
$r = req('/zae/x', 'z-1');
is($r->{status}, 429, 'zae: 429');
like($r->{body}, qr/^\{"error": "rate_limit_exceeded", "message": /,
     'zae: the zae-limiter body');
ok(!exists $r->{headers}{'retry-after-ms'}, 'zae: no retry-after-ms');


$n->stop;


# 503 in the providers' shapes: DynamoDB unreachable ----------------------------

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://127.0.0.1:9 timeout=200ms
                       max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /openai/ {
            zae_limit entity=$http_x_api_key resource=gpt-4o
                      consume=rpm:1;
            zae_limit_on_unavailable block;
            zae_limit_error_format openai;
            proxy_pass http://127.0.0.1:9;
        }

        location /anthropic/ {
            zae_limit entity=$http_x_api_key resource=gpt-4o
                      consume=rpm:1;
            zae_limit_on_unavailable block;
            zae_limit_error_format anthropic;
            proxy_pass http://127.0.0.1:9;
        }
    }
}
EOF
$n->start;

$r = req('/openai/x', 'u-1');
is($r->{status}, 503, 'unavailable: 503');
$e = eval { decode_json($r->{body}) } // {};
is($e->{error}{type}, 'server_error', 'openai 503: error.type');
is($e->{error}{code}, 'rate_limiter_unavailable', 'openai 503: error.code');
like($e->{error}{message} // '', qr/\[stack=/, 'openai 503: error.message');

$r = req('/anthropic/x', 'u-1');
$e = eval { decode_json($r->{body}) } // {};
is($e->{type}, 'error', 'anthropic 503: type');
is($e->{error}{type}, 'api_error', 'anthropic 503: error.type');

$n->stop;

done_testing();
