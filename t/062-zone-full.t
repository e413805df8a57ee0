# A small zone over many entities: the cache (a resolved limit config
# per entity, the resource's two limits) fills the zone before the
# pending deltas do.  The deltas must still fit: the cache yields to them
# (docs/design.md, "The shared zone").  Before that fix the soak test
# lost most of its deltas in a 1 MB zone over 2000 keys.  Here the
# number of keys is computed from the entry sizes so that the entries of
# the keys need 1.5 times the zone while their deltas need half of it;
# every delta stays pending until the quit (flush_interval 60s), then
# every bucket is exact.  zae_limit_zone_evictions_total shows that the
# zone did fill: if the entries shrink again, the test says so instead
# of passing without reaching the eviction.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use POSIX qw(ceil);

my ($env, $ddb, $nsid, $n, $keys, %want, @wrong, $ok, $m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

set_resource_limits($ddb, $nsid, 'zf-model',
                    [[rpm => 100000000, 100000000, 60],
                     [tpm => 1000000000, 1000000000, 60]]);

# a node of the zone (src/ngx_http_zae_limit_shm.h, 64-bit): the rbtree
# node up to its color (32 bytes), the node header (32), the key aligned
# to 8, the value; the slab gives it a power-of-two chunk

sub chunk {
    my ($key_len, $value_len) = @_;
    my ($size, $c) = (64 + ceil($key_len / 8) * 8 + $value_len, 8);

    $c *= 2 while $c < $size;
    return $c;
}

my $zone = 64 * 1024;
my $ent = 'zf-' . ('9' x 3);    # the longest entity name used below

# the config entry "nsid/entity#zf-model": 8 bytes and 96 a limit
# (ngx_http_zae_limit_config_t); the delta node
# "nsid/BUCKET#entity#zf-model#0": one slot (tpm) of 80 bytes

my $cache_per_key = chunk(length("$nsid/$ent#zf-model"), 8 + 2 * 96);
my $delta_per_key = chunk(length("$nsid/BUCKET#$ent#zf-model#0"), 80);

$keys = ceil(1.5 * $zone / ($cache_per_key + $delta_per_key));

ok($keys < 1000 && $keys * $delta_per_key <= $zone / 2,
   "$keys keys: their entries need " . $keys * $cache_per_key . ' + '
   . $keys * $delta_per_key . " bytes of the $zone");

$n = nginx(log_level => 'info', conf => zae_conf(
    secret => 'x', events => 'worker_connections 1024;',
    dynamodb => 'timeout=10s flush_interval=60s zone=zae_small:64k',
    upstream => <<'UPSTREAM', server => <<'EOF'));

location / {
    add_header X-Tokens-Used $arg_used;
    return 200 '{"object":"chat.completion"}';
}
UPSTREAM
add_header X-Status $zae_limit_status always;

location /v1/ {
    zae_limit entity=$http_x_api_key resource=zf-model
              consume=rpm:1,tpm:500;
    zae_limit_reconcile tpm $upstream_http_x_tokens_used;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location = /metrics {
    zae_limit_metrics;
}
EOF

$n->start;

$ok = 0;

for my $i (1 .. $keys) {
    my $r = http_req("GET /v1/?used=$i", headers => "X-API-Key: zf-$i\n");

    $ok++ if ($r->{status} // '') eq '200'
             && ($r->{headers}{'x-status'} // '') eq 'PASSED';
    $want{"zf-$i"} = $i;
}

is($ok, $keys, "$keys keys admitted");

$m = {};

for my $l (split /\n/, http_req('GET /metrics')->{body} // '') {
    my ($k, $v) = $l =~ /^([^#]\S*) (\d+)$/ or next;
    $m->{$k} = $v;
}

is($m->{zae_limit_reconcile_pending}, $keys,
   "$keys buckets pending in the zone");
is($m->{'zae_limit_reconcile_deltas_total{state="dropped"}'}, 0,
   'no delta dropped');
ok(($m->{zae_limit_zone_evictions_total} // 0) > 0,
   'the zone filled: cache entries were evicted')
    or diag('evictions: ' . ($m->{zae_limit_zone_evictions_total}
                             // 'no metric'));

# the quit writes every pending delta

$n->stop(name => 'quit: error log clean (no alert)');

is(scalar(() = $n->error_log =~ /reconciliation queue is full/g), 0,
   'no delta lost for want of room');

for my $key (sort keys %want) {
    my $b = get_bucket($ddb, $nsid, $key, 'zf-model');

    push @wrong, "$key: tc " . ($b ? $b->{b_tpm_tc} : 'none')
                 . " want " . $want{$key} * 1000
        unless $b && $b->{b_tpm_tc} == $want{$key} * 1000
               && $b->{b_rpm_tc} == 1000;
}

is(scalar(@wrong), 0, 'every bucket holds its reported tokens')
    or diag(join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);


# Cached rejections and configs take the room of the limits they hold,
# not of the 16 a config may have: 200 refused entities (a rejection, a
# "nothing stored" config and an entity entry each) stay in a 256 KB
# zone together, so that every repeated refusal is answered from the
# zone.  With entries of the largest size (1.7 KB a rejection, 1.5 KB a
# config; 2 KB slab chunks) the rejections alone did not fit and many
# refusals went to DynamoDB again.

sub metrics {
    my %m;

    for my $l (split /\n/, http_req('GET /metrics')->{body} // '') {
        my ($k, $v) = $l =~ /^([^#]\S*) (\d+)$/ or next;
        $m{$k} = $v;
    }

    $m{calls} = 0;
    $m{calls} += $m{$_} for grep { /^zae_limit_dynamodb_calls_total/ }
                                keys %m;

    return \%m;
}

$n = nginx(log_level => 'info', conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=x;
events { worker_connections 1024; }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=10s
                       zone=zae_rej:256k;

    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        return 200 'ok';
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location /v1/ {
            zae_limit entity=$http_x_api_key resource=gpt-4
                      consume=rpm:1 limits=rpm:1/hour;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location = /metrics {
            zae_limit_metrics;
        }
    }
}
EOF

$n->start;

my ($m0, $m1, %seen);
my $refused = 200;

sub answer {
    my ($r) = @_;

    return ($r->{headers}{'x-status'} // '') . ' ' . ($r->{status} // '');
}

for my $round (1 .. 2) {
    for my $i (1 .. $refused) {
        $seen{$round}{ answer(http_req('GET /v1/',
                                       headers => "X-API-Key: zr-$i\n")) }++;
    }
}

is_deeply($seen{1}, { 'PASSED 200' => $refused },
          "$refused entities: the first request admitted");
is_deeply($seen{2}, { 'REJECTED 429' => $refused },
          "$refused entities: the second refused");

$m0 = metrics();

for my $i (1 .. $refused) {
    $seen{3}{ answer(http_req('GET /v1/', headers => "X-API-Key: zr-$i\n")) }++;
}

$m1 = metrics();

is_deeply($seen{3}, { 'REJECTED 429' => $refused },
          "$refused entities: the third refused");
is($m1->{zae_limit_rejection_cache_hits_total}
   - ($m0->{zae_limit_rejection_cache_hits_total} // 0), $refused,
   'every third request answered from the rejection cache');
is($m1->{calls} - $m0->{calls}, 0, 'no DynamoDB call for them');

$n->stop(name => 'rejections: error log clean (no alert)');

done_testing();
