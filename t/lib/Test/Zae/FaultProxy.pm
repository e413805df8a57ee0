package Test::Zae::FaultProxy;

# util/fake-fault-proxy.pl (a FAKE: the only way to make DynamoDB
# misbehave on demand) in front of the test's DynamoDB Local:
#
#   my $p = Test::Zae::FaultProxy->start;   # sets TEST_NGINX_PROXY_PORT
#   (start(log_credential => FILE): the access key id of each request
#   relayed is appended to FILE)
#   $p->mode('lose=<>');                    # see the proxy's modes
#   ... endpoint=http://127.0.0.1:$TEST_NGINX_PROXY_PORT ...
#
# The proxy's process group is killed when the object goes away.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);

use Test::Zae;


sub start {
    my ($class, %args) = @_;
    my ($env, $self, $ddb_port, $pid);

    $env = zae_env();

    $self = bless {}, $class;

    chomp($self->{port} = `$env->{TEST_NGINX_TOP}/util/free-port 1`);
    ($ddb_port) = $env->{TEST_NGINX_DDB_ENDPOINT} =~ /:(\d+)/;
    $self->{file} = "$env->{TEST_NGINX_SERVROOT}-fault-mode-$self->{port}";
    $ENV{TEST_NGINX_PROXY_PORT} = $self->{port};

    $self->mode('pass');

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        no warnings qw(exec);
        exec $^X, "$env->{TEST_NGINX_TOP}/util/fake-fault-proxy.pl",
             '--listen', $self->{port}, '--to', "127.0.0.1:$ddb_port",
             '--mode-file', $self->{file},
             $args{log_credential}
             ? ('--log-credential', $args{log_credential}) : ();
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    for (1 .. 250) {
        return $self if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $self->{port});
        sleep 0.02;
    }

    die "fake fault proxy did not come up on port $self->{port}\n";
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
