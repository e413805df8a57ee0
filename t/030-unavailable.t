# DynamoDB unavailable: through util/fake-fault-proxy.pl (a fake, the only
# way to make a backend misbehave on demand) in front of DynamoDB Local.
# For each fault the configured fail mode holds, every request finishes
# within the timeout budget, no worker crashes, and service recovers as
# soon as the backend is back.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::FaultProxy;
use Test::Zae::Items;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $n, $r, $proxy);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$proxy = Test::Zae::FaultProxy->start;

sub mode {
    $proxy->mode($_[0]);
    sleep 0.15;
}

$n = nginx(conf => zae_conf(
    proxy => 1, dynamodb => 'timeout=300ms max_attempts=2 keepalive=0',
    upstream => <<'UPSTREAM', server => <<'EOF'));
location / { return 200 "upstream\n"; }
UPSTREAM
add_header X-Status $zae_limit_status always;

location /block/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:1000/min;
    zae_limit_on_unavailable block;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /allow/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:1000/min;
    zae_limit_on_unavailable allow;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /system/ {
    zae_limit entity=$http_x_api_key resource=sys
              consume=rpm:1 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF

$n->start;

sub req {
    my ($uri, $key) = @_;
    my $t0 = time;
    my $res = http_req("GET $uri", headers => "X-API-Key: $key\n",
                       timeout => 20);
    $res->{elapsed} = time - $t0;
    return $res;
}


# healthy first: buckets exist, the system config (on_unavailable) cached

set_system_limits($ddb, $nsid, [[rpm => 1000, 1000, 60]],
                  on_unavailable => 'allow');

for my $path ('/block/', '/allow/', '/system/') {
    $r = req($path, 'u-1');
    is($r->{status}, 200, "healthy $path: admitted");
    is($r->{headers}{'x-status'}, 'PASSED', "healthy $path: PASSED");
}

# budget: 2 attempts x 300 ms plus backoff; generous slack for a loaded
# machine; this is a bound on hanging, not a benchmark

my $budget = 3;

for my $fault (qw(refuse reset hang delay=2000 http500 throttle garbage
                  truncate badcrc))
{
    mode($fault);

    my $from = $n->log_size;

    $r = req('/block/', 'u-1');
    is($r->{status}, 503, "$fault: block answers 503");

    # one decision: a failed call is not decoded as an answer (the debug
    # trace has a line per decision; the error lines are rate limited)

    my @lines = $n->error_log($from) =~ /zae_limit: unavailable: blocked/g;
    is(scalar @lines, 1, "$fault: decided unavailable once");

    like($r->{body} // '', qr/^\{"error": "rate_limiter_unavailable"/,
         "$fault: 503 JSON body");
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_BLOCKED',
       "$fault: UNAVAILABLE_BLOCKED");
    ok($r->{elapsed} < $budget, "$fault: bounded by the timeout budget")
        or diag("took $r->{elapsed} s");

    $r = req('/allow/', 'u-2');
    is($r->{status}, 200, "$fault: allow serves");
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_ALLOWED',
       "$fault: UNAVAILABLE_ALLOWED");

    $r = req('/system/', 'u-3');
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_ALLOWED',
       "$fault: the system config's on_unavailable=allow applies");

    mode('pass');

    $r = req('/block/', 'u-1');
    is($r->{status}, 200, "$fault: recovered at once");
}

like($n->error_log, qr/zae_limit: dynamodb unavailable: /,
     'unavailability logged');
unlike($n->error_log, qr/signal 11|exited on signal/, 'no worker crashed');

$n->stop;

done_testing();
