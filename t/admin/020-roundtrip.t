#!/usr/bin/perl
#
# Round trip between zae-admin and the nginx module on one table:
# limits stored by zae-admin are enforced by the module; available and
# time-until-available read the buckets the module writes; aggregate
# turns the module's traffic into usage snapshots whose counters equal
# the tokens consumed after the bucket was created (like zae-limiter's
# aggregator, which reads MODIFY records only: the consumption of the
# bucket-creating request arrives as an INSERT and is not counted).

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Admin;
use JSON::PP;

my ($env, $n, $r, $rc, $out, $err);

$env = zae_env();

$ENV{AWS_ACCESS_KEY_ID} = 'AKIDLOCAL';
$ENV{AWS_SECRET_ACCESS_KEY} = 'local-secret';

sub admin {
    zae_admin({}, '--endpoint-url', $env->{TEST_NGINX_DDB_ENDPOINT},
              '-n', $env->{TEST_NGINX_TABLE}, @_);
}

($rc, $out, $err) = admin('namespace', 'show', 'default', '--output',
                          'json');
is($rc, 0, 'zae-admin sees the namespace the harness registered')
    or diag $err;
is(eval { decode_json($out)->{namespace_id} }, $env->{TEST_NGINX_NSID},
   'same namespace id');

($rc, $out, $err) = admin('entity', 'create', 'key-1');
is($rc, 0, 'entity create');

($rc, $out, $err) = admin('entity', 'set-limits', 'key-1', '-r', 'gpt-4',
                          '-l', 'rpm:3/min');
is($rc, 0, 'entity set-limits rpm:3/min') or diag $err;

$n = nginx(conf => zae_conf(upstream => <<'UPSTREAM', server => <<'EOF'));
location / {
    return 200 'ok';
}
UPSTREAM
add_header X-Source $zae_limit_source always;

location /t/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF

$n->start;

for my $i (1 .. 3) {
    $r = http_req('GET /t/x', headers => "X-API-Key: key-1\n");
    is($r->{status}, 200, "request $i of 3 admitted");

    if ($i == 1) {
        is($r->{headers}{'x-source'}, 'entity',
           'the limits come from the entity config zae-admin stored');
    }
}

$r = http_req('GET /t/x', headers => "X-API-Key: key-1\n");
is($r->{status}, 429, '4th request rejected: rpm:3 is enforced');

($rc, $out, $err) = admin('available', 'key-1', 'gpt-4', '--output',
                          'json');
is($rc, 0, 'available on the module-written bucket') or diag $err;
is(eval { decode_json($out)->{available}{rpm} }, 0, 'rpm exhausted');

($rc, $out, $err) = admin('time-until-available', 'key-1', 'gpt-4',
                          '--needed', 'rpm:1', '--output', 'json');
is($rc, 0, 'time-until-available');
my $ms = eval { decode_json($out)->{retry_after_ms} } // -1;
ok($ms > 0 && $ms <= 20001, "one token back within 20 s ($ms ms)");

($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'aggregate') or diag $err;

my $bucket = ddb()->get_item({
    PK => { S => "$env->{TEST_NGINX_NSID}/BUCKET#key-1#gpt-4#0" },
    SK => { S => '#STATE' } });
my $tc = $bucket ? $bucket->{b_rpm_tc}{N} / 1000 : -1;
is($tc, 3, 'the module consumed 3 rpm tokens');

($rc, $out, $err) = admin('usage', 'list', '-e', 'key-1', '-w', 'hourly',
                          '--output', 'json');
is($rc, 0, 'usage list');
my $snaps = eval { decode_json($out) } || [];
my $sum = 0;
$sum += $_->{counters}{rpm} // 0 for @$snaps;

# zae-limiter's snapshot key has no window name (#USAGE#{R}#{start}, the
# table format): in the hour that starts a day the hourly and the daily
# window start at the same instant, so both writes land in ONE item, which
# keeps the first window name (if_not_exists) and adds both counts.
# docs/table-format.md says so; the test expects exactly that, not a skip.
my $midnight = grep { ($_->{window_start} // '') =~ /T00:00:00Z$/ } @$snaps;
my $per_window = $tc - 1;
is($sum, $midnight ? 2 * $per_window : $per_window,
   $midnight
   ? 'hour 00: the hourly item holds the hourly and the daily counts'
   : 'hourly snapshots count every token consumed after bucket creation');

($rc, $out, $err) = admin('usage', 'list', '-e', 'key-1', '-w', 'daily',
                          '--output', 'json');
$snaps = eval { decode_json($out) } || [];
$sum = 0;
$sum += $_->{counters}{rpm} // 0 for @$snaps;
is($sum, $midnight ? 0 : $per_window,
   $midnight ? 'hour 00: no separate daily item (it is the hourly one)'
             : 'daily snapshots agree');

($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'a second aggregate run');
($rc, $out, $err) = admin('usage', 'summary', '-e', 'key-1', '-w',
                          'hourly', '--output', 'json');
is(eval { decode_json($out)->{limits}{rpm}{total} },
   $midnight ? 2 * $per_window : $per_window,
   'the checkpoint prevents double counting');

done_testing();
