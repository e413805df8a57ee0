# The acquire path against DynamoDB Local: admit until the bucket is
# empty, then 429 with zae-limiter's body and Retry-After; the bucket
# item the module writes; stored limits at each level over the inline
# fallback; two limits; cascade key -> project; dry run; empty and bad
# entities; rate limit headers and variables.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use JSON::PP;

my ($env, $ddb, $nsid, $n, $r, $b, @items);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$n = nginx(conf => zae_conf(
    http => q{log_format zae '$zae_limit_status $zae_limit_source';},
    upstream => <<'UPSTREAM', server => <<'EOF'));
location / {
    add_header X-Tokens-Used 42;
    return 200 '{"object":"chat.completion"}';
}
UPSTREAM
add_header X-Status $zae_limit_status always;
add_header X-Source $zae_limit_source always;
add_header X-Retry $zae_limit_retry_after always;

location /inline/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:3/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /stored/ {
    zae_limit entity=$http_x_api_key resource=$arg_model
              consume=rpm:1 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /two/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1,tpm:$arg_tokens
              limits=rpm:100/min,tpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /cascade/ {
    zae_limit entity=$http_x_api_key resource=claude
              consume=rpm:1 limits=rpm:100/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /dry/ {
    zae_limit entity=$http_x_api_key resource=dry
              consume=rpm:1 limits=rpm:1/hour;
    zae_limit_dry_run on;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /status/ {
    zae_limit entity=$http_x_api_key resource=st
              consume=rpm:1 limits=rpm:1/hour;
    zae_limit_status 503;
    zae_limit_headers off;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /noproxy {
    zae_limit entity=$http_x_api_key resource=local
              consume=rpm:1 limits=rpm:5/min;
    return 200 "return runs before the limiter\n";
}
EOF

$n->start;

sub req {
    my ($uri, $key) = @_;

    return http_req("GET $uri",
                    headers => defined $key ? "X-API-Key: $key\n" : '');
}


# admit until empty, then 429 -----------------------------------------------

for my $i (1 .. 3) {
    $r = req('/inline/v1', 'key-a');
    is($r->{status}, 200, "inline: request $i admitted");

    if ($i == 1) {
        is($r->{headers}{'x-source'}, 'inline',
           '$zae_limit_source inline on the first (slow path) request');
    }
}

is($r->{headers}{'x-status'}, 'PASSED', '$zae_limit_status PASSED');
is($r->{headers}{'x-ratelimit-limit-rpm'}, 3, 'x-ratelimit-limit-rpm');
is($r->{headers}{'x-ratelimit-remaining-rpm'}, 0,
   'x-ratelimit-remaining-rpm after 3 of 3');
like($r->{headers}{'ratelimit-policy'}, qr/^"rpm";q=3;w=60$/,
     'RateLimit-Policy');
like($r->{headers}{ratelimit}, qr/^"rpm";r=0;t=\d+$/, 'RateLimit');

$r = req('/inline/v1', 'key-a');
is($r->{status}, 429, 'inline: 4th request rejected');
is($r->{headers}{'content-type'}, 'application/json', '429 is JSON');
is($r->{headers}{'x-status'}, 'REJECTED', '$zae_limit_status REJECTED');

$b = eval { JSON::PP->new->decode($r->{body}) };
ok($b, '429 body parses') or diag($r->{body});

like($r->{body}, qr/^\{"error": "rate_limit_exceeded", "message": "Rate limit exceeded for key-a\/gpt-4: \[rpm\]\. Retry after \d+\.\ds", "retry_after_seconds": [0-9.]+, "retry_after_ms": \d+, "limits": \[\{"entity_id": "key-a", "resource": "gpt-4", "limit_name": "rpm", "capacity": 3, "refill_amount": 3, "refill_period_seconds": 60, "available": 0, "requested": 1, "exceeded": true, "retry_after_seconds": [0-9.]+\}\]\}$/,
     '429 body has as_dict() keys, order and values');

if ($b) {
    is($b->{retry_after_ms}, int($b->{retry_after_seconds} * 1000),
       'retry_after_ms truncates retry_after_seconds');
    is($r->{headers}{'retry-after'}, int($b->{retry_after_seconds}) + 1,
       'Retry-After = int(retry) + 1');
    is($r->{headers}{'x-retry'}, $r->{headers}{'retry-after'},
       '$zae_limit_retry_after');
    ok($b->{retry_after_seconds} > 19 && $b->{retry_after_seconds} <= 20.001,
       'retry after ~20 s for 1 of 3/min') or diag($b->{retry_after_seconds});
    is(($b->{message} =~ /Retry after (\d+\.\d)s$/)[0],
       sprintf('%.1f', $b->{retry_after_seconds}),
       'the message: retry_after_seconds as Python\'s {:.1f}');
}

$r = req('/inline/v1', 'key-a');
is($r->{status}, 429, 'inline: 5th request rejected too');

my $bk = get_bucket($ddb, $nsid, 'key-a', 'gpt-4');

ok($bk, 'bucket item written') or BAIL_OUT('no bucket item');
is($bk->{entity_id}, 'key-a', 'bucket entity_id');
is($bk->{resource}, 'gpt-4', 'bucket resource');
is($bk->{b_rpm_cp}, 3000, 'b_rpm_cp in millitokens');
is($bk->{b_rpm_ra}, 3000, 'b_rpm_ra in millitokens');
is($bk->{b_rpm_rp}, 60000, 'b_rpm_rp in ms');
is($bk->{b_rpm_tc}, 3000, 'b_rpm_tc counts exactly the 3 admitted');
ok($bk->{b_rpm_tk} < 1000, 'b_rpm_tk below one token')
    or diag($bk->{b_rpm_tk});
is($bk->{b_wcu_cp}, 1000000, 'hidden wcu limit present');
is($bk->{shard_count}, 1, 'shard_count 1');
ok($bk->{ttl} > time, 'ttl set for non-entity limits');
is($bk->{GSI2PK}, "$nsid/RESOURCE#gpt-4", 'GSI2PK');
is($bk->{GSI2SK}, 'BUCKET#key-a#0', 'GSI2SK');
is($bk->{GSI3PK}, "$nsid/ENTITY#key-a", 'GSI3PK');
is($bk->{GSI3SK}, 'BUCKET#gpt-4#0', 'GSI3SK');
is($bk->{GSI4PK}, $nsid, 'GSI4PK');
is($bk->{GSI4SK}, 'BUCKET#key-a#gpt-4#0', 'GSI4SK without ns prefix');
ok(!$bk->{cascade}, 'cascade false');

$r = req('/inline/v1', 'key-b');
is($r->{status}, 200, 'another key has its own bucket');


# stored limits at each level override the inline fallback --------------------

set_system_limits($ddb, $nsid, [[rpm => 2, 2, 60]]);
set_resource_limits($ddb, $nsid, 'res-r', [[rpm => 3, 3, 60]]);
set_entity_limits($ddb, $nsid, 'key-e', '_default_', [[rpm => 4, 4, 60]]);
set_entity_limits($ddb, $nsid, 'key-e', 'res-e', [[rpm => 5, 5, 60]]);

my %want = (
    'key-s res-s' => [2, 'system'],
    'key-r res-r' => [3, 'resource'],
    'key-e res-d' => [4, 'entity_default'],
    'key-e res-e' => [5, 'entity'],
);

for my $case (sort keys %want) {
    my ($key, $res) = split / /, $case;
    my ($cap, $src) = @{ $want{$case} };
    my ($ok, $last) = (0);

    for my $i (1 .. $cap + 1) {
        $last = req("/stored/v1?model=$res", $key);
        $ok++ if $last->{status} == 200;
    }

    is($ok, $cap, "$src limits: $cap admitted");
    is($last->{status}, 429, "$src limits: then 429");
    like($last->{body}, qr/"capacity": $cap,/, "$src limits in the body");

    $r = get_bucket($ddb, $nsid, $key, $res);
    is($r->{b_rpm_cp}, $cap * 1000, "$src limits in the bucket");
    is(defined $r->{ttl} ? 'ttl' : 'none', $src eq 'entity' ? 'none' : 'ttl',
       "$src limits: bucket ttl policy");
}


# the system limits would apply to every entity from now on: remove them
# (nothing cached them for the entities used below)

$ddb->delete_item({ PK => S("$nsid/SYSTEM#"), SK => S('#CONFIG') });


# two limits ------------------------------------------------------------------

$r = req('/two/v1?tokens=400', 'key-t');
is($r->{status}, 200, 'two limits: 400 tokens admitted');
is($r->{headers}{'x-ratelimit-remaining-tpm'}, 600, 'tpm remaining 600');
is($r->{headers}{'x-ratelimit-remaining-rpm'}, 99, 'rpm remaining 99');

$r = req('/two/v1?tokens=500', 'key-t');
is($r->{status}, 200, 'two limits: 500 more admitted');

$r = req('/two/v1?tokens=500', 'key-t');
is($r->{status}, 429, 'two limits: tpm exhausted');
like($r->{body}, qr/\[tpm\]/, 'two limits: tpm named as exceeded');
like($r->{body}, qr/"limit_name": "rpm".*"exceeded": false/,
     'two limits: passed rpm listed');

$r = req('/two/v1?tokens=abc', 'key-t');
is($r->{status}, 400, 'invalid consume amount is a 400 (the client\'s)');
like($n->error_log, qr/invalid consume amount "abc" of limit "tpm"/,
     'invalid consume amount logged with the limit name');

$bk = get_bucket($ddb, $nsid, 'key-t', 'gpt-4');
is($bk->{b_tpm_tc}, 900000, 'tpm tc = 900 tokens consumed');
is($bk->{b_rpm_tc}, 2000, 'rpm tc = 2 requests');


# cascade: the project's limit stops a second key ---------------------------

create_entity($ddb, $nsid, 'proj-1');
create_entity($ddb, $nsid, 'ck-1', parent => 'proj-1', cascade => 1);
create_entity($ddb, $nsid, 'ck-2', parent => 'proj-1', cascade => 1);
set_entity_limits($ddb, $nsid, 'proj-1', 'claude', [[rpm => 3, 3, 3600]]);

my @seq = qw(ck-1 ck-2 ck-1 ck-2 ck-1);
my @st = map { req('/cascade/v1', $_)->{status} } @seq;

is_deeply(\@st, [200, 200, 200, 429, 429],
          'cascade: 3 admitted across two keys, then the project limits');

$r = get_bucket($ddb, $nsid, 'proj-1', 'claude');
is($r->{b_rpm_tc}, 3000, 'cascade: project bucket charged 3 times');
ok(!defined $r->{ttl}, 'cascade: project bucket on entity config, no ttl');

# the 5th request charged ck-1 and was refused by the project: the
# compensation goes through the reconciliation queue (flush_interval 1s)

select(undef, undef, undef, 1.6);

$r = get_bucket($ddb, $nsid, 'ck-1', 'claude');
ok($r->{cascade}, 'cascade: child bucket has cascade');
is($r->{parent_id}, 'proj-1', 'cascade: child bucket has parent_id');
is($r->{b_rpm_tc}, 2000, 'cascade: child ck-1 charged for its 2 admitted');


# dry run, status, headers off --------------------------------------------------

$r = req('/dry/v1', 'key-d');
is($r->{status}, 200, 'dry run: first admitted');
$r = req('/dry/v1', 'key-d');
is($r->{status}, 200, 'dry run: over the limit still served');
is($r->{headers}{'x-status'}, 'REJECTED_DRY_RUN',
   '$zae_limit_status REJECTED_DRY_RUN');
like($n->error_log, qr/limiting requests, dry run, entity "key-d"/,
     'dry run logged');

$r = req('/status/v1', 'key-x');
is($r->{status}, 200, 'custom status: first admitted');
ok(!exists $r->{headers}{'x-ratelimit-limit-rpm'}, 'zae_limit_headers off');
$r = req('/status/v1', 'key-x');
is($r->{status}, 503, 'zae_limit_status 503');
like($r->{body}, qr/"error": "rate_limit_exceeded"/, '503 keeps the body');


# empty and bad entities --------------------------------------------------------

my $before = scalar bucket_items($ddb);

$r = req('/inline/v1');
is($r->{status}, 200, 'no key: skipped');
is($r->{headers}{'x-status'}, 'SKIPPED', '$zae_limit_status SKIPPED');

for my $bad ('a#b', 'x' x 300, "a\x01b", '-lead', 'a/b') {
    (my $show = $bad) =~ s/([^ -~])/sprintf('\\x%02x', ord $1)/ge;
    $show = substr($show, 0, 20);

    $r = req('/inline/v1', $bad);
    is($r->{status}, 400, "bad entity \"$show\": 400");
    like($r->{body}, qr/^\{"error": "invalid_request", "message": "Invalid entity_id: /,
         "bad entity \"$show\": JSON error");
}

is(scalar bucket_items($ddb), $before, 'bad entities wrote no item');

$r = req('/noproxy', 'key-n');
is($r->{status}, 200, 'return runs in rewrite phase, before the limiter');
ok(!defined get_bucket($ddb, $nsid, 'key-n', 'local'),
   'no bucket for a location answered by return');


$n->stop;

done_testing();
