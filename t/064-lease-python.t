# Local token leases shared with a Python zae-limiter client (issue 13,
# "interoperable"): nginx with zae_limit_lease size=8 takes a lease on a
# bucket of capacity C = 40 with a long refill period; a client that
# sends zae-limiter's own requests (Test::Zae::FakePython: the real
# library cannot be installed here, see there) on the same entity,
# resource and limit
#   - reads capacity minus what nginx took (admitted + held in the
#     lease), never more;
#   - acquires what is left and is refused beyond it: nginx and Python
#     together admit C, never more;
#   - sees the unused leased tokens back after ttl + flush_interval with
#     no more nginx demand;
#   - decodes the item all along (its format unchanged).

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FakePython;
use Time::HiRes qw(time);

my ($env, $ddb, $nsid, $n, $cap, $port);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};
$port = $env->{TEST_NGINX_SERVER_PORT};
$cap = 40;

workers(2);

set_resource_limits($ddb, $nsid, 'lpy', [[rpm => $cap, $cap, 86400]]);

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
worker_processes 2;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=10s
                       flush_interval=200ms;

    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        location / { return 200 "upstream\n"; }
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /py/ {
            zae_limit entity=$http_x_api_key resource=lpy consume=rpm:1;
            zae_limit_lease size=8 ttl=60s max_share=100;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location /ret/ {
            zae_limit entity=$http_x_api_key resource=lpy consume=rpm:1;
            zae_limit_lease size=8 ttl=1s max_share=100;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }

        location /metrics {
            zae_limit_metrics;
        }
    }
}
EOF

$n->start;


sub nginx_reqs {
    my ($uri, $key, $count) = @_;
    my %c;

    for (1 .. $count) {
        $c{ http_req("GET $uri", headers => "X-API-Key: $key\n")->{status} }++;
    }

    return %c;
}

# the tokens nginx has out of the table: admitted plus held, from its own
# metrics (not from the item)

sub nginx_taken {
    my ($admitted) = @_;
    my %m = zae_metrics(port => $port);

    return $admitted
           + ($m{'zae_limit_lease_tokens_total{state="leased"}'} // 0)
           - ($m{'zae_limit_lease_tokens_total{state="returned"}'} // 0);
}

sub py_available {
    my ($key) = @_;
    return fake_py_available($ddb, $nsid, $key, 'lpy')->{rpm};
}

sub decodes {
    my ($key, $what) = @_;
    my $item = $ddb->get_item({ PK => { S => "$nsid/BUCKET#$key#lpy#0" },
                                SK => { S => '#STATE' } });
    my $b = eval { fake_py_decode($item) };

    ok($b, "$what: the item decodes as zae-limiter's") or diag($@);
    is(join(',', sort keys %{ $b->{limits} // {} }), 'rpm,wcu',
       "$what: its limits are rpm and the hidden wcu");
    is($b->{limits}{rpm}{cp}, $cap * 1000, "$what: rpm capacity unchanged");
}


# (1) + (2): Python sees the lease as consumed, takes the rest ------------------

{
    my (%c, $taken, $avail, $py, $refused, $ngx);

    %c = nginx_reqs('/py/', 'py-a', 3);
    is($c{200}, 3, 'nginx: 3 admitted through the lease');

    $taken = nginx_taken(3);
    ok($taken > 3, "nginx holds a lease: $taken tokens out of the table "
                   . 'for 3 admitted');

    $avail = py_available('py-a');
    is($avail, $cap - $taken,
       "python available: capacity minus admitted and held ($avail)");
    ok($avail <= $cap - 3, 'python available: never more than C - admitted');

    decodes('py-a', 'lease held');

    $py = 0;
    $refused = 0;

    for (1 .. $cap + 5) {
        my $ok = eval { fake_py_acquire($ddb, $nsid, 'py-a', 'lpy',
                                        { rpm => 1 }) };
        if (!defined $ok) {
            fail("python acquire: $@");
            last;
        }

        if (!$ok) {
            $refused = 1;
            last;
        }

        $py++;
    }

    is($py, $avail, "python: admitted what was left ($py)");
    ok($refused, 'python: refused beyond it (RateLimitExceeded)');

    # nginx spends what it holds, then is refused as well

    %c = nginx_reqs('/py/', 'py-a', 20);
    $ngx = 3 + ($c{200} // 0);

    is(scalar(grep { $_ ne '200' && $_ ne '429' } keys %c), 0,
       'nginx: only 200 and 429');
    ok($ngx + $py <= $cap,
       "together never over: nginx $ngx + python $py <= $cap");
    is($ngx + $py, $cap, 'together: the whole capacity, nothing lost');
    is($ngx, $taken, 'nginx admitted exactly what it had taken');

    ok(!fake_py_acquire($ddb, $nsid, 'py-a', 'lpy', { rpm => 1 }),
       'python: still refused after nginx is done');

    decodes('py-a', 'bucket spent');

    diag("capacity $cap: nginx admitted $ngx (lease $taken at the first "
         . "read), python admitted $py");
}


# (3): unused leased tokens come back, Python sees them ---------------------

{
    my (%c, $t0, $back);

    %c = nginx_reqs('/ret/', 'py-b', 3);
    is($c{200}, 3, 'return: nginx admitted 3 through the lease');

    $t0 = time;

    ok(py_available('py-b') < $cap - 3,
       'return: python sees the held tokens as consumed');

    $back = wait_for(sub { py_available('py-b') == $cap - 3 }, 15);
    ok($back, sprintf('return: python available back to %d (C - 3 admitted)'
                      . ' after ttl + flush_interval (%.1f s)',
                      $cap - 3, time - $t0))
        or diag('available ' . py_available('py-b'));

    is(get_bucket($ddb, $nsid, 'py-b', 'lpy')->{b_rpm_tc}, 3000,
       'return: tc counts the 3 admitted');

    ok(fake_py_acquire($ddb, $nsid, 'py-b', 'lpy', { rpm => 1 }),
       'return: python acquires from the returned tokens');
    is(py_available('py-b'), $cap - 4, 'return: python available C - 4');

    decodes('py-b', 'lease returned');
}

$n->stop;

done_testing();
