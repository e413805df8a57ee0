package Zae::FakeHTTP;

# What the fakes of util/ (fake-fault-proxy.pl, fake-sts.pl) share:
# reading one whole HTTP/1.1 message (head, then a body of
# Content-Length bytes) from a socket, reading the mode file, serving
# an accepted connection in a child process.

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(read_message read_mode fork_serve);


# read_message($sock, $buf): $buf (what was read already, may be '')
# completed to one whole message; less when the peer closes first

sub read_message {
    my ($sock, $buf) = @_;
    my $len;

    $buf //= '';

    while (1) {
        if (!defined $len && $buf =~ /\r\n\r\n/) {
            my ($head) = split /\r\n\r\n/, $buf, 2;
            my ($cl) = $head =~ /^content-length:\s*(\d+)/mi;
            $len = length($head) + 4 + ($cl // 0);
        }

        return $buf if defined $len && length $buf >= $len;

        my $n = sysread($sock, my $chunk, 65536);
        return $buf unless $n;
        $buf .= $chunk;
    }
}



# read_mode($file, $default): the first line of the mode file, white
# space trimmed; $default when the file or the line is missing or empty

sub read_mode {
    my ($file, $default) = @_;

    open my $fh, '<', $file or return $default;
    my $m = <$fh> // $default;
    close $fh;
    $m =~ s/^\s+|\s+$//g;
    return length $m ? $m : $default;
}


# fork_serve($c, $server, $serve, @args): $serve->($c, @args) in a child
# process (the listening socket closed there); the parent closes $c.  A
# failed fork closes $c unanswered

sub fork_serve {
    my ($c, $server, $serve, @args) = @_;
    my $pid = fork;

    if (!defined $pid) {
        close $c;
        return;
    }

    if ($pid == 0) {
        close $server;
        $serve->($c, @args);
        exit 0;
    }

    close $c;
}


1;
