package Test::Zae::Fake;

# What the fakes of util/ started by the tests share (Test::Zae::
# FaultProxy, Test::Zae::FakeSTS): a free loopback port, the process in
# its own group, a mode file renamed into place, the group killed when
# the object goes away.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);

use Test::Zae;


# $class->_spawn(name, script, sub { port => args }): the object, once
# the fake accepts connections

sub _spawn {
    my ($class, $name, $script, $args) = @_;
    my ($env, $self, $pid);

    $env = zae_env();

    $self = bless {}, $class;

    chomp($self->{port} = `$env->{TEST_NGINX_TOP}/util/free-port 1`);
    $self->{file} = "$env->{TEST_NGINX_SERVROOT}-$name-mode-$self->{port}";

    $self->mode($self->_initial_mode);

    my @args = $args->($self);

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        no warnings qw(exec);
        exec $^X, "$env->{TEST_NGINX_TOP}/util/$script",
             '--listen', $self->{port}, '--mode-file', $self->{file}, @args;
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    for (1 .. 250) {
        return $self if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $self->{port});
        sleep 0.02;
    }

    die "$script did not come up on port $self->{port}\n";
}


sub port { $_[0]->{port} }


sub mode {
    my ($self, $mode) = @_;

    open my $fh, '>', "$self->{file}.tmp" or die "$self->{file}: $!\n";
    print $fh "$mode\n";
    close $fh;
    rename "$self->{file}.tmp", $self->{file} or die "$self->{file}: $!\n";
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
