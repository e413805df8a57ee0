package Test::Zae::FakeSTS;

# util/fake-sts.pl (a FAKE: STS AssumeRoleWithWebIdentity, which the
# tests cannot reach) on a free loopback port:
#
#   my $s = Test::Zae::FakeSTS->start;     # sets TEST_NGINX_STS_PORT
#   $s->mode('ok akid=ASIAX ttl=40');      # see the fake's modes
#   my @r = $s->requests;                  # one line per request
#
# The fake's process group is killed when the object goes away.

use strict;
use warnings;

use parent -norequire, 'Test::Zae::Fake';

use Test::Zae;
use Test::Zae::Fake;


sub start {
    my ($class) = @_;

    return $class->_spawn('sts', 'fake-sts.pl', sub {
        my ($self) = @_;

        $ENV{TEST_NGINX_STS_PORT} = $self->port;
        $self->{log} = "$self->{file}.log";
        unlink $self->{log};

        return ('--log', $self->{log});
    });
}


sub _initial_mode { 'ok' }

sub url { "http://127.0.0.1:$_[0]->{port}" }


# the requests received so far, one line each (see util/fake-sts.pl)

sub requests {
    my ($self) = @_;

    open my $fh, '<', $self->{log} or return ();
    my @l = <$fh>;
    close $fh;
    chomp @l;

    return @l;
}


1;
