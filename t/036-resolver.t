# Host names of the DynamoDB endpoint go through nginx's resolver (the
# http block's "resolver"), at run time and without blocking: a small
# DNS responder written here answers A queries for *.zae.test with
# 127.0.0.1 and counts the queries; an unknown name makes the request
# unavailable, not a hung worker.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);

my ($env, $ddb, $nsid, $n, $r, $dns, $pid, $count_file);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$dns = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                             Proto => 'udp')
    or die "udp: $!\n";
$ENV{TEST_NGINX_DNS_PORT} = $dns->sockport;

($ENV{TEST_NGINX_DDB_PORT}) = $env->{TEST_NGINX_DDB_ENDPOINT} =~ /:(\d+)/;
$count_file = "$env->{TEST_NGINX_SERVROOT}-dns-queries";


# the DNS responder: A records for *.zae.test, NXDOMAIN for the rest

sub dns_answer {
    my ($q) = @_;
    my ($id, $flags, $qd, $off, @labels, $name, $qtype, $qclass, $question);

    return undef if length $q < 12;

    ($id, $flags, $qd) = unpack 'n n n', $q;
    $off = 12;

    while ($off < length $q) {
        my $len = ord substr($q, $off, 1);
        $off++;
        last if $len == 0;
        push @labels, substr($q, $off, $len);
        $off += $len;
    }

    ($qtype, $qclass) = unpack 'n n', substr($q, $off, 4);
    $question = substr($q, 12, $off + 4 - 12);
    $name = lc join '.', @labels;

    if ($name =~ /\.zae\.test$/ && $name ne 'missing.zae.test') {
        my $an = $qtype == 1 ? 1 : 0;
        my $resp = pack('n n n n n n', $id, 0x8180, 1, $an, 0, 0) . $question;
        $resp .= pack('n n n N n', 0xc00c, 1, 1, 60, 4) . pack('C4', 127, 0, 0, 1)
            if $an;
        return $resp;
    }

    return pack('n n n n n n', $id, 0x8183, 1, 0, 0, 0) . $question;
}

$pid = fork;
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    my $parent = getppid();

    # not the harness's handlers: they clean up the parent's test
    $SIG{TERM} = $SIG{INT} = 'DEFAULT';
    my $queries = 0;

    while (getppid() == $parent) {
        my $rin = '';
        vec($rin, fileno($dns), 1) = 1;
        next unless select(my $rout = $rin, undef, undef, 0.2);

        my $from = $dns->recv(my $q, 512) or next;
        my $a = dns_answer($q) or next;
        $dns->send($a, 0, $from);

        $queries++;
        open my $fh, '>', $count_file;
        print $fh "$queries\n";
        close $fh;
    }

    POSIX::_exit(0);
}

END { local $?; if ($pid) { kill "TERM", $pid; waitpid($pid, 0) } }

sub queries {
    open my $fh, '<', $count_file or return 0;
    my $c = <$fh> // 0;
    chomp $c;
    return $c;
}

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=60s ipv6=off;
    resolver_timeout 2s;

    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://ddb.zae.test:$TEST_NGINX_DDB_PORT
                       timeout=1s max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location /t/ {
            zae_limit entity=$http_x_api_key resource=dns
                      consume=rpm:1 limits=rpm:100/min;
            root html;
            try_files /nonexistent =204;
        }
    }
}
EOF

$n->start;

is(queries(), 0, 'nothing resolved at start');

for my $i (1 .. 3) {
    $r = http_req('GET /t/', headers => "X-API-Key: dns-1\n");
    is($r->{status}, 204, "through the resolved endpoint: request $i");
}

is($r->{headers}{'x-status'}, 'PASSED', 'PASSED');
ok(queries() >= 1, 'the endpoint name was resolved at run time');

my $b = get_bucket($ddb, $nsid, 'dns-1', 'dns');
is($b->{b_rpm_tc}, 3000, 'the bucket was written through the resolved name');

$n->stop;


# an unknown name: unavailable, in bounded time -------------------------------

$n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-nx", conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT valid=60s ipv6=off;
    resolver_timeout 2s;

    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=http://missing.zae.test:$TEST_NGINX_DDB_PORT
                       timeout=1s max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location /t/ {
            zae_limit entity=$http_x_api_key resource=dns
                      consume=rpm:1 limits=rpm:100/min;
            zae_limit_on_unavailable block;
            root html;
            try_files /nonexistent =204;
        }
    }
}
EOF

$n->start;

$r = http_req('GET /t/', headers => "X-API-Key: dns-2\n", timeout => 10);
is($r->{status}, 503, 'unknown host: 503');
is($r->{headers}{'x-status'}, 'UNAVAILABLE_BLOCKED', 'unknown host: blocked');
like($n->error_log, qr/could not be resolved|could not resolve/,
     'the resolver failure is logged');

$n->stop;

done_testing();
