# Local token leases (zae_limit_lease): two nginx instances with two
# workers each on one table, 64 clients, 10 x C requests for one bucket
# of capacity C with a long refill period.  Whatever the lease size, at
# most C are admitted and at least 0.95 C; once demand stops, the leased
# tokens not spent go back (expiry, reload, quit) so that the bucket's
# tc counts exactly what was admitted, and the available tokens, as
# zae-admin reads them from the item like the Python library, come back.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Admin;
use Test::Zae::Items;
use Test::Zae::Storm;
use JSON::PP;
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, @n, $conf);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$ENV{AWS_ACCESS_KEY_ID} = 'AKIDLOCAL';
$ENV{AWS_SECRET_ACCESS_KEY} = 'local-secret';

workers(2);

$conf = <<'EOF';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
worker_processes 2;
events { worker_connections 512; }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=10s
                       flush_interval=200ms;

    server {
        listen 127.0.0.1:PORT;

        location /s8/ {
            zae_limit entity=$http_x_api_key resource=ls8 consume=rpm:1;
            zae_limit_lease size=8 max_share=100;
            root html;
            try_files /index.html =404;
        }

        location /big/ {
            zae_limit entity=$http_x_api_key resource=lbig consume=rpm:1;
            zae_limit_lease size=5000 max_share=100%;
            root html;
            try_files /index.html =404;
        }

        location /auto/ {
            zae_limit entity=$http_x_api_key resource=lauto consume=rpm:1;
            zae_limit_lease size=auto max_share=50;
            root html;
            try_files /index.html =404;
        }

        location /ret/ {
            zae_limit entity=$http_x_api_key resource=lret consume=rpm:1;
            zae_limit_lease size=20 ttl=1s max_share=100;
            root html;
            try_files /index.html =404;
        }

        location /rec/ {
            zae_limit entity=$http_x_api_key resource=lrec
                      consume=rpm:1,tpm:100;
            zae_limit_reconcile tpm $arg_used;
            zae_limit_lease size=10 ttl=60s max_share=100;
            root html;
            try_files /index.html =404;
        }

        location /casc/ {
            zae_limit entity=$http_x_api_key resource=lcasc consume=rpm:1
                      limits=rpm:100000/day;
            zae_limit_lease size=8 max_share=100;
            root html;
            try_files /index.html =404;
        }

        location /off/ {
            zae_limit entity=$http_x_api_key resource=lret consume=rpm:1;
            zae_limit_lease off;
            root html;
            try_files /index.html =404;
        }

        location /metrics {
            zae_limit_metrics;
        }
    }
}
EOF

my $cap = 200;
my @ports = ($env->{TEST_NGINX_SERVER_PORT}, $env->{TEST_NGINX_UPSTREAM_PORT});

for my $res (qw(ls8 lbig lauto)) {
    set_resource_limits($ddb, $nsid, $res, [[rpm => $cap, $cap, 86400]]);
}

set_resource_limits($ddb, $nsid, 'lret', [[rpm => 1000, 1000, 86400]]);
set_resource_limits($ddb, $nsid, 'lrec', [[rpm => 100000, 100000, 86400],
                                          [tpm => 10000000, 10000000,
                                           86400]]);

for my $i (0, 1) {
    (my $c = $conf) =~ s/PORT/$ports[$i]/;
    $n[$i] = nginx(conf => $c, prefix => "$env->{TEST_NGINX_SERVROOT}-$i");

    open my $fh, '>', $n[$i]->prefix . '/html/index.html' or die;
    print $fh "ok\n";
    close $fh;

    $n[$i]->start;
}


sub admin {
    (zae_admin({}, '--endpoint-url', $env->{TEST_NGINX_DDB_ENDPOINT},
               '-n', $env->{TEST_NGINX_TABLE}, @_))[1];
}

sub available {
    my ($key, $res) = @_;
    my $j = eval { decode_json(admin('available', $key, $res,
                                     '--output', 'json')) };
    return $j ? $j->{available}{rpm} : undef;
}

sub metric {
    my ($name) = @_;
    my $sum = 0;
    for my $p (@ports) {
        my %m = zae_metrics(port => $p);
        $sum += $m{$name} // 0;
    }
    return $sum;
}

sub tc {
    my ($key, $res, $limit) = @_;
    my $b = get_bucket($ddb, $nsid, $key, $res);
    return $b ? $b->{'b_' . ($limit // 'rpm') . '_tc'} : undef;
}


# warm DynamoDB Local up (see t/060)

for my $i (0, 1) {
    for my $k (1 .. 20) {
        http_req('GET /off/', port => $ports[$i],
                 headers => "X-API-Key: warm-$i-$k\n");
    }
}


# never over, at least 0.95 C, whatever the size -----------------------------

for my $case (['/s8/', 'ls8', 'size=8'], ['/big/', 'lbig', 'size=5000'],
              ['/auto/', 'lauto', 'size=auto'])
{
    my ($uri, $res, $what) = @$case;
    my $hits = metric('zae_limit_lease_hits_total');
    my %c = storm($uri, 10 * $cap, \@ports, "k-$res");
    my $admitted = $c{200} // 0;

    ok($admitted <= $cap, "$what: never over: $admitted <= $cap admitted");
    ok($admitted >= 0.95 * $cap,
       "$what: at least 0.95 C: $admitted >= " . 0.95 * $cap);
    is(scalar(grep { $_ ne '200' && $_ ne '429' } keys %c), 0,
       "$what: only 200 and 429") or diag(explain(\%c));

    if ($what ne 'size=5000') {
        ok(metric('zae_limit_lease_hits_total') > $hits,
           "$what: requests were served from leases");
    }

    # leftovers go back after ttl (1 s) + flush_interval: tc = admitted

    ok(wait_for(sub { (tc("k-$res", $res) // -1) == $admitted * 1000 }, 15),
       "$what: tc counts exactly the admitted once leases are back")
        or diag('tc ' . (tc("k-$res", $res) // 'none'));
}


# cascade: four keys, one project; the lease holds the parent's tokens too

{
    my $pcap = 100;

    create_entity($ddb, $nsid, 'lproj');
    set_entity_limits($ddb, $nsid, 'lproj', 'lcasc',
                      [[rpm => $pcap, $pcap, 86400]]);

    for my $k (1 .. 4) {
        create_entity($ddb, $nsid, "lpx-$k", parent => 'lproj', cascade => 1);
    }

    my $hits = metric('zae_limit_lease_hits_total');
    my %c = storm('/casc/', 10 * $pcap, \@ports, map { "lpx-$_" } 1 .. 4);
    my $admitted = $c{200} // 0;

    ok(metric('zae_limit_lease_hits_total') > $hits,
       'cascade: requests were served from leases');

    ok($admitted <= $pcap, "cascade: never over: $admitted <= $pcap");
    ok($admitted >= 0.95 * $pcap, "cascade: at least 0.95 C: $admitted");
    is(scalar(grep { $_ ne '200' && $_ ne '429' } keys %c), 0,
       'cascade: only 200 and 429') or diag(explain(\%c));

    my $children = sub {
        my $sum = 0;
        $sum += tc("lpx-$_", 'lcasc') // 0 for 1 .. 4;
        return $sum;
    };

    ok(wait_for(sub { (tc('lproj', 'lcasc') // -1) == $admitted * 1000
                      && $children->() == $admitted * 1000 }, 15),
       'cascade: project tc and the children\'s together = admitted, '
       . 'leases back') or diag('project ' . tc('lproj', 'lcasc')
                                 . ', children ' . $children->());
}


# cascade, demand stops with a lease held: the parent's share goes back too

{
    create_entity($ddb, $nsid, 'lproj2');
    set_entity_limits($ddb, $nsid, 'lproj2', 'lcasc',
                      [[rpm => 1000, 1000, 86400]]);
    create_entity($ddb, $nsid, 'lpy-1', parent => 'lproj2', cascade => 1);

    for my $k (1 .. 5) {
        is(http_req('GET /casc/', port => $ports[0],
                    headers => "X-API-Key: lpy-1\n")->{status}, 200,
           "cascade, 5 requests: $k admitted");
    }

    ok(tc('lproj2', 'lcasc') > 5000, 'cascade: the parent holds a lease');
    ok(wait_for(sub { (tc('lproj2', 'lcasc') // 0) == 5000
                      && (tc('lpy-1', 'lcasc') // 0) == 5000 }, 15),
       'cascade: after the ttl, child and parent tc = 5 admitted')
        or diag('project ' . tc('lproj2', 'lcasc') . ', child '
                . tc('lpy-1', 'lcasc'));
}


# size=auto at a low rate: no lease, one write per request as without

{
    my $refills = metric('zae_limit_lease_refills_total');

    for my $k (1 .. 3) {
        is(http_req('GET /auto/', port => $ports[0],
                    headers => "X-API-Key: slow-1\n")->{status}, 200,
           "auto, low rate: request $k admitted");
    }

    is(metric('zae_limit_lease_refills_total'), $refills,
       'auto, 3 requests per ttl: no refill (k = 1)');
    is(tc('slow-1', 'lauto'), 3000, 'auto, low rate: tc = 3 admitted');
}


# the leased tokens are consumed in the item, and come back --------------------

{
    my ($t0, $back);

    for my $k (1 .. 5) {
        my $r = http_req('GET /ret/', port => $ports[0],
                         headers => "X-API-Key: ret-1\n");
        is($r->{status}, 200, "ret: request $k admitted");
    }

    my $avail = available('ret-1', 'lret');
    my $leased = tc('ret-1', 'lret') / 1000 - 5;

    ok($leased >= 10, "ret: the item counts a lease as consumed "
                      . "($leased tokens beyond the 5 admitted)");
    is($avail, 1000 - 5 - $leased,
       'ret: zae-admin available sees them as consumed');

    $t0 = time;
    $back = wait_for(sub { (available('ret-1', 'lret') // 0) == 995 }, 15);
    ok($back, sprintf('ret: available back to 995 after the ttl (%.1f s)',
                      time - $t0));
    is(tc('ret-1', 'lret'), 5000, 'ret: tc = the 5 admitted');
}


# conservation with reconciliation, reload and quit ---------------------------

{
    my ($used, $count) = (0, 0);

    my $batch = sub {
        for my $k (1 .. 25) {
            my $u = int rand 300;
            my $r = http_req("GET /rec/?used=$u", port => $ports[0],
                             headers => "X-API-Key: rec-1\n");
            if (($r->{status} // 0) == 200) {
                $used += $u;
                $count++;
            }
        }
    };

    $batch->();
    is($count, 25, "rec: 25 admitted");
    ok(tc('rec-1', 'lrec') > $count * 1000, 'rec: a lease is held');

    $n[0]->reload;

    ok(wait_for(sub { (tc('rec-1', 'lrec') // 0) == $count * 1000 }, 5),
       'rec: after a reload, leased tokens are back (rpm tc = admitted)')
        or diag('rpm tc ' . tc('rec-1', 'lrec'));
    ok(wait_for(sub { (tc('rec-1', 'lrec', 'tpm') // 0) == $used * 1000 },
                5), 'rec: tpm tc = the tokens reported')
        or diag('tpm tc ' . tc('rec-1', 'lrec', 'tpm') . " want $used");

    $batch->();
    is($count, 50, "rec: 25 more admitted after the reload");
    ok(tc('rec-1', 'lrec') > $count * 1000, 'rec: a lease is held again');

    $n[0]->stop;

    is(tc('rec-1', 'lrec'), $count * 1000,
       'rec: after a quit, rpm tc = admitted');
    is(tc('rec-1', 'lrec', 'tpm'), $used * 1000,
       'rec: after a quit, tpm tc = the tokens reported');
}

$n[1]->stop;

done_testing();
