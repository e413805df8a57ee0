#!/usr/bin/perl
# usage: util/demo-upstream.pl --port PORT [--host 127.0.0.1]
#
# A small stand-in for an LLM API, for `make run` and the tests.  Any
# POST answers an OpenAI-style chat completion:
#
#   {"id":"chatcmpl-demo-1","object":"chat.completion","created":...,
#    "model":"...","choices":[...],"usage":{"prompt_tokens":P,
#    "completion_tokens":C,"total_tokens":P+C}}
#
# with the header "X-Tokens-Used: P+C".  P is the request body length / 4
# (at least 1), C is the request's "max_tokens" (default 16).  Test knobs,
# as request headers: "X-Demo-Tokens: N" forces completion_tokens = N,
# "X-Demo-Status: S" answers status S, "X-Demo-Delay: MS" sleeps first.
# GET /health answers "ok".  One forked child per connection, every
# response closes the connection.

use strict;
use warnings;

use Getopt::Long;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep);

my $port;
my $host = '127.0.0.1';

GetOptions('port=i' => \$port, 'host=s' => \$host)
    or die "usage: demo-upstream.pl --port PORT [--host ADDR]\n";
die "usage: demo-upstream.pl --port PORT [--host ADDR]\n" unless $port;

my $srv = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port,
                                Proto => 'tcp', Listen => 128,
                                ReuseAddr => 1)
    or die "demo-upstream: listen $host:$port: $!\n";

$SIG{CHLD} = 'IGNORE';
$SIG{TERM} = $SIG{INT} = sub { exit 0 };

my $json = JSON::PP->new->utf8->canonical;
my $seq = 0;

print "demo-upstream: listening on $host:$port\n";

while (1) {
    my $c = $srv->accept or next;
    $seq++;

    my $pid = fork;
    if (!defined $pid) {
        close $c;
        next;
    }

    if ($pid == 0) {
        close $srv;
        $SIG{ALRM} = sub { POSIX::_exit(1) };
        alarm 30;
        eval { serve($c) };
        close $c;
        POSIX::_exit(0);
    }

    close $c;
}


sub read_request {
    my ($c) = @_;
    my ($buf, $head, $body, %h, $line, $len);

    $buf = '';

    while ($buf !~ /\r?\n\r?\n/) {
        my $n = sysread($c, $buf, 65536, length $buf);
        return undef unless $n;
        return undef if length $buf > 1 << 20;
    }

    ($head, $body) = split /\r?\n\r?\n/, $buf, 2;
    ($line, my @lines) = split /\r?\n/, $head;

    for (@lines) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*?)\s*$/;
    }

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while (1) {
            if ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
                my $size = hex $1;
                if ($size == 0) {
                    last;
                }
                while (length $body < $size + 2) {
                    sysread($c, $body, 65536, length $body) or last;
                }
                $out .= substr($body, 0, $size);
                substr($body, 0, $size + 2, '');
            } else {
                sysread($c, $body, 65536, length $body) or last;
                last if length $body > 16 << 20;
            }
        }
        $body = $out;

    } else {
        $len = $h{'content-length'} // 0;
        $len = 16 << 20 if $len > 16 << 20;
        while (length $body < $len) {
            sysread($c, $body, 65536, length $body) or last;
        }
    }

    return { line => $line, headers => \%h, body => $body };
}


sub respond {
    my ($c, $status, $hdrs, $body) = @_;
    my $out;

    $out = "HTTP/1.1 $status " . ($status == 200 ? 'OK' : 'Demo') . "\r\n";
    $out .= "$_->[0]: $_->[1]\r\n" for @$hdrs;
    $out .= 'Content-Length: ' . length($body) . "\r\n"
            . "Connection: close\r\n\r\n" . $body;

    syswrite($c, $out);
}


sub serve {
    my ($c) = @_;
    my ($req, $h, $data, $prompt, $completion, $total, $model, $text);

    $req = read_request($c) or return;
    $h = $req->{headers};

    sleep $1 / 1000 if ($h->{'x-demo-delay'} // '') =~ /^(\d{1,6})$/;

    if ($req->{line} =~ m{^GET /health}) {
        respond($c, 200, [['Content-Type', 'text/plain']], "ok\n");
        return;
    }

    if (($h->{'x-demo-status'} // '') =~ /^([1-5]\d\d)$/ && $1 != 200) {
        respond($c, $1, [['Content-Type', 'application/json']],
                $json->encode({ error => { message => "demo status $1",
                                           type => 'demo_error' } }) . "\n");
        return;
    }

    $data = eval { $json->decode($req->{body}) };
    $data = {} unless ref $data eq 'HASH';

    $prompt = int(length($req->{body}) / 4);
    $prompt = 1 if $prompt < 1;

    $completion = 16;
    if (($data->{max_tokens} // '') =~ /^(\d{1,9})$/) {
        $completion = $1;
    }
    if (($h->{'x-demo-tokens'} // '') =~ /^(\d{1,9})$/) {
        $completion = $1;
    }

    $total = $prompt + $completion;
    $model = ref $data->{model} ? 'demo' : $data->{model} // 'demo';

    $text = 'This is a demo answer.';
    if (ref $data->{messages} eq 'ARRAY' && @{ $data->{messages} }) {
        my $last = $data->{messages}[-1];
        if (ref $last eq 'HASH' && defined $last->{content}
            && !ref $last->{content})
        {
            $text = 'You said: ' . substr($last->{content}, 0, 200);
        }
    }

    respond($c, 200, [['Content-Type', 'application/json'],
                      ['X-Tokens-Used', $total]],
            $json->encode({
                id      => "chatcmpl-demo-$$-$seq",
                object  => 'chat.completion',
                created => time,
                model   => "$model",
                choices => [{
                    index         => 0,
                    message       => { role => 'assistant',
                                       content => $text },
                    finish_reason => 'stop',
                }],
                usage   => {
                    prompt_tokens     => $prompt,
                    completion_tokens => $completion + 0,
                    total_tokens      => $total,
                },
            }) . "\n");
}
