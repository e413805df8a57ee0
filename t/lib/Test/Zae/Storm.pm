package Test::Zae::Storm;

# The exactness tests' load: 64 forked clients, each sending its share of
# "total" requests to the ports in turn (request k to port k % ports and
# key k % keys); returns the count of each status ("none": no answer).
#
#   my %count = storm('/u/', 500, [$port0, $port1], 'key-1');

use strict;
use warnings;

use Exporter qw(import);
use IO::Handle;
use POSIX ();

use Test::Zae;

our @EXPORT = qw(storm);


sub storm {
    my ($uri, $total, $ports, @keys) = @_;
    my (@pids, %count);
    my $clients = 64;

    pipe(my $rd, my $wr) or die "pipe: $!\n";

    for my $c (0 .. $clients - 1) {
        my $pid = fork;
        die "fork: $!\n" unless defined $pid;

        if ($pid == 0) {
            close $rd;
            $wr->autoflush(1);
            for (my $k = $c; $k < $total; $k += $clients) {
                my $r = http_req("GET $uri", port => $ports->[$k % @$ports],
                                 headers => "X-API-Key: $keys[$k % @keys]\n",
                                 timeout => 30);
                print $wr ($r->{status} // 'none'), "\n";
            }
            POSIX::_exit(0);
        }

        push @pids, $pid;
    }

    close $wr;

    while (my $l = <$rd>) {
        chomp $l;
        $count{$l}++;
    }

    waitpid($_, 0) for @pids;

    return %count;
}


1;
