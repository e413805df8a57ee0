#!/usr/bin/perl

# The streaming benchmark of zae_limit_llm (docs/benchmarks.md): an
# upstream streams 200 chat chunks 10 ms apart; the time to the first
# byte and the gaps between chunks as the client sees them through
#
#   plain   proxy_pass (proxy_buffering off), no module directive
#   llm     zae_limit_llm on (body read, include_usage added, the body
#           filter reading usage and dropping the usage chunk), no limit
#   limit   the same with zae_limit (one DynamoDB write before the call)
#           and zae_limit_reconcile tpm $zae_llm_total_tokens
#
# in interleaved rounds, against the demo's fake upstream
# (util/fake-llm-upstream.js, X-Demo-* headers).  Figures, not
# assertions.
#
#   perl t/bench/stream.pl [--rounds N] [--chunks N] [--delay MS]

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Getopt::Long;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my ($rounds, $chunks, $delay) = (10, 200, 10);

GetOptions('rounds=i' => \$rounds, 'chunks=i' => \$chunks,
           'delay=i' => \$delay) or die "usage\n";

my $env = zae_env();

demo_upstream();

my $n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
worker_processes 1;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=2s;
    access_log off;
    error_log logs/error.log warn;
    proxy_http_version 1.1;
    proxy_buffering off;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /plain/ {
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /llm/ {
            zae_limit_llm on;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }

        location /limit/ {
            zae_limit_llm on;
            zae_limit entity=$http_x_api_key resource=$zae_llm_model
                      consume=rpm:1,tpm:$zae_llm_estimate
                      limits=rpm:1000000/min,tpm:1000000000/min;
            zae_limit_reconcile tpm $zae_llm_total_tokens;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/;
        }
    }
}
EOF
$n->start;

my $body = '{"model":"gpt-4o","stream":true,"messages":[{"role":"user",'
           . '"content":"Count to two hundred, one number a line."}]}';

# one streamed request: (time to the first body byte, the gaps between
# the arrivals of consecutive events), seconds

sub one {
    my ($prefix) = @_;
    my ($s, $t0, $buf, $head, $first, @arrivals, $events, $done);

    $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                               PeerPort => $env->{TEST_NGINX_SERVER_PORT})
        or die "connect: $!";
    $s->setsockopt(6, 1, 1);   # TCP_NODELAY

    $t0 = time;
    print $s "POST /$prefix/v1/chat/completions HTTP/1.1\r\n"
             . "Host: localhost\r\nX-API-Key: bench\r\n"
             . "X-Demo-Stream-Chunks: $chunks\r\n"
             . "X-Demo-Chunk-Delay-Ms: $delay\r\n"
             . "X-Demo-Usage: 20,200\r\n"
             . "Content-Type: application/json\r\n"
             . 'Content-Length: ' . length($body) . "\r\nConnection: close"
             . "\r\n\r\n$body";

    $buf = '';
    $events = 0;

    while (1) {
        my $got = sysread($s, my $chunk, 65536);
        last unless $got;
        my $now = time;
        $buf .= $chunk;

        if (!defined $head) {
            next unless $buf =~ /\r\n\r\n/;
            $head = 1;
            $buf =~ s/^.*?\r\n\r\n//s;
            next unless length $buf;
        }

        $first //= $now - $t0;

        # every event that completed in this read arrived now
        my $count = () = $buf =~ /\n\n/g;
        push @arrivals, ($now) x ($count - $events) if $count > $events;
        $events = $count;
    }

    close $s;

    my @gaps = map { $arrivals[$_] - $arrivals[$_ - 1] } 1 .. $#arrivals;

    return ($first, \@gaps, scalar @arrivals);
}

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p / 100 * $#v + 0.5)];
}

my %r;

one($_) for qw(plain llm limit);    # warm-up: connections, DynamoDB

for my $i (1 .. $rounds) {
    for my $m ($i % 2 ? qw(plain llm limit) : qw(limit llm plain)) {
        my ($ttfb, $gaps, $events) = one($m);
        push @{ $r{$m}{ttfb} }, $ttfb;
        push @{ $r{$m}{gaps} }, @$gaps;
        push @{ $r{$m}{events} }, $events;
    }
}

printf "# %d rounds, %d chunks %d ms apart, nginx 1 worker\n",
       $rounds, $chunks, $delay;
printf "%-6s %10s %10s %10s %10s %10s %8s\n", 'route', 'ttfb p50',
       'ttfb max', 'gap p50', 'gap p99', 'gap max', 'events';

for my $m (qw(plain llm limit)) {
    printf "%-6s %8.2fms %8.2fms %8.2fms %8.2fms %8.2fms %8s\n", $m,
           1000 * pct(50, @{ $r{$m}{ttfb} }),
           1000 * pct(100, @{ $r{$m}{ttfb} }),
           1000 * pct(50, @{ $r{$m}{gaps} }),
           1000 * pct(99, @{ $r{$m}{gaps} }),
           1000 * pct(100, @{ $r{$m}{gaps} }),
           join('/', sort { $a <=> $b } keys %{{ map { $_ => 1 }
                                                @{ $r{$m}{events} } }});
}

$n->stop;
done_testing();
