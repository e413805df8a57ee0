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

use parent -norequire, 'Test::Zae::Fake';

use Test::Zae;
use Test::Zae::Fake;


sub start {
    my ($class, %args) = @_;
    my ($env, $ddb_port, $self);

    $env = zae_env();
    ($ddb_port) = $env->{TEST_NGINX_DDB_ENDPOINT} =~ /:(\d+)/;

    $self = $class->_spawn('fault', 'fake-fault-proxy.pl', sub {
        $ENV{TEST_NGINX_PROXY_PORT} = $_[0]->port;
        return ('--to', "127.0.0.1:$ddb_port",
                $args{log_credential}
                ? ('--log-credential', $args{log_credential}) : ());
    });

    return $self;
}


sub _initial_mode { 'pass' }


1;
