# Host names of the DynamoDB endpoint go through nginx's resolver (the
# http block's "resolver"), at run time and without blocking: a real DNS
# server, dnsmasq (Debian's dnsmasq-base, installed by util/deps.sh),
# answers A queries for *.zae.test with 127.0.0.1 and NXDOMAIN for
# missing.zae.test, and logs every query; an unknown name makes the
# request unavailable, not a hung worker.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use POSIX ();
use Time::HiRes qw(sleep);

my ($env, $ddb, $nsid, $n, $r, $pid, $dns_log, $dnsmasq);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

($dnsmasq) = grep { -x } map { "$_/dnsmasq" }
                 split(/:/, $ENV{PATH}), '/usr/sbin', '/sbin';
die "dnsmasq not found: util/deps.sh installs dnsmasq-base\n"
    unless $dnsmasq;

chomp($ENV{TEST_NGINX_DNS_PORT} = `$env->{TEST_NGINX_TOP}/util/free-port 1`);
($ENV{TEST_NGINX_DDB_PORT}) = $env->{TEST_NGINX_DDB_ENDPOINT} =~ /:(\d+)/;
$dns_log = "$env->{TEST_NGINX_SERVROOT}-dnsmasq.log";
unlink $dns_log;

# no configuration file, no /etc/hosts, no upstream server: only the two
# names below; in the foreground, stopped by its pid at the end

$pid = fork;
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    exec $dnsmasq, '--keep-in-foreground', '--conf-file=/dev/null',
         "--port=$ENV{TEST_NGINX_DNS_PORT}", '--listen-address=127.0.0.1',
         '--bind-interfaces', '--no-resolv', '--no-hosts', '--no-poll',
         '--user=root', '--pid-file=', '--address=/zae.test/127.0.0.1',
         '--address=/missing.zae.test/', '--log-queries',
         "--log-facility=$dns_log";
    POSIX::_exit(127);
}

END { local $?; if ($pid) { kill 'TERM', $pid; waitpid($pid, 0) } }

sub dns_log {
    open my $fh, '<', $dns_log or return '';
    local $/;
    return <$fh> // '';
}

for (1 .. 100) {
    last if dns_log() =~ /started, version/;
    sleep 0.05;
}

like(dns_log(), qr/started, version/, 'dnsmasq started');

sub queries {
    my ($name) = @_;
    return scalar(() = dns_log() =~ /query\[A\] \Q$name\E from 127\.0\.0\.1/g);
}

# the configuration: DynamoDB at http://HOST:<its port>, through the
# resolver; /t/ limited, with more directives if given

sub dns_conf {
    my ($host, $more) = @_;
    my $conf = <<'EOF';
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=60s ipv6=off;
    resolver_timeout 2s;

    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://HOST:$TEST_NGINX_DDB_PORT
                       timeout=1s max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location /t/ {
            zae_limit entity=$http_x_api_key resource=dns
                      consume=rpm:1 limits=rpm:100/min;
            MORE
            root html;
            try_files /nonexistent =204;
        }
    }
}
EOF

    $conf =~ s/HOST/$host/;
    $conf =~ s/MORE/$more \/\/ ''/e;

    return $conf;
}

$n = nginx(conf => dns_conf('ddb.zae.test'));

$n->start;

is(queries('ddb.zae.test'), 0, 'nothing resolved at start');

for my $i (1 .. 3) {
    $r = http_req('GET /t/', headers => "X-API-Key: dns-1\n");
    is($r->{status}, 204, "through the resolved endpoint: request $i");
}

is($r->{headers}{'x-status'}, 'PASSED', 'PASSED');
ok(queries('ddb.zae.test') >= 1,
   'the endpoint name was resolved at run time');
like(dns_log(), qr/config ddb\.zae\.test is 127\.0\.0\.1/,
     'dnsmasq answered it');

my $b = get_bucket($ddb, $nsid, 'dns-1', 'dns');
is($b->{b_rpm_tc}, 3000, 'the bucket was written through the resolved name');

$n->stop;


# an unknown name: unavailable, in bounded time -------------------------------

$n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-nx",
           conf => dns_conf('missing.zae.test',
                            'zae_limit_on_unavailable block;'));

$n->start;

$r = http_req('GET /t/', headers => "X-API-Key: dns-2\n", timeout => 10);
is($r->{status}, 503, 'unknown host: 503');
is($r->{headers}{'x-status'}, 'UNAVAILABLE_BLOCKED', 'unknown host: blocked');
like($n->error_log, qr/could not be resolved|could not resolve/,
     'the resolver failure is logged');
like(dns_log(), qr/config missing\.zae\.test is NXDOMAIN/,
     'dnsmasq answered NXDOMAIN');

$n->stop;

done_testing();
