# Flush lag with many active entities (issue 10, point 4): 10,000
# requests over 10,000 keys, each with a reconciled amount, so that
# every request leaves one pending bucket.  A sampler reads
# zae_limit_reconcile_lag_seconds and zae_limit_reconcile_pending every
# 250 ms; the figures go to docs/reliability.md.  Asserts: the lag never
# exceeds a bound (ZAE_LAG_MAX_S, default 5 s at flush_interval=1s), the
# queue drains within one interval after the last request (plus 2 s of
# slack for a loaded machine), and every bucket is exact.
#
#   ZAE_LAG_KEYS      keys = requests (default 10000)
#   ZAE_LAG_CLIENTS   client processes (default 8)
#   ZAE_LAG_MAX_S     the lag bound asserted (default 5)
#   ZAE_LAG_TIMEOUT   the DynamoDB timeout (default 10s)

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::Load;
use IO::Handle;
use POSIX ();
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $n, $keys, $clients, $lag_max, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$keys = $ENV{ZAE_LAG_KEYS} || 10000;
$clients = $ENV{ZAE_LAG_CLIENTS} || 8;
$lag_max = $ENV{ZAE_LAG_MAX_S} || 5;
$ENV{TEST_NGINX_LAG_TIMEOUT} = $ENV{ZAE_LAG_TIMEOUT} || '10s';

$n = nginx(log_level => 'info',
           conf => tokens_conf(metrics => 1,
                               limits => 'rpm:1000/min,tpm:1000000/hour',
                               dynamodb => 'timeout=$TEST_NGINX_LAG_TIMEOUT '
                                           . 'zone=lag:16m max_pending=100000 '
                                           . 'flush_interval=1s'));

$n->start;

pipe(my $rd, my $wr) or die "pipe: $!\n";

my $sampler = fork;
die "fork: $!\n" unless defined $sampler;

if ($sampler == 0) {
    close $rd;
    $wr->autoflush(1);
    $SIG{TERM} = sub { POSIX::_exit(0) };
    my $t0 = time;
    while (1) {
        my %s = zae_metrics();
        printf $wr "%.2f %s %s\n", time - $t0,
               $s{zae_limit_reconcile_lag_seconds} // 'absent',
               $s{zae_limit_reconcile_pending} // 'absent';
        sleep 0.25;
    }
}

close $wr;

my (@pids, $t_start, $t_end);
$t_start = time;

for my $k (0 .. $clients - 1) {
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        my $bad = 0;
        for (my $i = $k; $i < $keys; $i += $clients) {
            $bad++ if (http_req("GET /v1/?used=" . (1000 + $i % 1000),
                                headers => "X-API-Key: lag-$i\n",
                                timeout => 30)->{status} // 0) != 200;
        }
        POSIX::_exit($bad ? 1 : 0);
    }

    push @pids, $pid;
}

my $failed = 0;
for (@pids) { waitpid($_, 0); $failed++ if $? }
$t_end = time;

is($failed, 0, "$keys requests over $keys keys admitted");

ok(wait_drained(3, \%m), 'the queue drains within one interval (+2 s) '
                          . 'after the last request') or diag(explain(\%m));
my $t_drained = time;

kill 'TERM', $sampler;

my ($max_lag, $max_pending, $samples) = (0, 0, 0);
while (my $l = <$rd>) {
    my (undef, $lag, $pending) = split ' ', $l;
    $samples++;
    $max_lag = $lag if $lag ne 'absent' && $lag > $max_lag;
    $max_pending = $pending if $pending ne 'absent' && $pending > $max_pending;
}
waitpid($sampler, 0);

diag(sprintf('%d requests in %.1f s (%.0f/s); %d samples: max lag %.3f s, '
             . 'max pending %d buckets; drained %.1f s after the last '
             . 'request', $keys, $t_end - $t_start,
             $keys / ($t_end - $t_start), $samples, $max_lag, $max_pending,
             $t_drained - $t_end));

ok($max_lag <= $lag_max, "max lag $max_lag s <= $lag_max s");

%m = zae_metrics();
is($m{'zae_limit_reconcile_deltas_total{state="dropped"}'}, 0,
   'no delta dropped');

$n->stop;

my ($exact, @off) = (0);
for my $i (0 .. $keys - 1) {
    my $b = get_bucket($ddb, $nsid, "lag-$i", 'gpt-4');
    my $want = (1000 + $i % 1000) * 1000;
    if ($b && $b->{b_tpm_tc} == $want) {
        $exact++;
    } else {
        push @off, "lag-$i: tpm tc " . ($b ? $b->{b_tpm_tc} : 'none')
                   . " for $want, rpm tc " . ($b ? $b->{b_rpm_tc} : 'none');
    }
}
is($exact, $keys, "all $keys buckets exact")
    or diag(join "\n", @off[0 .. ($#off < 19 ? $#off : 19)]);

done_testing();
