# The first hour as a user (#16): the run-time answers and log lines of
# the likeliest first mistakes.  No limits at any level (its own status,
# line and body); a consumed limit that no level limits (one warn per
# entity, resource and limit, counted); a missing or negative amount
# from the client (400, one error line a second); an empty entity
# (skipped, or refused with empty=reject); a table that does not exist;
# an outage (one error line per request at most, repeats summarised);
# rejections at error level; the keyed hash of an API key as the entity.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);

my ($env, $n, $r, $from, $secret, $log);

$env = zae_env();

$secret = "$env->{TEST_NGINX_SERVROOT}-secret";
open my $fh, '>', $secret or die "$secret: $!";
print $fh "0123456789abcdef-test-secret\n";
close $fh;

$n = nginx(log_level => 'info', conf => <<"EOF");
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=\$TEST_NGINX_TABLE region=us-east-1
                       endpoint=\$TEST_NGINX_DDB_ENDPOINT timeout=2s;

    server {
        listen 127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        location / {
            return 200 'ok';
        }
    }

    server {
        listen 127.0.0.1:\$TEST_NGINX_SERVER_PORT;

        add_header X-Status \$zae_limit_status always;
        add_header X-Entity \$zae_limit_key_hash always;
        add_header X-Source \$zae_limit_source always;

        location = /metrics {
            zae_limit_metrics;
        }

        location /nolimits/ {
            zae_limit entity=\$http_x_api_key resource=fh-none-\$arg_r
                      consume=rpm:1;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /nolimits-allow/ {
            zae_limit entity=\$http_x_api_key resource=fh-none-allow
                      consume=rpm:1;
            zae_limit_on_unavailable allow;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /typo/ {
            zae_limit entity=\$http_x_api_key resource=fh-typo
                      consume=rpm:1,tokens:5 limits=rpm:100/min;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /amount/ {
            zae_limit entity=\$http_x_api_key resource=fh-amount
                      consume=rpm:1,tpm:\$http_x_token_estimate
                      limits=rpm:1000/min,tpm:100000/min;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /empty-skip/ {
            zae_limit entity=\$http_x_api_key resource=fh-empty
                      consume=rpm:1 limits=rpm:100/min;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /empty-reject/ {
            zae_limit entity=\$http_x_api_key resource=fh-empty
                      consume=rpm:1 limits=rpm:100/min empty=reject;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /reject/ {
            zae_limit entity=\$http_x_api_key resource=fh-reject
                      consume=rpm:1 limits=rpm:1/hour;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }

        location /hashed/ {
            zae_limit_key_hash \$http_x_api_key secret_file=$secret;
            zae_limit entity=\$zae_limit_key_hash resource=fh-hash
                      consume=rpm:1 limits=rpm:1/hour empty=reject;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }
    }
}
EOF

$n->start;

sub req {
    my ($uri, %h) = @_;
    my $hdrs = join '', map { "$_: $h{$_}\n" } sort keys %h;

    return http_req("GET $uri", headers => $hdrs);
}

sub metric {
    my ($name) = @_;
    my $m = req('/metrics')->{body} // '';

    return $m =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
}

sub count { my ($re, $text) = @_; return scalar(() = $text =~ /$re/g) }


# no limits at any level (#16.6) ----------------------------------------------

$from = $n->log_size;
$r = req('/nolimits/v1?r=a', 'X-API-Key' => 'fh-key');

is($r->{status}, 503, 'no limits: 503');
is($r->{headers}{'x-status'}, 'NO_LIMITS', 'no limits: status NO_LIMITS');
is($r->{headers}{'x-source'}, undef,
   'no limits: no $zae_limit_source (was "entity")');

my $body = eval { decode_json($r->{body}) } // {};
is($body->{error}, 'no_limits_configured', 'no limits: its own error');
is($body->{message}, 'No limits configured for entity "fh-key" and '
   . 'resource "fh-none-a"; searched: entity (fh-key, fh-none-a), entity '
   . 'default (fh-key, _default_), resource (fh-none-a), system '
   . '(namespace default); the location has no limits=',
   'no limits: the body names every level searched');
is_deeply($body->{searched}, [qw(entity entity_default resource system)],
          'no limits: the levels as a list');

$log = $n->error_log($from);
like($log, qr/\[error\].*\Qzae_limit: no limits configured for entity "fh-key" and resource "fh-none-a" at any level (entity, entity default, resource, system of namespace "default"): set them with zae-admin or limits=, client: \E/,
     'no limits: its own line, at error');
unlike($log, qr/dynamodb unavailable/, 'no limits: not "dynamodb unavailable"');

$r = req('/nolimits-allow/v1', 'X-API-Key' => 'fh-key');
is($r->{status}, 200, 'no limits with on_unavailable allow: served');
is($r->{headers}{'x-status'}, 'NO_LIMITS', 'and still NO_LIMITS');

is(metric('zae_limit_requests_total{outcome="no_limits"}'), 2,
   'no limits: counted');


# a consumed limit that no level limits (#16.7) ------------------------------

$from = $n->log_size;

for my $key ('fh-t1', 'fh-t1', 'fh-t1', 'fh-t2') {
    $r = req('/typo/v1', 'X-API-Key' => $key);
    is($r->{status}, 200, "typo $key: served (rpm limits it)");
}

$log = $n->error_log($from);
is(count(qr/\[warn\].*\Qzae_limit: limit "tokens" is consumed but no level limits it for entity "fh-t1" and resource "fh-typo": not limited, client: \E/, $log),
   1, 'unlimited consume: said once for fh-t1 in 3 requests');
is(count(qr/limit "tokens" is consumed but no level limits it for entity "fh-t2"/, $log),
   1, 'unlimited consume: and once for fh-t2');
is(metric('zae_limit_unlimited_consumes_total'), 4,
   'unlimited consume: every request counted');


# a client amount that is missing or negative (#16.8) ------------------------

$from = $n->log_size;

for my $v (undef, '-5', 'abc', '') {
    $r = req('/amount/v1', 'X-API-Key' => 'fh-a',
             defined $v ? ('X-Token-Estimate' => $v) : ());
    my $what = defined $v ? "\"$v\"" : 'missing';

    is($r->{status}, 400, "amount $what: 400");
    is($r->{headers}{'x-status'}, 'INVALID', "amount $what: INVALID");
    $body = eval { decode_json($r->{body}) } // {};
    is($body->{error}, 'invalid_request', "amount $what: JSON error");
    is($body->{field}, 'consume amount', "amount $what: names the field");
}

$log = $n->error_log($from);
my $lines = count(qr/\[error\].*zae_limit: invalid consume amount/, $log);
is(count(qr/zae_limit: invalid consume amount \S+ of limit "tpm" in "zae_limit" directive0/, $log), 0,
   'no stray count when none was left out');
ok($lines >= 1 && $lines <= 2,
   "4 invalid amounts within a second or two: $lines error line(s), "
   . 'not 4') or diag($log);
like($log, qr/\Qzae_limit: invalid consume amount "" of limit "tpm" in "zae_limit" directive, client: \E/,
     'invalid amount: the line names the limit');

# the next second's line says how many were left out

sleep 1.1 while time == (stat "$n->{prefix}/logs/error.log")[9];
select undef, undef, undef, 1.1;
$r = req('/amount/v1', 'X-API-Key' => 'fh-a', 'X-Token-Estimate' => '-1');
is($r->{status}, 400, 'amount -1: 400');
like($n->error_log($from), qr/invalid consume amount "-1" of limit "tpm" in "zae_limit" directive \(and \d+ more in the previous second\), client: /,
     'invalid amount: the suppressed lines counted in the next one')
    if $lines == 1;
pass('invalid amount: lines spread over two seconds') if $lines != 1;

$r = req('/amount/v1', 'X-API-Key' => 'fh-a', 'X-Token-Estimate' => '7');
is($r->{status}, 200, 'amount 7: 200');


# an empty entity (#16.9) ----------------------------------------------------

$r = req('/empty-skip/v1');
is($r->{status}, 200, 'empty entity, empty=skip (default): served');
is($r->{headers}{'x-status'}, 'SKIPPED', 'empty entity: SKIPPED');

$r = req('/empty-reject/v1');
is($r->{status}, 400, 'empty entity, empty=reject: 400');
is($r->{headers}{'x-status'}, 'INVALID', 'empty=reject: INVALID');
$body = eval { decode_json($r->{body}) } // {};
is($body->{message}, 'Invalid entity_id: is empty',
   'empty=reject: the JSON body says why');

$r = req('/empty-reject/v1', 'X-API-Key' => 'fh-e');
is($r->{status}, 200, 'empty=reject with a key: served');


# rejections are logged at error, as limit_req does (#16.12) ----------------

$from = $n->log_size;
req('/reject/v1', 'X-API-Key' => 'fh-r');
$r = req('/reject/v1', 'X-API-Key' => 'fh-r');
is($r->{status}, 429, 'rpm:1/hour: the second is 429');
like($n->error_log($from), qr/\[error\].*zae_limit: limiting requests, entity "fh-r"/,
     'a rejection is logged at error by default');


# the keyed hash of an API key (#16.17) --------------------------------------

my $api_key = 'sk-first-hour-secret-key';
my $want = 'kh_' . encode_base64url(hmac_sha256($api_key,
                                                '0123456789abcdef-test-secret'));
is(length $want, 46, 'the expected id is 46 bytes');

$from = $n->log_size;
$r = req('/hashed/v1', 'X-API-Key' => $api_key);
is($r->{status}, 200, 'hashed key: served');
is($r->{headers}{'x-entity'}, $want,
   '$zae_limit_key_hash is kh_ + base64url(HMAC-SHA-256(secret, key))');

$r = req('/hashed/v1', 'X-API-Key' => $api_key);
is($r->{status}, 429, 'hashed key: limited by its hash');
$log = $n->error_log($from);
like($log, qr/limiting requests, entity "\Q$want\E"/,
     'hashed key: the log names the hash');
unlike($log, qr/\Q$api_key\E/, 'hashed key: the key never reaches the log');

my $items = encode_json(ddb()->scan());
like($items, qr/\Q$want\E/, 'hashed key: the table holds the hash');
unlike($items, qr/\Q$api_key\E/, 'hashed key: never the key');

$r = req('/hashed/v1');
is($r->{status}, 400, 'hashed, no key: empty entity refused (empty=reject)');

$n->stop;


# a table that does not exist (#16.5) ----------------------------------------

my $conf = <<'EOF';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=%TABLE% region=us-east-1
                       endpoint=%ENDPOINT% timeout=1s max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        location / {
            return 200 'ok';
        }
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location / {
            zae_limit entity=$http_x_api_key resource=fh
                      consume=rpm:1 limits=rpm:100/min;
            zae_limit_on_unavailable %POLICY%;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }
    }
}
EOF

(my $c = $conf) =~ s/%TABLE%/fh-no-such-table/;
$c =~ s/%ENDPOINT%/\$TEST_NGINX_DDB_ENDPOINT/;
$c =~ s/%POLICY%/block/;

$n = nginx(log_level => 'info', conf => $c,
           prefix => "$env->{TEST_NGINX_SERVROOT}-notable");
$n->start;

$r = req('/v1', 'X-API-Key' => 'fh-k');
is($r->{status}, 503, 'no such table: 503');
like($n->error_log, qr/\[error\].*\Qzae_limit: dynamodb unavailable: table "fh-no-such-table" not found at $env->{TEST_NGINX_DDB_ENDPOINT} (region us-east-1): run zae-admin deploy, entity "fh-k", resource "fh", client: \E/,
     'no such table: the line names table, endpoint, region and the fix');
unlike($n->error_log, qr/namespace lookup failed/,
       'no such table: not "namespace lookup failed"');
$n->stop;


# an outage: one error line per request at most, repeats summarised (#16.12)

my ($dead) = Test::Zae::_free_ports(1);

($c = $conf) =~ s/%TABLE%/\$TEST_NGINX_TABLE/;
$c =~ s/%ENDPOINT%/http:\/\/127.0.0.1:$dead/;
$c =~ s/%POLICY%/allow/;

$n = nginx(log_level => 'info', conf => $c,
           prefix => "$env->{TEST_NGINX_SERVROOT}-outage");
$n->start;

my $t0 = time;

for my $i (1 .. 10) {
    $r = req('/v1', 'X-API-Key' => 'fh-o');
    is($r->{status}, 200, "outage, allow: request $i served");
}

my $secs = time - $t0 + 1;
$log = $n->error_log;
$lines = count(qr/\[error\]/, $log);

ok($lines >= 1 && $lines <= $secs + 1,
   "10 requests in about $secs s of outage: $lines error line(s)")
    or diag($log);
like($log, qr/\[error\].*\Qzae_limit: dynamodb unavailable: dynamodb GetItem failed: connect() to 127.0.0.1:$dead failed (111: Connection refused), entity "fh-o", resource "fh", client: \E/,
     'outage: the one line says the cause, with the system\'s words');
like($log, qr/\[info\].*\QDynamoDB "DynamoDB_20120810.GetItem" failed after 1 attempt\E/,
     'outage: the client\'s own line is at info');

select undef, undef, undef, 1.1;
$r = req('/v1', 'X-API-Key' => 'fh-o');
like($n->error_log, qr/dynamodb unavailable: .*, resource "fh" \(and \d+ more in the previous second\), client: /,
     'outage: the next second\'s line counts the ones left out');

done_testing();
