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

use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);

use Test::Zae;


sub start {
    my ($class) = @_;
    my ($env, $self, $pid);

    $env = zae_env();

    $self = bless {}, $class;

    chomp($self->{port} = `$env->{TEST_NGINX_TOP}/util/free-port 1`);
    $self->{file} = "$env->{TEST_NGINX_SERVROOT}-sts-mode-$self->{port}";
    $self->{log} = "$env->{TEST_NGINX_SERVROOT}-sts-log-$self->{port}";
    $ENV{TEST_NGINX_STS_PORT} = $self->{port};
    unlink $self->{log};

    $self->mode('ok');

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        no warnings qw(exec);
        exec $^X, "$env->{TEST_NGINX_TOP}/util/fake-sts.pl",
             '--listen', $self->{port}, '--mode-file', $self->{file},
             '--log', $self->{log};
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    for (1 .. 250) {
        return $self if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $self->{port});
        sleep 0.02;
    }

    die "fake STS did not come up on port $self->{port}\n";
}


sub port { $_[0]->{port} }

sub url { "http://127.0.0.1:$_[0]->{port}" }


sub mode {
    my ($self, $mode) = @_;

    open my $fh, '>', "$self->{file}.tmp" or die "$self->{file}: $!\n";
    print $fh "$mode\n";
    close $fh;
    rename "$self->{file}.tmp", $self->{file} or die "$self->{file}: $!\n";
}


# the requests received so far, one line each (see util/fake-sts.pl)

sub requests {
    my ($self) = @_;

    open my $fh, '<', $self->{log} or return ();
    my @l = <$fh>;
    close $fh;
    chomp @l;

    return @l;
}


sub DESTROY {
    my ($self) = @_;

    local $?;

    if ($self->{pid}) {
        kill 'KILL', -$self->{pid};
        waitpid($self->{pid}, 0);
    }
}


1;
