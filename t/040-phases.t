# Where the limiter runs: after the access phase (a request refused by
# auth_basic or auth_request consumes nothing; "satisfy any" does not let
# a request past the limiter), once per request (not again after
# try_files or error_page redirects), never for subrequests; the log
# phase still finds the acquire after an error_page redirect; a client
# that goes away while the request is parked leaves nothing broken.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my ($env, $ddb, $nsid, $n, $r, $hang);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

# a backend that accepts connections and never answers (for the abort test)

$hang = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                              Listen => 16, Proto => 'tcp')
    or die "listen: $!\n";
$ENV{TEST_NGINX_HANG_PORT} = $hang->sockport;

open my $fh, '>', "$env->{TEST_NGINX_SERVROOT}.htpasswd" or die;
print $fh "alice:{PLAIN}secret\n";
close $fh;
$ENV{TEST_NGINX_HTPASSWD} = "$env->{TEST_NGINX_SERVROOT}.htpasswd";

$n = nginx(conf => zae_conf(upstream => <<'UPSTREAM', server => <<'EOF'));
access_log logs/upstream.log;
location / { return 200 "upstream\n"; }
location /bad { return 502; }

location = /check {
    if ($http_x_token != "ok") {
        return 403;
    }
    return 204;
}
UPSTREAM
location /basic/ {
    auth_basic "llm";
    auth_basic_user_file $TEST_NGINX_HTPASSWD;
    zae_limit entity=$http_x_api_key resource=basic
              consume=rpm:1 limits=rpm:2/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /any/ {
    satisfy any;
    allow 127.0.0.1;
    deny all;
    auth_basic "llm";
    auth_basic_user_file $TEST_NGINX_HTPASSWD;
    zae_limit entity=$http_x_api_key resource=any
              consume=rpm:1 limits=rpm:1/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /authreq/ {
    auth_request /auth;
    zae_limit entity=$http_x_api_key resource=authreq
              consume=rpm:1 limits=rpm:5/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

# limited like /authreq/: only the subrequest guard keeps the
# auth_request subrequest from consuming (it reaches the limiter's
# phase: the answer comes from a proxied location, not a return)

location = /auth {
    internal;
    zae_limit entity=$http_x_api_key resource=authreq
              consume=rpm:1 limits=rpm:5/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/check;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
}

location /redir/ {
    zae_limit entity=$http_x_api_key resource=redir
              consume=rpm:1 limits=rpm:5/hour;
    try_files /nonexistent @up;
}

location @up {
    zae_limit entity=$http_x_api_key resource=redir
              consume=rpm:1 limits=rpm:5/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /errpage/ {
    zae_limit entity=$http_x_api_key resource=errpage
              consume=rpm:1 limits=rpm:5/hour;
    error_page 502 = /fallback;
    proxy_intercept_errors on;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/bad;
}

location = /fallback {
    return 502 "fallback\n";
}

location /mirrored/ {
    mirror /limited/;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /limited/ {
    zae_limit entity=$http_x_api_key resource=mirror
              consume=rpm:1 limits=rpm:5/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /ok/ {
    zae_limit entity=$http_x_api_key resource=ok
              consume=rpm:1 limits=rpm:100/hour;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF

$n->start;

sub req {
    my ($uri, $hdrs) = @_;
    return http_req("GET $uri", headers => $hdrs);
}

sub tc {
    my ($entity, $res) = @_;
    my $b = get_bucket($ddb, $nsid, $entity, $res);
    return $b ? $b->{b_rpm_tc} : undef;
}

my $auth = 'Authorization: Basic ' . 'YWxpY2U6c2VjcmV0' . "\n";


# auth_basic refuses before the limiter -----------------------------------------

for (1 .. 3) {
    $r = req('/basic/', "X-API-Key: p-1\n");
    is($r->{status}, 401, 'auth_basic: refused');
}

ok(!defined tc('p-1', 'basic'), 'refused requests consumed nothing');

$r = req('/basic/', "X-API-Key: p-1\n$auth");
is($r->{status}, 200, 'auth_basic: accepted and admitted');
is(tc('p-1', 'basic'), 1000, 'one consumption for the accepted request');


# satisfy any: access granted, the limiter still limits ------------------------

$r = req('/any/', "X-API-Key: p-2\n");
is($r->{status}, 200, 'satisfy any: first admitted');
$r = req('/any/', "X-API-Key: p-2\n");
is($r->{status}, 429, 'satisfy any: the limiter still rejects');


# auth_request -----------------------------------------------------------------

$r = req('/authreq/', "X-API-Key: p-3\nX-Token: no\n");
is($r->{status}, 403, 'auth_request: refused');
ok(!defined tc('p-3', 'authreq'), 'auth_request refusal consumed nothing');

$r = req('/authreq/', "X-API-Key: p-3\nX-Token: ok\n");
is($r->{status}, 200, 'auth_request: accepted');
is(tc('p-3', 'authreq'), 1000, 'auth_request subrequest did not consume');


# once per request -----------------------------------------------------------

$r = req('/redir/', "X-API-Key: p-4\n");
is($r->{status}, 200, 'try_files redirect served');
is(tc('p-4', 'redir'), 1000, 'consumed once despite two limited locations');


# error_page redirect after a failed upstream: rollback still happens ----------

$r = req('/errpage/', "X-API-Key: p-5\n");
is($r->{status}, 502, 'error_page answered');
like($r->{body}, qr/fallback/, 'from the fallback location');
sleep 1.5;
is(tc('p-5', 'errpage'), 0, 'rolled back after the internal redirect');


# subrequests are not limited ------------------------------------------------

# the positive signal first: the upstream has logged the mirror's request,
# so a mirror subrequest that acquired (before its proxy_pass) is done

$r = req('/mirrored/', "X-API-Key: p-6\n");
is($r->{status}, 200, 'mirrored request served');

my $mirrored = 0;

for (1 .. 100) {
    if (open my $ul, '<', "$env->{TEST_NGINX_SERVROOT}/logs/upstream.log") {
        local $/;
        $mirrored = () = <$ul> =~ m{"GET /limited/ }g;
    }

    last if $mirrored;
    sleep 0.1;
}

is($mirrored, 1, 'the mirror subrequest reached the upstream');
ok(!defined tc('p-6', 'mirror'), 'the mirror subrequest consumed nothing');


# a client that goes away while its request is parked ---------------------------

$n->stop;

$n = nginx(conf => <<'EOF', prefix => "$env->{TEST_NGINX_SERVROOT}-hang");
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://127.0.0.1:$TEST_NGINX_HANG_PORT
                       timeout=1s max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /parked/ {
            zae_limit entity=$http_x_api_key resource=parked
                      consume=rpm:1 limits=rpm:5/hour;
            zae_limit_on_unavailable allow;
            return 200 "not reached: return runs first\n";
        }

        location /p/ {
            zae_limit entity=$http_x_api_key resource=parked
                      consume=rpm:1 limits=rpm:5/hour;
            zae_limit_on_unavailable allow;
            root html;
            try_files /index.html =404;
        }
    }
}
EOF

open my $ix, '>', "$env->{TEST_NGINX_SERVROOT}-hang/html/index.html" or die;
print $ix "served\n";
close $ix;

$n->start;

for my $i (1 .. 5) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "connect: $!\n";
    print $c "GET /p/ HTTP/1.1\r\nHost: localhost\r\nX-API-Key: gone-$i\r\n"
             . "Connection: close\r\n\r\n";
    sleep 0.1;
    close $c;
}

sleep 1.5;

$r = req('/p/', "X-API-Key: after\n");
is($r->{status}, 200, 'after clients went away: still serving');
like($r->{body}, qr/served/, 'unavailable allowed after the timeout');
like($n->error_log, qr/client prematurely closed connection|client closed/,
     'the aborted requests were noticed');

$n->stop;

done_testing();
