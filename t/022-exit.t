# Quit and reload with reconciliation deltas pending (issue 10, points 2
# and 3):
#
# - a request that ends after a quit began: its delta is written before
#   the worker exits;
# - quit while DynamoDB closes every connection (util/fake-fault-proxy.pl,
#   a fake): the worker exits by the exit deadline (default 5 s) and
#   logs ONE line with what it could not write;
# - reload while the old endpoint closes every connection and the new
#   configuration points at a working one: the old worker leaves the
#   queue to the new workers, which write it.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $proxy, $n, $r, $bk, $t0, $log, $conf, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$proxy = Test::Zae::FaultProxy->start;
demo_upstream();

$conf = <<'EOF2';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=x;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=ENDPOINT
                       timeout=3s max_attempts=2 keepalive=0
                       flush_interval=FLUSH;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /v1/ {
            zae_limit entity=$http_x_api_key resource=gpt-4
                      consume=rpm:1,tpm:500
                      limits=rpm:1000/min,tpm:1000000/hour;
            zae_limit_reconcile tpm $upstream_http_x_tokens_used;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location = /metrics {
            zae_limit_metrics;
        }
    }
}
EOF2

sub conf {
    my ($endpoint, $flush) = @_;
    (my $c = $conf) =~ s/ENDPOINT/$endpoint/;
    $c =~ s/FLUSH/$flush/;
    return $c;
}

my $direct = '$TEST_NGINX_DDB_ENDPOINT';
my $proxied = 'http://127.0.0.1:$TEST_NGINX_PROXY_PORT';

# POST /v1/ answered by the demo upstream: X-Tokens-Used = 1 + tokens

sub req {
    my ($key, $tokens, $delay) = @_;

    return http_req("POST /v1/\n{}",
                    headers => "X-API-Key: $key\nX-Demo-Tokens: $tokens\n"
                               . ($delay ? "X-Demo-Delay: $delay\n" : ''),
                    timeout => 10);
}

sub bucket { get_bucket($ddb, $nsid, $_[0], 'gpt-4') }


# a request that ends after the quit began ------------------------------------

$n = nginx(log_level => 'info', conf => conf($direct, '200ms'),
           prefix => "$env->{TEST_NGINX_SERVROOT}-late");
$n->start;

my $child = fork;
die "fork: $!\n" unless defined $child;

if ($child == 0) {
    $r = req('late-1', 9000, 3000);
    POSIX::_exit(($r->{status} // 0) == 200 ? 0 : 1);
}

sleep 1.5;
$t0 = time;
$n->stop;
waitpid($child, 0);
is($? >> 8, 0, 'late: the 3 s answer was served while nginx quit');

$bk = bucket('late-1');
is($bk->{b_tpm_tc}, 9001_000,
   'late: its delta (9001 - 500) was written before the worker exited')
    or diag(explain($bk));
unlike($n->error_log, qr/not written/, 'late: nothing left behind');


# quit while DynamoDB closes every connection -----------------------------------

$proxy->mode('pass');

$n = nginx(log_level => 'info', conf => conf($proxied, '60s'),
           prefix => "$env->{TEST_NGINX_SERVROOT}-quit");
$n->start;

for my $i (1 .. 5) {
    is(req("quit-$i", 999)->{status}, 200, "quit: request $i admitted");
}

%m = zae_metrics();
is($m{zae_limit_reconcile_pending}, 5, 'quit: 5 buckets pending');

$proxy->mode('close');

$t0 = time;
$n->stop;
my $took = time - $t0;

ok($took < 8, sprintf('quit: nginx exited in %.1f s (deadline 5 s)', $took));

$log = $n->error_log;
my @lines = $log =~ /^.*exit deadline passed.*$/mg;
is(scalar @lines, 1, 'quit: one line says what was not written')
    or diag(join "\n", @lines);
like($lines[0] // '', qr/deltas of 5 buckets \(2500 tokens, 5 buckets with a write in doubt\) not written/,
     'quit: the line counts the buckets and tokens (5 x (1000 - 500))');

my $errors = () = $log =~ /\[error\]/g;
ok($errors <= 12, "quit: $errors error lines, not thousands");
is(bucket('quit-1')->{b_tpm_tc}, 500_000,
   'quit: the bucket keeps the estimate (nothing written twice either)');


# reload while the old endpoint closes every connection ------------------------

$proxy->mode('pass');

$n = nginx(log_level => 'info', conf => conf($proxied, '60s'),
           prefix => "$env->{TEST_NGINX_SERVROOT}-reload");
$n->start;

for my $i (1 .. 3) {
    is(req("reload-$i", 1999)->{status}, 200, "reload: request $i admitted");
}

$proxy->mode('close');

$t0 = time;
ok(eval { $n->reload(conf => conf($direct, '60s'), timeout => 10) },
   'reload: the old worker exited') or diag($@);
$took = time - $t0;
ok($took < 5, sprintf('reload: done in %.1f s', $took));

ok(wait_for(sub { (bucket('reload-3')->{b_tpm_tc} // 0) == 2000_000 }, 5),
   'reload: the new workers wrote the deltas the old worker left');
is(bucket("reload-$_")->{b_tpm_tc}, 2000_000,
   "reload: bucket $_ exact (1 + 1999 tokens)") for 1 .. 2;

$n->stop;

done_testing();
