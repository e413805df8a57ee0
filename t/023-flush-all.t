# The flush timer writes everything pending each interval (issue 10,
# point 4; it took 64 buckets per interval per worker before), exports
# the lag, and loses nothing to the size of a sum (point 5: two
# reconciles of 10^12 tokens coalesce to more than one write may carry;
# they were dropped without a log line).

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::Load;
use POSIX ();
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $n, $r, $conf, %m, $keys, $clients);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$keys = 300;
$clients = 4;

$conf = tokens_conf(metrics => 1,
                    limits => 'rpm:1000/min,tpm:1000000/hour',
                    dynamodb => 'timeout=2s flush_interval=FLUSH');

sub req {
    my ($key, $used) = @_;
    return http_req("GET /v1/?used=$used", headers => "X-API-Key: $key\n");
}


# every pending bucket in one interval ------------------------------------------

(my $c = $conf) =~ s/FLUSH/5s/;
$n = nginx(conf => $c, log_level => 'info');
$n->start;

my @pids;

for my $k (0 .. $clients - 1) {
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        my $bad = 0;
        for (my $i = $k; $i < $keys; $i += $clients) {
            $bad++ if (req("all-$i", 1000 + $i)->{status} // 0) != 200;
        }
        POSIX::_exit($bad ? 1 : 0);
    }

    push @pids, $pid;
}

my $failed = 0;
for (@pids) { waitpid($_, 0); $failed++ if $? }
is($failed, 0, "$keys requests over $keys keys admitted");

# the last requests' deltas are written by the next round, at most one
# interval (5 s) away, whatever the number of buckets (64 buckets per
# interval before: 300 keys took five rounds)

ok(wait_drained(5.8, \%m),
   'every pending bucket written within one interval')
    or diag("pending: " . ($m{zae_limit_reconcile_pending} // 'absent'));

my $exact = 0;
for my $i (0 .. $keys - 1) {
    my $bk = get_bucket($ddb, $nsid, "all-$i", 'gpt-4');
    $exact++ if $bk && $bk->{b_tpm_tc} == (1000 + $i) * 1000;
}
is($exact, $keys, "all $keys buckets exact");

$r = http_req('GET /metrics');
like($r->{body}, qr/^# HELP zae_limit_reconcile_lag_seconds .+\n# TYPE zae_limit_reconcile_lag_seconds gauge\nzae_limit_reconcile_lag_seconds 0\.000$/m,
     'the lag metric: 0 with nothing pending');
like($r->{body}, qr/^# TYPE zae_limit_flush_in_doubt_total counter\nzae_limit_flush_in_doubt_total 0$/m,
     'no write in doubt');

$n->stop;


# a sum over 10^12 tokens: split over writes, nothing dropped ---------------------

($c = $conf) =~ s/FLUSH/60s/;
$n = nginx(conf => $c, log_level => 'info',
           prefix => "$env->{TEST_NGINX_SERVROOT}-big");
$n->start;

is(req('big-1', 1_000_000_000_000)->{status}, 200, 'a 10^12 tokens answer');
is(req('big-1', 1_000_000_000_000)->{status}, 200, 'another one');

%m = zae_metrics();
is($m{'zae_limit_reconcile_deltas_total{state="queued"}'}, 2,
   'both deltas queued (coalesced: 2 x (10^12 - 500))');

$n->stop;

my $bk = get_bucket($ddb, $nsid, 'big-1', 'gpt-4');
is($bk->{b_tpm_tc}, '2000000000000000',
   'tc = 2 x 10^12 tokens: the sum was written in two writes, none lost')
    or diag(explain($bk));
unlike($n->error_log, qr/lost/, 'nothing logged as lost');

done_testing();
