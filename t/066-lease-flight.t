# One lease refill in flight per bucket per nginx instance (issue 13
# part 2, point 1), whatever the worker, and a refill cut short clears
# its mark at once.  DynamoDB Local behind util/fake-fault-proxy.pl (a
# fake) in mode "delay=MS@TEXT": the answers to the refills (TEXT is
# the refill's amount, k x 1000 milli-tokens) are held, the other calls
# pass.
#
# - storm: two workers, 64 clients, 400 requests for one bucket while
#   the first refill's answer is held 1.5 s: the requests of both
#   workers that find the lease empty take the normal path, and the
#   zone counts one refill (zae_limit_lease_refills_total): a mark per
#   worker would let the second worker start its own (2).
# - cancel: one worker; a client whose request is refilling goes away,
#   a second request of the same worker waits for that refill.  The
#   cancelled refill's mark goes and the waiter goes on (it refills
#   itself); before, it was never woken and its client timed out.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use Test::Zae::Storm;
use POSIX ();
use Time::HiRes qw(sleep time);

my ($env, $ddb, $nsid, $proxy, $n, $conf, %c, %m, $r);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$proxy = Test::Zae::FaultProxy->start;

set_resource_limits($ddb, $nsid, 'lflight', [[rpm => 100000, 100000, 86400]]);

$conf = <<'EOF2';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=x;
worker_processes WORKERS;
events { worker_connections 512; }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://127.0.0.1:$TEST_NGINX_PROXY_PORT
                       timeout=10s flush_interval=200ms keepalive=0;

    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        return 200 'ok';
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /l/ {
            zae_limit entity=$http_x_api_key resource=lflight consume=rpm:1;
            zae_limit_lease size=1000 ttl=60s max_share=100;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location /c/ {
            zae_limit entity=$http_x_api_key resource=lflight consume=rpm:1;
            zae_limit_lease size=10 ttl=60s max_share=100;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location /metrics {
            zae_limit_metrics;
        }
    }
}
EOF2

sub start {
    my ($workers) = @_;
    (my $c = $conf) =~ s/WORKERS/$workers/;

    workers($workers);
    $n = nginx(log_level => 'info', conf => $c);
    $n->start;
}

sub req {
    my ($uri, $key, $timeout) = @_;
    return http_req("GET $uri", headers => "X-API-Key: $key\n",
                    timeout => $timeout // 30);
}


# storm: two workers ----------------------------------------------------------

start(2);

# the bucket and the entity known (the slow path's create, then a
# speculative write) before the fault

for (1 .. 2) {
    is(req('/l/', 'fl-1')->{status}, 200, "storm: warm-up request $_");
}

$proxy->mode('delay=1500@-1000000');

%c = storm('/l/', 400, [$env->{TEST_NGINX_SERVER_PORT}], 'fl-1');

$proxy->mode('pass');

is($c{200}, 400, 'storm: every request admitted') or diag(explain(\%c));

%m = zae_metrics();
is($m{zae_limit_lease_refills_total}, 1,
   'storm: one refill for the instance, not one per worker');
ok(($m{zae_limit_lease_hits_total} // 0) > 0,
   'storm: requests were served from the lease');

$n->stop;


# cancel: one worker ------------------------------------------------------------

start(1);

for (1 .. 2) {
    is(req('/c/', 'fl-2')->{status}, 200, "cancel: warm-up request $_");
}

$proxy->mode('delay=4000@-10000');

# client A: its request starts the refill, it goes away after 1 s

my $pid = fork;
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    req('/c/', 'fl-2', 1);
    POSIX::_exit(0);
}

sleep 0.4;

# client B, the same worker: the lease is empty, A's refill in flight

$r = req('/c/', 'fl-2', 20);
waitpid($pid, 0);
$proxy->mode('pass');

is($r->{status}, 200, 'cancel: the request waiting for the cancelled '
                      . 'refill goes on and is admitted');
like($n->error_log, qr/lease refill of 10 requests cancelled, the request ended/,
     'cancel: the refill was cut short');

%m = zae_metrics();
is($m{zae_limit_lease_refills_total}, 1,
   'cancel: the waiter refilled (the mark was gone)');

$n->stop;

done_testing();
