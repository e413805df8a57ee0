# Flush writes in doubt under load (issue 10, point 1): hundreds of keys,
# random X-Tokens-Used, while util/fake-fault-proxy.pl (a fake) holds
# DynamoDB's answers to the flush writes (they name "zl_w_<writer>") for
# a random 3000..7000 ms around the 5 s timeout, changed every 300 ms:
# many writes are applied but answered too late, and are sent again with
# the same id.  At the end the sum of b_tpm_tc equals the tokens the
# upstream reported for the admitted requests, to the token, and so does
# every bucket.  Before the fix each such write was queued again under a
# new id and applied again (the issue measured -2.46 M tokens where
# +13.5 k were expected).
#
#   ZAE_INDOUBT_REQUESTS  requests in all (default 2000)
#   ZAE_INDOUBT_KEYS      keys (default 200)
#   ZAE_INDOUBT_CLIENTS   client processes (default 4)
#   ZAE_INDOUBT_SEED      random seed (default: time)

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use Test::Zae::Load;
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $proxy, $n, $total, $nkeys, $clients, $seed, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$total = $ENV{ZAE_INDOUBT_REQUESTS} || 2000;
$nkeys = $ENV{ZAE_INDOUBT_KEYS} || 200;
$clients = $ENV{ZAE_INDOUBT_CLIENTS} || 4;
$seed = $ENV{ZAE_INDOUBT_SEED} || int(time);

diag("in doubt under load: $total requests, $nkeys keys, $clients clients, "
     . "seed $seed");

$proxy = Test::Zae::FaultProxy->start;

$n = nginx(log_level => $ENV{ZAE_LOG_LEVEL} // 'info',
           conf => tokens_conf(proxy => 1, workers => 2, fail => 1,
                               status => 1, metrics => 1,
                               dynamodb => 'timeout=5s max_attempts=2 '
                                           . 'keepalive=0 flush_interval=1s',
                               location => 'zae_limit_on_unavailable allow;'));

$n->start;

# every key once before the faults, with nothing to reconcile: the slow
# path (config reads, bucket creation) is done, acquires are one write

for my $i (0 .. $nkeys - 1) {
    http_req('GET /v1/tokens/?used=500', headers => "X-API-Key: doubt-$i\n",
             timeout => 30);
}

ok(wait_drained(30, \%m), 'warm-up done');

my %base;
for my $i (0 .. $nkeys - 1) {
    my $b = get_bucket($ddb, $nsid, "doubt-$i", 'gpt-4') // {};
    $base{"doubt-$i"} = [$b->{b_tpm_tc} // 0, $b->{b_rpm_tc} // 0];
}


sub client {
    my ($ci, $count, $wr) = @_;

    srand($seed + $ci);

    for (1 .. $count) {
        my ($key, $fail, $used, $r);

        $key = 'doubt-' . int(rand $nkeys);
        $fail = rand() < 0.05;
        $used = int rand 5001;

        $r = http_req('GET ' . ($fail ? '/v1/fail/' : "/v1/tokens/?used=$used"),
                      headers => "X-API-Key: $key\n", timeout => 30);

        report($wr, $r, $fail ? 0 : $used, $key);
    }
}


my ($rd, @pids) = clients($clients, $total, \&client);

my $cycler = background(sub {
    close $rd;
    srand($seed);
    while (1) {
        $proxy->mode('delay=' . (3000 + int rand 4001) . '@zl_w');
        sleep 0.3;
    }
});

# an acquire that timed out may have been applied (counted, by design,
# docs/design.md): such a key is left out of the check

my %unsure;
my (%count, %want_tc, %want_n);
my $done = tally($rd, \%count, \%want_tc, \%want_n,
                 sub { $unsure{$_[3]} = 1
                     if $_[1] eq 'UNAVAILABLE_ALLOWED' });

waitpid($_, 0) for @pids;

kill 'TERM', $cycler;
waitpid($cycler, 0);
$proxy->mode('pass');

is($done, $total, "every one of $total requests answered");
diag('outcomes: ' . join(', ', map { "$_: $count{$_}" } sort keys %count));
# acquires are not delayed; one that still times out on a loaded machine
# is served without a lease and consumes nothing

ok(($count{'200 PASSED'} // 0) > $total / 2, 'requests admitted');
is(scalar(grep { !/^(200|502) (PASSED|UNAVAILABLE_ALLOWED)$/ } keys %count),
   0, 'no other outcome') or diag(explain(\%count));

ok(wait_drained(60, \%m),
   'the queue drains once DynamoDB answers in time')
    or diag(explain(\%m));

diag("flush writes $m{zae_limit_flush_writes_total}, in doubt "
     . "$m{zae_limit_flush_in_doubt_total}, failed "
     . "$m{zae_limit_flush_errors_total}");
ok($m{zae_limit_flush_in_doubt_total} > 0,
   'writes were in doubt (the fault bit)');

$n->stop(name => 'quit: error log clean');

my ($sum, $want, $exact, $checked) = (0, 0, 0, 0);

for my $i (0 .. $nkeys - 1) {
    my $key = "doubt-$i";
    next if $unsure{$key};

    my $b = get_bucket($ddb, $nsid, $key, 'gpt-4') or next;
    my $tc = $b->{b_tpm_tc} - $base{$key}[0];
    my $n = $b->{b_rpm_tc} - $base{$key}[1];

    $checked++;
    $sum += $tc;
    $want += ($want_tc{$key} // 0) * 1000;
    $exact++ if $tc == ($want_tc{$key} // 0) * 1000
                && $n == ($want_n{$key} // 0) * 1000;
}

diag("$checked keys checked, " . scalar(keys %unsure) . ' left out (an '
     . 'acquire timed out)');
ok($checked >= $nkeys * 0.8, 'at least 80 % of the keys checked');
is($sum, $want, 'sum of b_tpm_tc = tokens reported, to the token');
is($exact, $checked, 'every bucket exact (tokens and requests)');

done_testing();
