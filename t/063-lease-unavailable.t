# DynamoDB unreachable with a lease held (zae_limit_lease): requests
# keep being admitted from the tokens already leased, with no call,
# until they run out; then the unavailable policy applies (block: 503).
# A request the lease cannot cover tries a refill, which fails: lease
# hits after that are counted in zae_limit_lease_unavailable_hits_total.
# DynamoDB is made unreachable by util/fake-fault-proxy.pl (a FAKE).

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FaultProxy;
use Time::HiRes qw(sleep);

my ($env, $ddb, $nsid, $n, $p, $r, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$p = Test::Zae::FaultProxy->start;

set_resource_limits($ddb, $nsid, 'lun', [[rpm => 1000, 1000, 86400]]);

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://127.0.0.1:$TEST_NGINX_PROXY_PORT
                       timeout=5s max_attempts=2 keepalive=0
                       flush_interval=200ms;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /l/ {
            zae_limit entity=$http_x_api_key resource=lun
                      consume=rpm:$arg_n;
            zae_limit_on_unavailable block;
            zae_limit_lease size=10 ttl=30s max_share=100;
            root html;
            try_files /index.html =404;
        }

        location /metrics {
            zae_limit_metrics;
        }
    }
}
EOF

open my $fh, '>', $n->prefix . '/html/index.html' or die;
print $fh "ok\n";
close $fh;

$n->start;

sub req {
    my ($amount) = @_;
    return http_req("GET /l/?n=$amount", headers => "X-API-Key: un-1\n");
}

# the first request creates the bucket, the second learns the entity
# from the write's image, the third leases 10 x 1

is(req(1)->{status}, 200, 'bucket created');
is(req(1)->{status}, 200, 'a speculative write');
is(req(1)->{status}, 200, 'refill of 10: one for the request, 9 held');

my $tc = get_bucket($ddb, $nsid, 'un-1', 'lun')->{b_rpm_tc};
is($tc, 12000, 'the item counts 3 admitted + 9 held');

$p->mode('refuse');
sleep 0.3;

is(req(5)->{status}, 200, 'DynamoDB away: 5 tokens from the lease');
is(req(5)->{status}, 503,
   'a request the lease cannot cover (4 left) tries a refill: 503');

my $ok = 0;
for (1 .. 4) {
    $ok++ if req(1)->{status} == 200;
}
is($ok, 4, 'the 4 tokens left are still admitted, from the lease');
is(req(1)->{status}, 503, 'lease spent: the unavailable policy, 503');

%m = zae_metrics();
is($m{zae_limit_lease_hits_total}, 5, 'lease hits: 5');
is($m{zae_limit_lease_unavailable_hits_total}, 4,
   'lease hits after a failed refill: 4');
ok(($m{zae_limit_unavailable_total} // 0) >= 2,
   'the failed refills are unavailable events');

$p->mode('pass');
sleep 0.3;

is(req(1)->{status}, 200, 'DynamoDB back: admitted again');

$n->stop;

$tc = get_bucket($ddb, $nsid, 'un-1', 'lun')->{b_rpm_tc};
is($tc, 3000 + 5000 + 4000 + 1000, 'tc: every admitted token counted once '
                            . '(the last lease given back at quit)');

done_testing();
