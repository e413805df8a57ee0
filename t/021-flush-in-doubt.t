# A flush write that DynamoDB applied but whose answer was lost (issues
# 10.1 and 15.2): DynamoDB Local behind util/fake-fault-proxy.pl (a
# fake) in mode "lose=zl_w", which forwards every request and drops the
# answer to the ones that name a write-id attribute ("zl_w_<writer>";
# "zl_write_id" before: the flush writes; acquires pass).  The write
# is applied, the module sees a failure: the write is in doubt, must
# keep its id and amounts, must not take in later deltas, and must be
# sent again as it was until DynamoDB answers; the bucket then counts
# every token once.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use Test::Zae::Load;

my ($env, $ddb, $nsid, $proxy, $n, $r, $bk, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$proxy = Test::Zae::FaultProxy->start;

$n = nginx(log_level => 'info',
           conf => tokens_conf(proxy => 1, metrics => 1,
                               limits => 'rpm:1000/min,tpm:1000000/hour',
                               dynamodb => 'timeout=3s max_attempts=2 '
                                           . 'keepalive=0 '
                                           . 'flush_interval=300ms'));

$n->start;

sub req {
    my ($used) = @_;
    return http_req("GET /v1/?used=$used", headers => "X-API-Key: doubt-1\n");
}

$proxy->mode('lose=zl_w');

# the issue's case: estimate 500, actual 100, twice: -400 each

is(req(100)->{status}, 200, 'first request admitted');
is(req(100)->{status}, 200, 'second request admitted');

ok(wait_for(sub { %m = zae_metrics(); ($m{zae_limit_flush_in_doubt_total} // 0)
                                  >= 3 }, 15),
   'flush writes whose answers are lost are counted as in doubt')
    or diag(explain(\%m));

# a delta that arrives while a write is in doubt waits beside it

is(req(1000)->{status}, 200, 'a third request while the write is in doubt');

ok(wait_for(sub { %m = zae_metrics(); ($m{zae_limit_flush_in_doubt_total} // 0)
                                  >= 5 }, 15),
   'the in-doubt write is sent again') or diag(explain(\%m));

# 3 x 500 estimated; the held write is -800 (both deltas in one write)
# or -400 (a flush came between the two requests, the second -400 waits)

$bk = get_bucket($ddb, $nsid, 'doubt-1', 'gpt-4');
ok($bk->{b_tpm_tc} == 700_000 || $bk->{b_tpm_tc} == 1_100_000,
   'in doubt: the held write was applied once, whatever the number of '
   . 'lost answers') or diag($bk->{b_tpm_tc});

$proxy->mode('pass');

ok(wait_drained(15, \%m), 'DynamoDB answers again: nothing pending')
    or diag(explain(\%m));

$bk = get_bucket($ddb, $nsid, 'doubt-1', 'gpt-4');
is($bk->{b_tpm_tc}, 1_200_000, 'tpm tc = 100 + 100 + 1000 tokens, exactly');
is($bk->{b_rpm_tc}, 3000, 'rpm tc = 3 requests');

like($n->error_log, qr/reconciliation write of entity "doubt-1" resource "gpt-4" shard 0 failed \([^)]*\), in doubt, kept with its id/,
     'the in-doubt write is logged');
like($n->error_log, qr/in-doubt reconciliation write of entity "doubt-1" resource "gpt-4" shard 0 settled \(it was applied before\)/,
     'its retry found its own id: settled without adding again');


# another writer in between ------------------------------------------------
#
# The condition only compares with the last id stored in the attribute:
# if another nginx wrote the same attribute between an in-doubt attempt
# and its retry, the retry would add again.  A second nginx (its own
# writer id: another prefix) writes the bucket, directly, while this
# one's write is in doubt.

chomp(my $b_port = `$env->{TEST_NGINX_TOP}/util/free-port 1`);
$ENV{TEST_NGINX_B_PORT} = $b_port;

my $nb = nginx(log_level => 'info', prefix => "$env->{TEST_NGINX_SERVROOT}-b",
               conf => <<'EOF2');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=x;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=3s
                       flush_interval=100ms;

    server {
        listen 127.0.0.1:$TEST_NGINX_B_PORT;

        location /v1/ {
            zae_limit entity=$http_x_api_key resource=gpt-4
                      consume=rpm:1,tpm:500
                      limits=rpm:1000/min,tpm:1000000/hour;
            zae_limit_reconcile tpm $upstream_http_x_tokens_used;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/tokens/;
        }

        location = /metrics {
            zae_limit_metrics;
        }
    }
}
EOF2

$nb->start;

$proxy->mode('lose=zl_w');

%m = zae_metrics();
my $doubt0 = $m{zae_limit_flush_in_doubt_total};

is(http_req('GET /v1/?used=100', headers => "X-API-Key: doubt-2\n")
   ->{status}, 200, 'two writers: a request on the first nginx');

ok(wait_for(sub { %m = zae_metrics(); $m{zae_limit_flush_in_doubt_total}
                                  >= $doubt0 + 2 }, 15),
   'two writers: its write is in doubt');

is(http_req('GET /v1/?used=1000', headers => "X-API-Key: doubt-2\n",
            port => $b_port)->{status}, 200,
   'two writers: a request on the second nginx, same bucket');

ok(wait_for(sub { my %mb = zae_metrics(port => $b_port);
                  ($mb{zae_limit_flush_writes_total} // 0) >= 1
                  && $mb{zae_limit_reconcile_pending} == 0 }, 15),
   'two writers: the second nginx wrote the bucket');

%m = zae_metrics();
$doubt0 = $m{zae_limit_flush_in_doubt_total};

ok(wait_for(sub { %m = zae_metrics(); $m{zae_limit_flush_in_doubt_total}
                                  >= $doubt0 + 2 }, 15),
   'two writers: the first one sent its write again after that');

$proxy->mode('pass');

ok(wait_for(sub { %m = zae_metrics(); $m{zae_limit_reconcile_pending} == 0 },
            15), 'two writers: settled');

$bk = get_bucket($ddb, $nsid, 'doubt-2', 'gpt-4');
is($bk->{b_tpm_tc}, 1_100_000,
   'two writers: tc = 100 + 1000 tokens, the in-doubt -400 applied once');
is(scalar(grep { /^zl_w_[0-9a-f]{12}$/ } keys %$bk), 2,
   'two writers, two write-id attributes') or diag(explain($bk));

$nb->stop;
$n->stop;

done_testing();
