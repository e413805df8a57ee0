#!/usr/bin/env perl
# A FAKE: AWS STS AssumeRoleWithWebIdentity on loopback, for the web
# identity credential tests (t/039-web-identity.t, t/admin/090-web-
# identity.t).  Real STS cannot be reached from the tests; this answers
# like it does.  docs/testing.md lists it with the other fakes.
#
#   fake-sts.pl --listen PORT --mode-file FILE --log FILE
#
# Each request is logged as one line to --log:
#   METHOD PATH Action=.. Version=.. RoleArn=.. RoleSessionName=..
#   WebIdentityToken=..
# (the form fields decoded; the token is the test's own fake token).
# The answer follows the mode read from --mode-file when a connection is
# accepted (default "ok"); write it by renaming a new file into place:
#   ok [akid=ID] [secret=S] [token=T] [ttl=SECONDS]
#                  200, AssumeRoleWithWebIdentityResponse with those
#                  credentials, expiring in ttl seconds (default 3600)
#   denied         403, ErrorResponse AccessDenied
#   badtoken       400, ErrorResponse InvalidIdentityToken
#   garbage        200 with a body that is not XML
#   hang           read the request, never answer while the mode stays
# Loopback only.  Stops on SIGTERM/SIGINT and when its parent dies.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h strftime);
use Zae::FakeHTTP qw(read_message read_mode fork_serve);

my ($listen, $mode_file, $log_file);

GetOptions('listen=i' => \$listen, 'mode-file=s' => \$mode_file,
           'log=s' => \$log_file)
    or die "usage: $0 --listen PORT --mode-file FILE --log FILE\n";

die "usage: $0 --listen PORT --mode-file FILE --log FILE\n"
    unless $listen && $mode_file && $log_file;

my $parent = getppid();

$SIG{CHLD} = sub { 1 while waitpid(-1, WNOHANG) > 0 };
$SIG{TERM} = $SIG{INT} = sub { exit 0 };


sub mode { read_mode($mode_file, 'ok') }


sub decode {
    my ($v) = @_;
    $v =~ tr/+/ /;
    $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $v;
}


sub log_request {
    my ($req) = @_;
    my ($head, $body) = split /\r\n\r\n/, $req, 2;
    my ($line) = $head =~ /^(\S+ \S+)/;
    my %f = map { my ($k, $v) = split /=/, $_, 2; ($k => decode($v // '')) }
            split /&/, $body // '';

    open my $fh, '>>', $log_file or return;
    print $fh join(' ', $line // '-',
                   map { "$_=" . ($f{$_} // '') }
                   qw(Action Version RoleArn RoleSessionName
                      WebIdentityToken)), "\n";
    close $fh;
}


sub answer {
    my ($c, $status, $body) = @_;

    print $c "HTTP/1.1 $status\r\nContent-Type: text/xml\r\n"
             . "x-amzn-RequestId: 00000000-fake-sts\r\n"
             . "Content-Length: " . length($body) . "\r\n"
             . "Connection: close\r\n\r\n$body";
}


sub error_doc {
    my ($code, $message) = @_;

    return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
           . "2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n"
           . "    <Code>$code</Code>\n    <Message>$message</Message>\n"
           . "  </Error>\n  <RequestId>fake</RequestId>\n</ErrorResponse>\n";
}


sub serve {
    my ($c, $mode) = @_;
    my $req = read_message($c, '');

    # a connection that sent nothing (a port probe) is not a request
    return unless length $req;

    log_request($req);

    if ($mode eq 'hang') {
        sleep 1 while getppid() == $parent && mode() eq 'hang';
        return;
    }

    if ($mode eq 'denied') {
        answer($c, '403 Forbidden',
               error_doc('AccessDenied', 'Not authorized to perform '
                         . 'sts:AssumeRoleWithWebIdentity'));
        return;
    }

    if ($mode eq 'badtoken') {
        answer($c, '400 Bad Request',
               error_doc('InvalidIdentityToken',
                         'Incorrect token audience'));
        return;
    }

    if ($mode eq 'garbage') {
        answer($c, '200 OK', "<html>not STS\x00\xff<Credentials>");
        return;
    }

    my %o = (akid => 'ASIAFAKESTS', secret => 'fake-sts-secret',
             token => 'fake-sts-session-token', ttl => 3600);

    for (split ' ', $mode) {
        my ($k, $v) = split /=/, $_, 2;
        $o{$k} = $v if defined $v;
    }

    my $exp = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $o{ttl}));

    answer($c, '200 OK', <<"EOF");
<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>AROAFAKE:zae</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/fake/zae</Arn>
    </AssumedRoleUser>
    <Provider>oidc.eks.fake</Provider>
    <Credentials>
      <AccessKeyId>$o{akid}</AccessKeyId>
      <SecretAccessKey>$o{secret}</SecretAccessKey>
      <SessionToken>$o{token}</SessionToken>
      <Expiration>$exp</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>system:serviceaccount:fake</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>00000000-fake-sts</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
EOF
}


my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $listen, Listen => 64,
                                   ReuseAddr => 1, Proto => 'tcp')
    or die "listen 127.0.0.1:$listen: $!\n";

while (getppid() == $parent) {
    next unless IO::Select->new($server)->can_read(0.1);

    my $c = $server->accept or next;
    fork_serve($c, $server, \&serve, mode());
}
