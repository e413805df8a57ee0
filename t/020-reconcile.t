# Reconciliation and rollback: the log phase turns X-Tokens-Used into
# actual - estimate deltas, coalesced per bucket in the shared zone and
# written by the flush timer as unconditional ADDs on tk and tc; a failed
# upstream gives the estimate back; reload and quit flush what is
# pending; the metrics count it all.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use Test::Zae::DDB qw(S N);
use Time::HiRes qw(time sleep);
use POSIX ();

my ($env, $ddb, $nsid, $n, $r, $bk, $conf, %m, $limited);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$conf = zae_conf(dynamodb => 'timeout=2s flush_interval=FLUSH',
                 upstream => <<'UPSTREAM', server => <<'EOF');

location ~ /tokens/ {
    add_header X-Tokens-Used $arg_used;
    return 200 '{"object":"chat.completion"}';
}

location ~ /fail/ {
    return 502;
}

location ~ /boom/ {
    return 500;
}
UPSTREAM
location /v1/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1,tpm:500
              limits=rpm:1000/min,tpm:1000000/hour;
    zae_limit_reconcile tpm $upstream_http_x_tokens_used;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /norollback/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1,tpm:500
              limits=rpm:1000/min,tpm:1000000/hour;
    zae_limit_rollback off;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/fail/;
}

location = /metrics {
    zae_limit_metrics;
}
EOF

(my $c = $conf) =~ s/FLUSH/200ms/;
$n = nginx(conf => $c);
$n->start;

# every request of the first instance passes the limiter: counted here
# for the exact zae_limit_requests_total{outcome="passed"}

sub req {
    my ($uri, $key) = @_;
    $limited++ if $uri =~ m{^/(?:v1|norollback)/};
    return http_req("GET $uri", headers => "X-API-Key: $key\n");
}

# polls until the code returns true (10 s at most); returns that value

sub wait_for {
    my ($cond) = @_;
    my $v;

    for (1 .. 200) {
        $v = $cond->() and return $v;
        sleep 0.05;
    }

    return $v;
}

sub bucket { get_bucket($ddb, $nsid, @_, 'gpt-4') }

sub metrics {
    my ($port) = @_;
    my %m;

    $r = http_req('GET /metrics', port => $port);
    for my $l (split /\n/, $r->{body} // '') {
        next if $l =~ /^#/;
        my ($k, $v) = $l =~ /^(\S+) (\d+)$/ or next;
        $m{$k} = $v;
    }

    return %m;
}

sub settle { select(undef, undef, undef, $_[0] // 0.8) }


# actual - estimate, exactly ------------------------------------------------

$r = req('/v1/tokens/?used=750', 'rk-1');
is($r->{status}, 200, 'reconcile: admitted');
is($r->{headers}{'x-tokens-used'}, 750, 'upstream reported 750 tokens');

settle();

$bk = bucket('rk-1');
is($bk->{b_tpm_tc}, 750_000, 'tc = 750 tokens: estimate 500 + delta 250');
is($bk->{b_rpm_tc}, 1000, 'rpm untouched by the tpm reconcile');
my $tk_expect = 1_000_000_000 - 750_000;
ok($bk->{b_tpm_tk} <= $tk_expect && $bk->{b_tpm_tk} > $tk_expect - 10_000,
   'tk moved by the delta as well') or diag($bk->{b_tpm_tk});

# the flush write is idempotent: it carries its id, and the same write
# sent again (a retry after a lost answer) fails its condition

my @wattr = grep { /^zl_w_[0-9a-f]{12}$/ } keys %$bk;
is(scalar @wattr, 1, "the flush stored its write id in the writer's "
   . 'attribute') or diag(explain($bk));
ok(!exists $bk->{zl_write_id}, 'no shared write-id attribute');

my ($st) = $ddb->try_call('UpdateItem', {
    TableName => $ddb->table,
    Key => { PK => S("$nsid/BUCKET#rk-1#gpt-4#0"), SK => S('#STATE') },
    UpdateExpression => 'ADD #tc :d SET #w = :w',
    ConditionExpression => 'attribute_not_exists(#w) OR #w <> :w',
    ExpressionAttributeNames => { '#tc' => 'b_tpm_tc', '#w' => $wattr[0] },
    ExpressionAttributeValues => { ':d' => N(250000),
                                   ':w' => S($bk->{$wattr[0]}) },
});
is($st, 400, 'the same write again fails its condition');
is(bucket('rk-1')->{b_tpm_tc}, 750_000, 'and adds nothing');

$r = req('/v1/tokens/?used=100', 'rk-1');
settle();
is(bucket('rk-1')->{b_tpm_tc}, 850_000, 'a smaller actual gives tokens back');


# coalescing: at most one write per bucket per flush interval -----------------

%m = metrics();
my $writes0 = $m{zae_limit_flush_writes_total};
my $errors0 = $m{zae_limit_flush_errors_total};

# 8 clients at once, so that the 40 requests fit in a few intervals even
# on a loaded machine (without coalescing: 40 writes)

my $sum = 0;
my @used = map { 100 + 37 * $_ % 900 } 1 .. 40;
$sum += $_ for @used;

my $t0 = time;
my @kids;

for my $c (0 .. 7) {
    my $pid = fork() // die "fork: $!\n";

    if ($pid == 0) {
        my $bad = 0;

        for my $i (grep { $_ % 8 == $c } 0 .. $#used) {
            $bad++ unless (req("/v1/tokens/?used=$used[$i]", 'rk-2')->{status}
                           // 0) == 200;
        }

        POSIX::_exit($bad ? 1 : 0);
    }

    push @kids, $pid;
}

my $failed = 0;
for (@kids) { waitpid($_, 0); $failed++ if $?; }
is($failed, 0, '40 requests from 8 clients: all served');
$limited += 40;

wait_for(sub { (bucket('rk-2')->{b_tpm_tc} // 0) == $sum * 1000 });

# from the first request to the last delta in the table: one flush timer
# (one worker), one tick per 200 ms at most, one write of rk-2 a tick

my $ticks = int((time - $t0) / 0.2) + 1;

$bk = bucket('rk-2');
is($bk->{b_tpm_tc}, $sum * 1000, "40 requests: tc = sum of reported tokens");
is($bk->{b_rpm_tc}, 40_000, '40 requests: rpm tc = 40');

%m = metrics();
my $writes = $m{zae_limit_flush_writes_total} - $writes0;
ok($writes >= 1 && $writes <= $ticks,
   "coalesced: $writes flush writes for 40 requests in $ticks intervals")
    or diag(explain(\%m));
is($m{zae_limit_flush_errors_total} - $errors0, 0, 'no flush write failed');


# invalid values keep the estimate --------------------------------------------

# a valid value last: its delta (+200 tokens) is queued after any delta
# of the invalid ones, so once it is in the table, so would they be

%m = metrics();
my $invalid0 = $m{zae_limit_reconcile_invalid_total};

for my $bad ('', '-5', 'abc', '18446744073709551616', '1e3') {
    req("/v1/tokens/?used=$bad", 'rk-3');
}

req('/v1/tokens/?used=700', 'rk-3');

wait_for(sub { (bucket('rk-3')->{b_tpm_tc} // 0) != 6 * 500_000 });
is(bucket('rk-3')->{b_tpm_tc}, 6 * 500_000 + 200_000,
   'invalid X-Tokens-Used keeps the estimate (the valid one reconciled)');
like($n->error_log, qr/invalid reconcile value "[^"]*" of limit "tpm", estimate kept/,
     'invalid value logged at warn');

%m = metrics();
is($m{zae_limit_reconcile_invalid_total} - $invalid0, 5,
   'invalid values counted, each once');


# rollback on a failed upstream -----------------------------------------------

$r = req('/v1/fail/', 'rk-4');
is($r->{status}, 502, 'upstream 502');
$r = req('/v1/boom/', 'rk-4');
is($r->{status}, 500, 'upstream 500');

settle();
$bk = bucket('rk-4');
is($bk->{b_tpm_tc}, 0, 'rollback: tpm tc back to 0');
is($bk->{b_rpm_tc}, 0, 'rollback: rpm tc back to 0');
ok($bk->{b_rpm_tk} >= 1_000_000 - 10, 'rollback: rpm tokens given back')
    or diag($bk->{b_rpm_tk});

$r = req('/norollback/', 'rk-5');
is($r->{status}, 502, 'no rollback: 502');
settle();
is(bucket('rk-5')->{b_rpm_tc}, 1000, 'zae_limit_rollback off keeps it');

%m = metrics();
is($m{zae_limit_rollbacks_total}, 2, 'rollbacks counted');
is($m{'zae_limit_requests_total{outcome="passed"}'}, $limited,
   "passed requests counted: the $limited sent");
ok($m{'zae_limit_dynamodb_calls_total{operation="UpdateItem",result="ok"}'}
   > 0, 'UpdateItem calls counted');
ok($m{'zae_limit_dynamodb_latency_seconds_count'} > 0, 'latency histogram');
ok($m{'zae_limit_dynamodb_latency_seconds_bucket{le="+Inf"}'}
   == $m{'zae_limit_dynamodb_latency_seconds_count'}, 'histogram +Inf');
like($r->{body}, qr/^zae_limit_dynamodb_latency_seconds_bucket\{le="0\.025"\} /m,
     'buckets in seconds');
like($r->{body}, qr/^zae_limit_dynamodb_latency_seconds_sum \d+(\.\d*[1-9])?$/m,
     'latency sum in seconds');
{
    open my $fh, '<', 'src/core/zae_version.h' or die "zae_version.h: $!";
    my ($ver) = join('', <$fh>) =~ /^#define ZAE_VERSION\s+"([^"]+)"/m
        or die 'no ZAE_VERSION';
    is($m{"zae_limit_build_info{version=\"$ver\"}"}, 1,
       "build info: version $ver");
}

$n->stop;


# reload and quit flush what is pending -----------------------------------------

($c = $conf) =~ s/FLUSH/60s/;
$n = nginx(conf => $c, prefix => "$env->{TEST_NGINX_SERVROOT}-slow");
$n->start;

$sum = 0;
for my $i (1 .. 10) {
    $sum += 1000 + $i;
    req('/v1/tokens/?used=' . (1000 + $i), 'rk-6');
}

settle(0.3);
is(bucket('rk-6')->{b_tpm_tc}, 10 * 500_000,
   'with a 60 s flush interval nothing is flushed yet');

$n->reload;
settle(1.5);
is(bucket('rk-6')->{b_tpm_tc}, $sum * 1000,
   'reload: the old workers flushed the pending deltas');

$sum = 0;
for my $i (1 .. 10) {
    $sum += 2000 + $i;
    req('/v1/tokens/?used=' . (2000 + $i), 'rk-7');
}

$n->stop;

is(bucket('rk-7')->{b_tpm_tc}, $sum * 1000,
   'quit: the exiting worker flushed the pending deltas');

done_testing();
