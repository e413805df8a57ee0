# The per-worker cap on DynamoDB connections (issue 10 point 10): with
# DynamoDB slow (util/fake-fault-proxy.pl, a fake, holds each answer
# 1.5 s) and 30 clients at once, one worker with max_connections=4
# max_waiting=4 keeps to 4 connections: 8 requests are served (4 at
# once, 4 after waiting), the others get the unavailable answer at once
# (503 under "block"), counted in zae_limit_dynamodb_busy_total; nginx
# never runs out of worker_connections (48, fewer than 30 clients plus
# a connection to DynamoDB each).

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use POSIX ();
use Time::HiRes qw(sleep);

my ($env, $ddb, $nsid, $n, $r);
my ($proxy, $clients, %status, $log, $busy);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};
$clients = 30;

$proxy = Test::Zae::FaultProxy->start;

workers(1);

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events {
    worker_connections 48;
}
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://127.0.0.1:$TEST_NGINX_PROXY_PORT
                       timeout=5s max_attempts=1 keepalive=0
                       max_connections=4 max_waiting=4;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location = /metrics {
            zae_limit_metrics;
        }

        location / {
            zae_limit entity=busy resource=gpt-4
                      consume=rpm:1 limits=rpm:100000/min;
            zae_limit_on_unavailable block;
        }
    }
}
EOF

# what the static handler serves after the limiter

open my $fh, '>', $n->prefix . '/html/ok.txt' or die "ok.txt: $!\n";
print $fh "ok\n";
close $fh;

$n->start;

# warm the caches (namespace id, config, entity): then each request is
# one UpdateItem

$r = http_req('GET /ok.txt');
is($r->{status}, 200, 'warm-up request served');

$proxy->mode('delay=1500');

my %pids;

for my $i (1 .. $clients) {
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        my $res = http_req('GET /ok.txt', timeout => 20);
        my $st = $res->{status} // 0;
        POSIX::_exit($st == 200 ? 1 : $st == 503 ? 2 : 3);
    }

    $pids{$pid} = 1;
}

for my $pid (keys %pids) {
    waitpid($pid, 0);
    $status{(undef, 200, 503, 'other')[$? >> 8] // 'other'}++;
}

$proxy->mode('pass');

diag(join ', ', map { "$_: $status{$_}" } sort keys %status);

is(($status{200} // 0) + ($status{503} // 0), $clients,
   'every request answered 200 or 503');
ok(($status{200} // 0) >= 8, 'the 4 connections and the 4 waiting served');
ok(($status{503} // 0) >= 1, 'the overflow got the unavailable answer');

($busy) = http_req('GET /metrics')->{body}
          =~ /^zae_limit_dynamodb_busy_total (\d+)$/m;
is($busy, $status{503} // 0, 'zae_limit_dynamodb_busy_total counts them');
like(http_req('GET /metrics')->{body},
     qr/^# HELP zae_limit_dynamodb_busy_total .+\n# TYPE zae_limit_dynamodb_busy_total counter$/m,
     'the metric has HELP and TYPE');

$log = $n->error_log();
unlike($log, qr/worker_connections are not enough/,
       'worker_connections never exhausted');
like($log, qr/dynamodb unavailable: max_connections DynamoDB connections in use and max_waiting calls waiting/,
     'the overflow is logged as unavailable');

done_testing();
