# Soak (make test-reliability): many requests over many keys from
# several clients, with random X-Tokens-Used, for minutes.  Checks that
# nothing grows without bound and nothing is lost:
#
# - worker memory (RSS) after the warm-up and at the end differ by less
#   than ZAE_SOAK_RSS_MB (default 16) per worker;
# - the pending reconciliation queue drains to 0, nothing is dropped;
# - over all keys, the buckets hold exactly the reported tokens and the
#   admitted requests.
#
#   ZAE_SOAK_REQUESTS  requests in all (default 20000)
#   ZAE_SOAK_CLIENTS   client processes (default 8)
#   ZAE_SOAK_KEYS      distinct API keys (default 2000, more than the
#                      zone's caches see in a short test)

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::Load;
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $n, $total, $clients, $nkeys, $rss_mb, $seed);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$total = $ENV{ZAE_SOAK_REQUESTS} || 20000;
$clients = $ENV{ZAE_SOAK_CLIENTS} || 8;
$nkeys = $ENV{ZAE_SOAK_KEYS} || 2000;
$rss_mb = $ENV{ZAE_SOAK_RSS_MB} || 16;
$seed = int(time);

diag("soak: $total requests, $clients clients, $nkeys keys, seed $seed");

$n = nginx(log_level => 'warn',
           conf => tokens_conf(workers => 2, status => 1, metrics => 1,
                               dynamodb => 'timeout=10s flush_interval=500ms '
                                           . 'zone=zae_soak:1m'));

$n->start;


sub workers_rss {
    my %rss;

    for my $p (glob '/proc/[0-9]*') {
        my ($pid) = $p =~ /(\d+)$/;
        open my $fh, '<', "$p/status" or next;
        my ($ppid, $kb, $name) = (0, 0, '');
        while (my $l = <$fh>) {
            $ppid = $1 if $l =~ /^PPid:\s+(\d+)/;
            $kb = $1 if $l =~ /^VmRSS:\s+(\d+)/;
        }
        close $fh;
        $rss{$pid} = $kb if $ppid == $n->pid;
    }

    return \%rss;
}


my ($rd, @pids) = clients($clients, $total, sub {
    my ($ci, $count, $wr) = @_;

    srand($seed + $ci);

    for (1 .. $count) {
        my $key = 'soak-' . int(rand $nkeys);
        my $used = int rand 5001;
        my $r = http_req("GET /v1/?used=$used",
                         headers => "X-API-Key: $key\n", timeout => 30);
        report($wr, $r, $used, $key);
    }
});

my ($rss0, $t0, $done, %count, %want_tc, %want_n);

$t0 = time;
$done = tally($rd, \%count, \%want_tc, \%want_n,
              sub { $rss0 = workers_rss() if $_[4] == int($total / 5) });

waitpid($_, 0) for @pids;

my $elapsed = time - $t0;
my $rss1 = workers_rss();

diag(sprintf('soak: %d requests in %.0f s (%.0f/s); outcomes: %s', $done,
             $elapsed, $done / ($elapsed || 1),
             join(', ', map { "$_: $count{$_}" } sort keys %count)));

is($done, $total, "all $total requests answered");
is($count{'200 PASSED'}, $total, 'all admitted (PASSED)')
    or diag(explain(\%count));

for my $pid (sort keys %$rss1) {
    next unless defined $rss0->{$pid};
    my $grow = ($rss1->{$pid} - $rss0->{$pid}) / 1024;
    diag(sprintf('soak: worker %d RSS %.1f MB -> %.1f MB', $pid,
                 $rss0->{$pid} / 1024, $rss1->{$pid} / 1024));
    ok($grow < $rss_mb, sprintf('worker %d grew %.1f MB (< %d MB)', $pid,
                                $grow, $rss_mb));
}

# the queue drains: each worker's flush timer (500ms) writes up to 64
# buckets a round, at DynamoDB Local's pace, which is slow on a loaded
# machine; what is checked is that it drains, so the deadline is
# generous

my $m = {};

wait_drained(60, $m);

is($m->{zae_limit_reconcile_pending}, 0, 'pending deltas drained');
is($m->{'zae_limit_reconcile_deltas_total{state="dropped"}'}, 0,
   'no delta dropped');

$n->stop(name => 'soak: error log clean');


# every bucket, exactly

my (%got_tc, %got_n, @wrong);

for my $it (bucket_items($ddb)) {
    my $b = plain($it);
    my ($key) = $b->{PK} =~ m{/BUCKET#(soak-\d+)#gpt-4#0$} or next;
    $got_tc{$key} = $b->{b_tpm_tc};
    $got_n{$key} = $b->{b_rpm_tc};
}

for my $key (sort keys %want_n) {
    push @wrong, "$key: tc " . ($got_tc{$key} // 'none') . ' want '
                 . $want_tc{$key} * 1000 . ', rpm ' . ($got_n{$key} // 'none')
                 . ' want ' . $want_n{$key} * 1000
        if ($got_tc{$key} // -1) != $want_tc{$key} * 1000
           || ($got_n{$key} // -1) != $want_n{$key} * 1000;
}

is(scalar(keys %got_n), scalar(keys %want_n), 'one bucket per key used');
is(scalar(@wrong), 0, 'every bucket holds exactly its tokens and requests')
    or diag(join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);

done_testing();
