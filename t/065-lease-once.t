# A lease refill that DynamoDB applied but whose answer came too late
# (issue 13 part 2, point 2).  DynamoDB Local behind
# util/fake-fault-proxy.pl (a fake) in mode "delay=8000@-10000": the
# answers to the writes that take 10 requests' worth (the refill of
# k = 10, rpm:1) are held past the 2 s timeout; a watcher switches the
# proxy back to "pass" as soon as the table shows the refill, so that
# the second attempt is answered.  Before the write id a refill was not
# sent again after a timeout: the request was unavailable (503) and the
# k tokens the refill took were lost (tc 12 for 2 admitted; a refill
# whose connection was reset was sent again and took k twice).  Now the
# second attempt is refused with the refill's own id in the old item:
# applied before, counted once, the lease held; its tokens are spent or
# go back, and tc counts exactly the requests admitted.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use POSIX ();
use Time::HiRes qw(sleep time);

my ($env, $ddb, $nsid, $proxy, $n, $r, $pid, $admitted, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$proxy = Test::Zae::FaultProxy->start;

set_resource_limits($ddb, $nsid, 'lonce', [[rpm => 1000, 1000, 86400]]);

$n = nginx(log_level => 'info', conf => zae_conf(
    secret => 'x',
    proxy => 1,
    dynamodb => 'timeout=2s max_attempts=2 keepalive=0 flush_interval=200ms',
    upstream => "        return 200 'ok';",
    server => <<'EOF2'));

        add_header X-Status $zae_limit_status always;

        location /l/ {
            zae_limit entity=$http_x_api_key resource=lonce consume=rpm:1;
            zae_limit_lease size=10 ttl=1s max_share=100;
            zae_limit_on_unavailable block;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location /metrics {
            zae_limit_metrics;
        }
EOF2

$n->start;

sub tc {
    my $b = get_bucket($ddb, $nsid, 'once-1', 'lonce');
    return $b ? $b->{b_rpm_tc} : undef;
}

sub req {
    return http_req('GET /l/', headers => "X-API-Key: once-1\n",
                    timeout => 30);
}


# the bucket created (the slow path), then the entity known from a
# speculative write: no fault yet

is(req()->{status}, 200, 'the first request creates the bucket');
is(req()->{status}, 200, 'the second learns the entity');
is(tc(), 2000, 'tc = 2 requests');

# the refill's answer held past the timeout; the watcher ends the fault
# when the table shows the refill (2 + 10 requests)

$proxy->mode('delay=8000@-10000');

$pid = fork;
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    my $d = ddb();
    my $t0 = time;

    while (time - $t0 < 20) {
        my $b = eval { get_bucket($d, $nsid, 'once-1', 'lonce') };
        last if $b && $b->{b_rpm_tc} >= 12000;
        sleep 0.02;
    }

    $proxy->mode('pass');
    POSIX::_exit(0);
}

$r = req();
waitpid($pid, 0);
$proxy->mode('pass');

is($r->{status}, 200, 'the refill whose answer was late: admitted');
is(tc(), 12000, 'the refill took k = 10 requests once, not twice');
like($n->error_log, qr/attempt 1 failed: timed out/,
     'the fault bit: the first attempt timed out');
like($n->error_log, qr/lease refill of entity "once-1" resource "lonce" was applied before its answer was lost, counted once/,
     'the refusal recognised as the refill itself');

%m = zae_metrics();
is($m{zae_limit_lease_refills_total}, 1, 'one refill held');

# the lease serves: 4 requests with no DynamoDB call

for (1 .. 4) {
    is(req()->{status}, 200, "lease hit $_");
}

%m = zae_metrics();
is($m{zae_limit_lease_hits_total}, 4, 'four lease hits');

$admitted = 7;

# the 5 tokens not spent go back after ttl + flush_interval

ok(wait_for(sub { (tc() // -1) == $admitted * 1000 }, 15),
   "tc = the $admitted requests admitted, exactly: leased tokens neither "
   . 'counted twice nor lost') or diag('tc ' . (tc() // 'none'));

%m = zae_metrics();
is($m{'zae_limit_lease_tokens_total{state="returned"}'}, 5,
   'the 5 tokens not spent were returned');

$n->stop;

done_testing();
