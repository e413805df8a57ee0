# The RateLimit headers of requests served by a lease (issue 13 part 2,
# point 3).  Before, a lease hit had none.  Now each limit it consumes
# shows, without a DynamoDB call, the table's tokens after this
# instance's last refill (the refill's ALL_NEW image) plus the tokens
# the lease still holds: alone on a bucket of 100 a day, request n
# reads 100 - n, as without a lease; the refilling request too.  What
# another instance or client consumed since shows at the next refill.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;

my ($env, $ddb, $nsid, $n, $r, %m);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

set_resource_limits($ddb, $nsid, 'lhdr', [[rpm => 100, 100, 86400],
                                          [tpm => 100000, 100000, 86400]]);

$n = nginx(log_level => 'info', conf => zae_conf(
    secret => 'x',
    dynamodb => 'timeout=10s flush_interval=200ms',
    upstream => "        return 200 'ok';",
    server => <<'EOF2'));

        location /l/ {
            zae_limit entity=$http_x_api_key resource=lhdr
                      consume=rpm:1,tpm:50;
            zae_limit_lease size=10 ttl=60s max_share=100;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location /metrics {
            zae_limit_metrics;
        }
EOF2

$n->start;

for my $i (1 .. 6) {
    my $hits = { zae_metrics() }->{zae_limit_lease_hits_total} // 0;

    $r = http_req('GET /l/', headers => "X-API-Key: hdr-1\n");

    my $hit = ({ zae_metrics() }->{zae_limit_lease_hits_total} // 0) > $hits;
    my $what = $i <= 2 ? 'normal' : $i == 3 ? 'refill' : 'lease hit';

    is($r->{status}, 200, "request $i ($what) admitted");
    is($hit ? 1 : 0, $i > 3 ? 1 : 0,
       "request $i " . ($i > 3 ? 'served by the lease' : 'not a lease hit'));
    is($r->{headers}{'x-ratelimit-remaining-rpm'}, 100 - $i,
       "request $i: rpm remaining 100 - $i");
    is($r->{headers}{'x-ratelimit-remaining-tpm'}, 100000 - 50 * $i,
       "request $i: tpm remaining 100000 - 50 x $i");
    is($r->{headers}{'x-ratelimit-limit-rpm'}, 100, "request $i: rpm limit");
    like($r->{headers}{'ratelimit'} // '',
         qr/"rpm";r=@{[100 - $i]};t=\d+/, "request $i: RateLimit rpm");
}

%m = zae_metrics();
is($m{zae_limit_lease_refills_total}, 1, 'one refill');

$n->stop;

done_testing();
