# Sharing the table with the Python library: the module consumes from a
# bucket item written the way zae-limiter writes it
# (docs/table-format.md 4.4), honours its stored parameters, keeps the
# hidden wcu limit alive without an aggregator (no endless shard
# doubling), initialises a limit new to an existing bucket, and resolves
# namespaces through the registry.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use Test::Zae::DDB qw(S N BOOL NUL);
use Time::HiRes ();

my ($env, $ddb, $nsid, $n, $r, $b, $now_ms);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$n = nginx(conf => zae_conf(dynamodb => 'timeout=2s config_cache=0',
                            upstream => <<'UPSTREAM', server => <<'EOF'));
location / { return 200 "upstream\n"; }
UPSTREAM
add_header X-Status $zae_limit_status always;

location /v1/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1,tpm:250 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /one/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location = /metrics {
    zae_limit_metrics;
}

location /tenant/ {
    zae_limit_namespace $http_x_tenant;
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:2/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF

$n->start;

sub req {
    my ($uri, $hdrs) = @_;
    return http_req("GET $uri", headers => $hdrs);
}

sub bucket_item {
    my (%a) = @_;

    return {
        PK          => S("$nsid/BUCKET#$a{entity}#gpt-4#0"),
        SK          => S('#STATE'),
        entity_id   => S($a{entity}),
        resource    => S('gpt-4'),
        rf          => N($a{rf}),
        cascade     => BOOL(0),
        shard_count => N($a{shard_count} // 1),
        b_rpm_tk    => N($a{rpm_tk}), b_rpm_cp => N(20000),
        b_rpm_ra    => N(20000), b_rpm_rp => N(60000),
        b_rpm_tc    => N(2000),
        ($a{no_tpm} ? () : (
        b_tpm_tk    => N(2750000), b_tpm_cp => N(3000000),
        b_tpm_ra    => N(3000000), b_tpm_rp => N(3600000),
        b_tpm_tc    => N(250000))),
        b_wcu_tk    => N($a{wcu_tk}), b_wcu_cp => N(1000000),
        b_wcu_ra    => N(1000000), b_wcu_rp => N(1000),
        b_wcu_tc    => N(1000),
        GSI2PK      => S("$nsid/RESOURCE#gpt-4"),
        GSI2SK      => S("BUCKET#$a{entity}#0"),
        GSI3PK      => S("$nsid/ENTITY#$a{entity}"),
        GSI3SK      => S('BUCKET#gpt-4#0'),
        GSI4PK      => S($nsid),
        GSI4SK      => S("BUCKET#$a{entity}#gpt-4#0"),
    };
}

$now_ms = int(Time::HiRes::time() * 1000);


# a bucket written by Python: the fast path consumes from it ----------------

$ddb->put_item(bucket_item(entity => 'py-1', rf => $now_ms, rpm_tk => 18000,
                           wcu_tk => 999000));

$r = req('/v1/', "X-API-Key: py-1\n");
is($r->{status}, 200, 'python bucket: admitted');
is($r->{headers}{'x-ratelimit-limit-rpm'}, 20,
   'its stored capacity (20) is used, not limits=');

$b = get_bucket($ddb, $nsid, 'py-1', 'gpt-4');
is($b->{b_rpm_tk}, 17000, 'rpm tk: one token (1000 milli) taken');
is($b->{b_rpm_tc}, 3000, 'rpm tc: +1000');
is($b->{b_tpm_tk}, 2500000, 'tpm tk: 250 tokens taken');
is($b->{b_tpm_tc}, 500000, 'tpm tc: +250000');
is($b->{b_wcu_tk}, 998000, 'wcu: one speculative write (1000 milli)');
is($b->{b_wcu_tc}, 2000, 'wcu tc +1000');
is($b->{rf}, $now_ms, 'the fast path does not move rf');
ok(!exists $b->{ttl}, 'the fast path does not add a ttl');


# wcu exhausted, no aggregator: refilled lazily, no shard doubling -----------

$ddb->put_item(bucket_item(entity => 'py-2', rf => $now_ms - 10_000,
                           rpm_tk => 18000, wcu_tk => 500));

for my $i (1 .. 3) {
    $r = req('/v1/', "X-API-Key: py-2\n");
    is($r->{status}, 200, "wcu short: request $i admitted");
}

$b = get_bucket($ddb, $nsid, 'py-2', 'gpt-4');
is($b->{shard_count}, 1, 'no shard doubling');
ok($b->{b_wcu_tk} > 900_000, 'wcu refilled by the slow path write')
    or diag($b->{b_wcu_tk});
is($b->{b_rpm_tc}, 5000, 'rpm tc counts the 3 requests exactly');


# shard_count doubled but no shard 1 (no aggregator): shard 0 only ------------

$ddb->put_item(bucket_item(entity => 'py-5', rf => $now_ms - 5000,
                           rpm_tk => 18000, wcu_tk => 999000,
                           shard_count => 2));

for my $i (1 .. 10) {
    $r = req('/one/', "X-API-Key: py-5\n");
    is($r->{status}, 200, "missing shard 1: request $i admitted");
}

$b = get_bucket($ddb, $nsid, 'py-5', 'gpt-4');
is($b->{b_rpm_tc}, 12000, 'missing shard 1: all 10 charged to shard 0');
is($b->{rf}, $now_ms - 5000,
   'missing shard 1: no slow path (rf untouched), only the fast path');
is($b->{shard_count}, 2, 'missing shard 1: shard_count not doubled again');
ok(!defined get_bucket($ddb, $nsid, 'py-5', 'gpt-4', 1),
   'missing shard 1: not created by the module');


# refill would help: the refused write's ALL_OLD image replaces the read -----

sub batch_gets {
    my $m = http_req('GET /metrics')->{body} // '';
    my ($v) = $m =~ /^zae_limit_dynamodb_calls_total\{operation="BatchGetItem",result="ok"\} (\d+)$/m;
    return $v // 0;
}

$ddb->put_item(bucket_item(entity => 'py-6', rf => $now_ms - 60_000,
                           rpm_tk => 500, wcu_tk => 999000));

my $bg = batch_gets();

$r = req('/one/', "X-API-Key: py-6\n");
is($r->{status}, 200, 'refill helps: admitted through the slow path');
is(batch_gets() - $bg, 1,
   'refill helps: one BatchGetItem (the config), the bucket not read again');

$b = get_bucket($ddb, $nsid, 'py-6', 'gpt-4');
ok($b->{rf} > $now_ms, 'refill helps: the Normal write moved rf');
is($b->{b_rpm_tc}, 3000, 'refill helps: tc +1000');
ok($b->{b_rpm_tk} >= 18_000 && $b->{b_rpm_tk} <= 19_000,
   'refill helps: refilled to capacity minus the request')
    or diag($b->{b_rpm_tk});


# a limit new to an existing bucket (upstream's permanent 429) ---------------

$ddb->put_item(bucket_item(entity => 'py-3', rf => $now_ms, rpm_tk => 18000,
                           wcu_tk => 999000, no_tpm => 1));
set_entity_limits($ddb, $nsid, 'py-3', 'gpt-4',
                  [[rpm => 20, 20, 60], [tpm => 3000, 3000, 3600]]);

$r = req('/v1/', "X-API-Key: py-3\n");
is($r->{status}, 200, 'new limit: admitted, not a permanent 429');

$b = get_bucket($ddb, $nsid, 'py-3', 'gpt-4');
is($b->{b_tpm_cp}, 3000000, 'new limit initialised: cp');
is($b->{b_tpm_tc}, 250000, 'new limit initialised: tc = consumed');

$r = req('/v1/', "X-API-Key: py-3\n");
is($r->{status}, 200, 'new limit: the next request takes the fast path');


# namespaces: resolved through the registry, never assumed -------------------

my $acme = $ddb->register_namespace('acme');
isnt($acme, $nsid, 'acme has its own namespace id');

for my $i (1 .. 2) {
    $r = req('/tenant/', "X-API-Key: t-1\nX-Tenant: acme\n");
    is($r->{status}, 200, "acme: request $i admitted");
}

$r = req('/tenant/', "X-API-Key: t-1\nX-Tenant: acme\n");
is($r->{status}, 429, 'acme: third rejected');

$r = req('/tenant/', "X-API-Key: t-1\nX-Tenant: default\n");
is($r->{status}, 200, 'same key in the default namespace: its own bucket');

ok($ddb->get_item({ PK => S("$acme/BUCKET#t-1#gpt-4#0"), SK => S('#STATE') }),
   'bucket keyed by the acme namespace id');

$r = req('/tenant/', "X-API-Key: t-1\nX-Tenant: nope\n");
is($r->{status}, 503, 'unregistered namespace: unavailable (block)');
like($n->error_log, qr/namespace "nope" is not registered/,
     'unregistered namespace logged');

$r = req('/tenant/', "X-API-Key: t-1\nX-Tenant: a/b\n");
is($r->{status}, 400, 'invalid namespace: 400');

$n->stop;

done_testing();
