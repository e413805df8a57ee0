# Conservation: thousands of requests from several client processes, the
# upstream reporting a random X-Tokens-Used for each, with a reload (HUP)
# and a graceful quit plus restart in the middle of the run.  At the end
# the table holds, to the token, what the upstream reported: per key the
# bucket's b_tpm_tc is the sum of X-Tokens-Used of the admitted requests
# and b_rpm_tc their count (failed upstream answers are rolled back and
# count for nothing).
#
#   ZAE_CONSERVATION_REQUESTS  requests in all (default 1000)
#   ZAE_CONSERVATION_CLIENTS   client processes (default 4)
#   ZAE_CONSERVATION_SEED      random seed (default: time)
#
# The oracle is what the clients saw.  A request whose connection was
# reset while nginx was quitting (accepted by the kernel, never read by
# nginx) has no answer; such requests are looked up in nginx's access
# log by their id: logged means served, not logged means never seen.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::Load;
use Time::HiRes qw(time sleep);

my ($env, $ddb, $nsid, $n, $up, $total, $clients, $seed, @keys);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$total = $ENV{ZAE_CONSERVATION_REQUESTS} || 1000;
$clients = $ENV{ZAE_CONSERVATION_CLIENTS} || 4;
$seed = $ENV{ZAE_CONSERVATION_SEED} || int(time);
@keys = map { "cons-$_" } 1 .. 3;

diag("conservation: $total requests, $clients clients, seed $seed");

# the upstream: a separate instance, so it stays up while the limiter
# quits and restarts

$up = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-up", log_level => 'info',
            conf => <<'EOF');
events { worker_connections 1024; }
http {
    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;

        location /v1/tokens/ {
            add_header X-Tokens-Used $arg_used;
            return 200 '{"object":"chat.completion"}';
        }

        location /v1/fail/ {
            return 502;
        }
    }
}
EOF

$up->start;

$n = nginx(log_level => 'info', conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=x;
worker_processes 2;
events { worker_connections 1024; }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=10s
                       flush_interval=200ms;

    log_format cons '$arg_id $status $zae_limit_status';

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        access_log logs/cons.log cons;

        location /v1/ {
            zae_limit entity=$http_x_api_key resource=gpt-4
                      consume=rpm:1,tpm:500
                      limits=rpm:100000000/min,tpm:1000000000/min;
            zae_limit_reconcile tpm $upstream_http_x_tokens_used;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }
    }
}
EOF

$n->start;


# one client: its share of the requests, one at a time; a refused
# connection (nginx restarting) is tried again.  Reports one line per
# request: id status used key

sub client {
    my ($ci, $count, $wr) = @_;

    srand($seed + $ci);

    for my $k (1 .. $count) {
        my ($id, $key, $fail, $used, $uri, $deadline, $r);

        $id = "c$ci-$k";
        $key = $keys[int rand @keys];
        $fail = rand() < 0.05;
        $used = int rand 5001;
        $uri = $fail ? "/v1/fail/?id=$id" : "/v1/tokens/?id=$id&used=$used";
        $deadline = time + 60;

        while (1) {
            $r = http_req("GET $uri", headers => "X-API-Key: $key\n",
                          timeout => 30);
            last if $r->{status};
            last unless ($r->{error} // '') =~ /^connect/;
            last if time > $deadline;
            sleep 0.02;
        }

        print $wr join(' ', $id, $r->{status} // 'none', $fail ? 0 : $used,
                       $key), "\n";
    }
}


my (%seen, $done, @events);

my ($rd, @pids) = clients($clients, $total, \&client);

# the disturbances, at a quarter, half and three quarters of the run

@events = ([int($total / 4), 'reload'], [int($total / 2), 'reload'],
           [int($total * 3 / 4), 'restart']);
$done = 0;

my $t0 = time;

while (my $l = <$rd>) {
    my ($id, $status, $used, $key) = split ' ', $l;

    $seen{$id} = { status => $status, used => $used, key => $key };
    $done++;

    next unless @events && $done >= $events[0][0];

    my $ev = (shift @events)->[1];

    if ($ev eq 'reload') {
        ok($n->reload, "reload (HUP) after $done requests");

    } else {
        $n->stop(name => "quit after $done requests: error log clean");
        $n->start;
        pass("restarted after $done requests");
    }
}

waitpid($_, 0) for @pids;

my $elapsed = time - $t0;

is(scalar(keys %seen), $total, "every one of $total requests reported")
    or diag(scalar(keys %seen));

diag(sprintf('conservation: %d requests in %.1f s (%.0f/s)', $total,
             $elapsed, $total / ($elapsed || 1)));

# everything pending is written when the workers quit

$n->stop(name => 'final quit: error log clean');


# what nginx logged, by id

my %logged;

open my $fh, '<', $n->prefix . '/logs/cons.log' or die "cons.log: $!\n";

while (my $l = <$fh>) {
    my ($id, $status, $zs) = split ' ', $l;
    next unless defined $zs;
    $logged{$id} = { status => $status, zs => $zs };
}

close $fh;


my (%want_tc, %want_n, %count, @mismatch, $unknown, $unknown_served);

$unknown = $unknown_served = 0;

for my $id (sort keys %seen) {
    my $s = $seen{$id};
    my $status = $s->{status};

    if ($status eq 'none') {
        $unknown++;
        next unless $logged{$id};
        $unknown_served++;
        $status = $logged{$id}{status};

    } elsif (!$logged{$id} || $logged{$id}{status} ne $status) {
        push @mismatch, "$id: client saw $status, log has "
                        . ($logged{$id} ? $logged{$id}{status} : 'nothing');
    }

    $count{$status}++;

    next unless $status eq '200';

    $want_tc{$s->{key}} += $s->{used};
    $want_n{$s->{key}}++;
}

is(scalar(@mismatch), 0, 'every answer the clients saw is in the access log')
    or diag(join "\n", @mismatch[0 .. ($#mismatch < 9 ? $#mismatch : 9)]);

diag("conservation: outcomes " . join(', ', map { "$_: $count{$_}" }
                                           sort keys %count)
     . "; $unknown without an answer, $unknown_served of them served");

ok(($count{200} // 0) > $total * 0.8, 'most requests admitted');
ok(($count{502} // 0) > 0, 'some upstream failures (rolled back)');
is(scalar(grep { $_ ne '200' && $_ ne '502' } keys %count), 0,
   'no other outcome') or diag(explain(\%count));

for my $key (@keys) {
    my $b = get_bucket($ddb, $nsid, $key, 'gpt-4');

    ok($b, "$key: bucket exists") or next;

    is($b->{b_tpm_tc}, ($want_tc{$key} // 0) * 1000,
       "$key: b_tpm_tc = sum of X-Tokens-Used of the admitted, to the token");
    is($b->{b_rpm_tc}, ($want_n{$key} // 0) * 1000,
       "$key: b_rpm_tc = admitted requests ($want_n{$key})");
}

like($n->error_log, qr/start worker process/, 'workers started');
unlike($n->error_log, qr/exited on signal|open socket #\d+ left in/,
       'no worker crashed, no connection leaked');

$up->stop;

done_testing();
