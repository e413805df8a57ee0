# Exactness under concurrency: two nginx instances with two workers each
# on one table, 64 concurrent clients, 10 x C requests: exactly C are
# admitted and the bucket ends empty; with cascade, the parent's limit
# holds across all its keys.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::Storm;

my ($env, $ddb, $nsid, @n, $conf);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

workers(2);

$conf = <<'EOF';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
worker_processes 2;
events { worker_connections 512; }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=10s;

    server {
        listen 127.0.0.1:PORT;

        location /u/ {
            zae_limit entity=$http_x_api_key resource=exact
                      consume=rpm:1 limits=rpm:CAP/day;
            root html;
            try_files /index.html =404;
        }

        location /c/ {
            zae_limit entity=$http_x_api_key resource=casc
                      consume=rpm:1 limits=rpm:100000/day;
            root html;
            try_files /index.html =404;
        }
    }
}
EOF

my $cap = 50;
my @ports = ($env->{TEST_NGINX_SERVER_PORT}, $env->{TEST_NGINX_UPSTREAM_PORT});

for my $i (0, 1) {
    (my $c = $conf) =~ s/PORT/$ports[$i]/;
    $c =~ s/CAP/$cap/g;
    $n[$i] = nginx(conf => $c, prefix => "$env->{TEST_NGINX_SERVROOT}-$i");

    open my $fh, '>', $n[$i]->prefix . '/html/index.html' or die;
    print $fh "ok\n";
    close $fh;

    $n[$i]->start;
}


# A write that times out is retried, and if the first attempt was applied
# after all, its tokens are consumed twice (never admitting more than the
# capacity; the AWS SDKs behave the same).  A cold DynamoDB Local under 64
# clients can stall for seconds: warm it up, and give the calls a
# timeout that a stall does not reach, so the count is exact.

for my $i (0, 1) {
    for my $k (1 .. 20) {
        http_req('GET /u/', port => $ports[$i],
                 headers => "X-API-Key: warm-$i-$k\n");
    }
}


my %c = storm('/u/', 10 * $cap, \@ports, 'ex-1');

is($c{200}, $cap, "exactly $cap of " . 10 * $cap . " admitted");
is($c{429}, 9 * $cap, 'all others rejected with 429');
is(scalar(grep { $_ ne '200' && $_ ne '429' } keys %c), 0,
   'no other outcome') or diag(explain(\%c));

my $b = get_bucket($ddb, $nsid, 'ex-1', 'exact');
is($b->{b_rpm_tc}, $cap * 1000, 'tc counts exactly the admitted');
is(int($b->{b_rpm_tk} / 1000), 0, 'the bucket ends empty (tk // 1000 = 0)');


# cascade: four keys, one project ----------------------------------------------

my $pcap = 40;

create_entity($ddb, $nsid, 'proj-x');
set_entity_limits($ddb, $nsid, 'proj-x', 'casc', [[rpm => $pcap, $pcap, 86400]]);

for my $k (1 .. 4) {
    create_entity($ddb, $nsid, "px-$k", parent => 'proj-x', cascade => 1);
}

%c = storm('/c/', 10 * $pcap, \@ports, map { "px-$_" } 1 .. 4);

is($c{200}, $pcap, "cascade: exactly $pcap admitted across 4 keys")
    or diag(explain(\%c));

$b = get_bucket($ddb, $nsid, 'proj-x', 'casc');
is($b->{b_rpm_tc}, $pcap * 1000, 'cascade: project tc exact');

# compensations of children whose parent refused are flushed within 1 s

select(undef, undef, undef, 1.6);

my $children = 0;
for my $k (1 .. 4) {
    my $cb = get_bucket($ddb, $nsid, "px-$k", 'casc');
    $children += $cb ? $cb->{b_rpm_tc} : 0;
}

is($children, $pcap * 1000,
   'cascade: children together charged exactly what was admitted');

$_->stop for @n;

done_testing();
