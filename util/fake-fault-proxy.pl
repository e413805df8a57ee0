#!/usr/bin/env perl
# A FAKE: a fault-injecting TCP proxy for the reliability tests, placed
# between nginx and DynamoDB Local.  Nothing real can misbehave on
# demand, so this one does; docs/testing.md lists its modes.
#
#   fake-fault-proxy.pl --listen PORT --to HOST:PORT --mode-file FILE
#                       [--log-credential FILE]
#
# --log-credential FILE: for each request relayed, the access key id of
# its SigV4 Authorization header (Credential=AKID/...) is appended to
# FILE, one a line (the key id only: never the signature or a token).
#
# The mode is read from FILE when a connection is accepted (default
# "pass"); write FILE by renaming a new one into place:
#   pass           forward both ways
#   refuse         close the listening socket until the mode changes
#   delay=MS       forward, but hold each response MS milliseconds
#   delay=MS@TEXT  the same, only for requests that contain TEXT
#   hang           read the request, never answer (a paused backend)
#   reset          accept and reset the connection at once
#   http500        answer 500 InternalServerError (JSON, like DynamoDB)
#   throttle       answer 400 ThrottlingException
#   garbage        answer 200 with a body that is not JSON
#   truncate       answer 200 with a Content-Length longer than the body
#   badcrc         forward, but rewrite x-amz-crc32 to a wrong value
#   cutoff=N       forward the request, then only the first N bytes of
#                  the response, then reset the connection (a backend
#                  that dies mid-response)
#   close          read the request, close without an answer
#   lose=TEXT      forward every request; when a request contains TEXT,
#                  DynamoDB's answer is read and dropped and the
#                  connection closed: a write applied whose answer is
#                  lost (one request per connection, keepalive=0)
# Loopback only.  Stops on SIGTERM/SIGINT and when its parent dies.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);
use Zae::FakeHTTP qw(read_message read_mode fork_serve);

my ($listen, $to, $mode_file, $cred_log);

GetOptions('listen=i' => \$listen, 'to=s' => \$to,
           'mode-file=s' => \$mode_file, 'log-credential=s' => \$cred_log)
    or die "usage: $0 --listen PORT --to HOST:PORT --mode-file FILE\n";

die "usage: $0 --listen PORT --to HOST:PORT --mode-file FILE\n"
    unless $listen && $to && $mode_file;

my ($to_host, $to_port) = split /:/, $to;
die "--to must be 127.0.0.1:PORT\n" unless $to_host eq '127.0.0.1';

my $parent = getppid();
my $server;

$SIG{CHLD} = sub { 1 while waitpid(-1, WNOHANG) > 0 };
$SIG{TERM} = $SIG{INT} = sub { exit 0 };


sub mode {
    my $m = read_mode($mode_file, 'pass');

    $m =~ s/\s+//g;
    return $m;
}


sub open_server {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $listen, Listen => 128,
                                  ReuseAddr => 1, Proto => 'tcp');

    die "listen 127.0.0.1:$listen: $!\n" unless $s;

    return $s;
}


sub read_request { read_message($_[0], '') }


sub read_answer { read_message($_[0], $_[1]) }


sub answer {
    my ($c, $status, $reason, $body, $length) = @_;

    $length //= length $body;

    print $c "HTTP/1.1 $status $reason\r\n"
             . "Content-Type: application/x-amz-json-1.0\r\n"
             . "Content-Length: $length\r\n"
             . "Connection: close\r\n\r\n$body";
}


sub reset_close {
    my ($c) = @_;

    setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $c;
}


sub log_credential {
    my ($buf) = @_;
    my @ids = $buf =~ /^authorization:[^\r\n]*Credential=([^\/\s,]+)\//mgi;

    return unless @ids;

    open my $fh, '>>', $cred_log or return;
    print $fh "$_\n" for @ids;
    close $fh;
}


sub relay {
    my ($c, $mode) = @_;
    my ($u, $sel, $delay, $only, $cutoff, $lose, $req);

    $u = IO::Socket::INET->new(PeerAddr => $to_host, PeerPort => $to_port,
                               Proto => 'tcp', Timeout => 5)
        or return;

    ($delay, $only) = $mode =~ /^delay=(\d+)(?:@(.+))?$/;
    ($cutoff) = $mode =~ /^cutoff=(\d+)$/;
    ($lose) = $mode =~ /^lose=(.+)$/;
    $req = '';
    $sel = IO::Select->new($c, $u);

    while (my @ready = $sel->can_read(30)) {
        for my $s (@ready) {
            my $n = sysread($s, my $buf, 65536);
            return unless $n;

            if ($s == $u) {
                if (defined $lose && index($req, $lose) >= 0) {
                    close $c;
                    return;
                }

                if ($delay && defined $only && index($req, $only) >= 0) {

                    # the whole answer first, and DynamoDB's connection
                    # closed: a held answer must not hold a thread of
                    # DynamoDB Local (that slowed every other request)

                    $buf = read_answer($u, $buf);
                    close $u;
                    sleep($delay / 1000);
                    syswrite($c, $buf);
                    return;
                }

                sleep($delay / 1000) if $delay && !defined $only;
                $buf =~ s/^(x-amz-crc32:\s*)\d+/${1}12345/mi
                    if $mode eq 'badcrc';

                if (defined $cutoff && length $buf >= $cutoff) {
                    syswrite($c, $buf, $cutoff) if $cutoff;
                    reset_close($c);
                    return;
                }

                $cutoff -= length $buf if defined $cutoff;
                syswrite($c, $buf);

            } else {
                $req .= $buf if defined $lose || defined $only;
                log_credential($buf) if defined $cred_log;
                syswrite($u, $buf);
            }
        }
    }
}


sub serve {
    my ($c, $mode) = @_;

    if ($mode eq 'reset') {
        reset_close($c);
        return;
    }

    if ($mode eq 'close') {
        read_request($c);
        close $c;
        return;
    }

    if ($mode eq 'hang') {
        read_request($c);
        sleep 1 while getppid() == $parent && mode() eq 'hang';
        return;
    }

    if ($mode eq 'http500') {
        read_request($c);
        answer($c, 500, 'Internal Server Error',
               '{"__type":"com.amazonaws.dynamodb.v20120810#'
               . 'InternalServerError","message":"injected"}');
        return;
    }

    if ($mode eq 'throttle') {
        read_request($c);
        answer($c, 400, 'Bad Request',
               '{"__type":"com.amazonaws.dynamodb.v20120810#'
               . 'ThrottlingException","message":"injected throttling"}');
        return;
    }

    if ($mode eq 'garbage') {
        read_request($c);
        answer($c, 200, 'OK', "<html>not json at all\x00\xff</html>");
        return;
    }

    if ($mode eq 'truncate') {
        read_request($c);
        answer($c, 200, 'OK', '{"Attributes":{"PK"', 500);
        return;
    }

    relay($c, $mode);
}


$server = open_server();
my $closed = 0;

while (getppid() == $parent) {
    my $mode = mode();

    if ($mode eq 'refuse') {
        if (!$closed) {
            close $server;
            $closed = 1;
        }
        sleep 0.05;
        next;
    }

    if ($closed) {
        $server = open_server();
        $closed = 0;
    }

    my $sel = IO::Select->new($server);
    next unless $sel->can_read(0.1);

    my $c = $server->accept or next;

    # the mode when the connection is taken, not when the wait began: a
    # change is in force for every connection accepted after it

    $mode = mode();

    if ($mode eq 'refuse') {
        close $c;
        next;
    }

    fork_serve($c, $server, \&serve, $mode);
}
