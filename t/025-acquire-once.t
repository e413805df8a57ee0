# An acquire write of the slow path that DynamoDB applied but whose
# answer came too late (issue 10, point 4: t/reliability/120 found
# buckets counted twice or more with DynamoDB answering around the
# timeout).  DynamoDB Local behind util/fake-fault-proxy.pl (a fake) in
# mode "delay=12000@tpm_cp": the answers to the writes that set a tpm
# limit's capacity (the create's PutItem, the UpdateItem that adds a
# limit to a bucket) are held past the 5 s timeout; a watcher switches
# the proxy back to "pass" as soon as the table shows the write, so
# that the client's second attempt is answered.  That attempt is
# refused (the item exists, or its rf moved): before the write id, the
# module took the refusal for a race and sent the consumption-only
# retry, counting the request twice (a create: rpm tc 2000 for 1000,
# tpm tc 1 000 000 for 500 000).  Now the refusal's old item holds the
# write's id: applied before, counted once.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use POSIX ();
use Time::HiRes qw(sleep time);

my ($env, $ddb, $nsid, $proxy, $n, $r, $bk);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$proxy = Test::Zae::FaultProxy->start;

$n = nginx(log_level => 'info', conf => zae_conf(
    secret => 'x', proxy => 1,
    dynamodb => 'timeout=5s max_attempts=2 keepalive=0',
    upstream => <<'UPSTREAM', server => <<'EOF2'));
return 200 'ok';
UPSTREAM
add_header X-Status $zae_limit_status always;

location /rpm/ {
    zae_limit entity=$http_x_api_key resource=gpt-4 consume=rpm:1
              limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /both/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1,tpm:500
              limits=rpm:1000/min,tpm:1000000/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF2

$n->start;


# one request while the answers to writes naming "tpm_cp" are held; a
# watcher ends the fault when "landed" sees the write in the table

sub held_request {
    my ($uri, $key, $landed) = @_;
    my ($pid, $t0, $res);

    $proxy->mode('delay=12000@tpm_cp');

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        my $d = ddb();
        $t0 = time;

        while (time - $t0 < 20) {
            my $b = eval { get_bucket($d, $nsid, $key, 'gpt-4') };
            last if $b && $landed->($b);
            sleep 0.02;
        }

        $proxy->mode('pass');
        POSIX::_exit(0);
    }

    $res = http_req("GET $uri", headers => "X-API-Key: $key\n",
                    timeout => 30);
    waitpid($pid, 0);
    $proxy->mode('pass');

    return $res;
}


# a create (PutItem) applied, its answer late, the second attempt refused
# because the item exists

$r = held_request('/both/', 'once-1', sub { defined $_[0]{b_tpm_cp} });

is($r->{status}, 200, 'create: admitted');
is($r->{headers}{'x-status'}, 'PASSED', 'create: with a lease');

$bk = get_bucket($ddb, $nsid, 'once-1', 'gpt-4');
is($bk->{b_rpm_tc}, 1000, 'create: rpm tc = 1 request, counted once');
is($bk->{b_tpm_tc}, 500_000, 'create: tpm tc = 500 tokens, counted once');
like($n->error_log, qr/write of entity "once-1" resource "gpt-4" was applied before its answer was lost, counted once/,
     'create: the refusal recognized as its own write');


# an update that adds a limit (UpdateItem with SET rf) applied, its
# answer late, the second attempt refused because rf moved

is(http_req('GET /rpm/', headers => "X-API-Key: once-2\n")->{status}, 200,
   'update: a bucket with rpm only');

$r = held_request('/both/', 'once-2', sub { defined $_[0]{b_tpm_cp} });

is($r->{status}, 200, 'update: admitted');
is($r->{headers}{'x-status'}, 'PASSED', 'update: with a lease');

$bk = get_bucket($ddb, $nsid, 'once-2', 'gpt-4');
is($bk->{b_rpm_tc}, 2000, 'update: rpm tc = 2 requests, the second once');
is($bk->{b_tpm_tc}, 500_000, 'update: tpm tc = 500 tokens, counted once');
like($n->error_log, qr/write of entity "once-2" resource "gpt-4" was applied before its answer was lost, counted once/,
     'update: the refusal recognized as its own write');

like($n->error_log, qr/attempt 1 failed: timed out/,
     'the fault bit: a first attempt timed out');

$n->stop;

done_testing();
