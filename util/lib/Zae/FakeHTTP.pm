package Zae::FakeHTTP;

# What the fakes of util/ (fake-fault-proxy.pl, fake-sts.pl) share:
# reading one whole HTTP/1.1 message (head, then a body of
# Content-Length bytes) from a socket.

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(read_message);


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


1;
