# AWS credentials fetched by the module from the ECS container
# credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), through the
# DynamoDB client's own transport, then used to sign the calls to
# DynamoDB Local.  The endpoint is A FAKE written here: the container
# agent exists only inside ECS.  It answers like the agent and records
# each request it gets (request line and Authorization header).

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use IO::Socket::INET;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);

my ($env, $ddb, $nsid, $n, $r, $fake, $pid, $rec_file, $mode_file);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$fake = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                              Listen => 8, ReuseAddr => 1)
    or die "listen: $!\n";
$ENV{TEST_NGINX_ECS_PORT} = $fake->sockport;

$rec_file = "$env->{TEST_NGINX_SERVROOT}-ecs-requests";
$mode_file = "$env->{TEST_NGINX_SERVROOT}-ecs-mode";
unlink $rec_file;

sub set_mode {
    open my $fh, '>', $mode_file or die "$mode_file: $!\n";
    print $fh "$_[0]\n";
    close $fh;
}

set_mode('ok');


# the fake container agent -------------------------------------------------

$pid = fork;
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    my $parent = getppid();

    $SIG{TERM} = $SIG{INT} = 'DEFAULT';

    while (getppid() == $parent) {
        my $rin = '';
        vec($rin, fileno($fake), 1) = 1;
        next unless select(my $rout = $rin, undef, undef, 0.2);

        my $c = $fake->accept or next;
        my ($head, $line, $auth, $mode, $body, $status) = ('');

        while (defined(my $l = <$c>)) {
            $head .= $l;
            last if $l =~ /^\r?\n$/;
        }

        ($line) = $head =~ /^([^\r\n]*)/;
        ($auth) = $head =~ /^Authorization:\s*([^\r\n]*)/mi;

        open my $fh, '>>', $rec_file;
        print $fh "$line | ", $auth // '-', "\n";
        close $fh;

        open $fh, '<', $mode_file;
        $mode = <$fh> // 'ok';
        close $fh;
        chomp $mode;

        if ($mode eq 'ok') {
            $status = '200 OK';
            $body = '{"AccessKeyId":"AKIDFROMECS","SecretAccessKey":'
                    . '"ecs-secret","Token":"ecs-session-token",'
                    . '"Expiration":"'
                    . strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 7200))
                    . '"}';
        } else {
            $status = '500 Internal Server Error';
            $body = '{"Code":"InternalError","Message":"agent down"}';
        }

        print $c "HTTP/1.1 $status\r\nContent-Type: application/json\r\n"
                 . "Content-Length: " . length($body) . "\r\n"
                 . "Connection: close\r\n\r\n$body";
        close $c;
    }

    POSIX::_exit(0);
}

close $fake;

END { local $?; if ($pid) { kill "TERM", $pid; waitpid($pid, 0) } }

sub requests {
    open my $fh, '<', $rec_file or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

sub wait_log {
    my ($n, $re) = @_;
    my $deadline = time + 10;

    while (time < $deadline) {
        return 1 if $n->error_log =~ $re;
        sleep 0.1;
    }

    return 0;
}


# credentials from the fake agent sign the calls -----------------------------

my $conf = <<'EOF';
env AWS_CONTAINER_CREDENTIALS_FULL_URI=http://localhost:$TEST_NGINX_ECS_PORT/v2/credentials/zae;
env AWS_CONTAINER_AUTHORIZATION_TOKEN=ecs-auth-token;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT
                       timeout=1s max_attempts=1;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location /t/ {
            zae_limit entity=$http_x_api_key resource=ecs
                      consume=rpm:1 limits=rpm:100/min;
            zae_limit_on_unavailable block;
            root html;
            try_files /nonexistent =204;
        }
    }
}
EOF

$n = nginx(conf => $conf);
$n->start;

ok(wait_log($n, qr/AWS credentials received/),
   'the credentials were received from the agent');

my @req = requests();
is(scalar @req, 1, 'one request to the agent');
is($req[0], 'GET /v2/credentials/zae HTTP/1.1 | ecs-auth-token',
   'the agent got the path and the authorization token');

for my $i (1 .. 2) {
    $r = http_req('GET /t/', headers => "X-API-Key: ecs-1\n");
    is($r->{status}, 204, "signed with the fetched credentials: $i");
}

is($r->{headers}{'x-status'}, 'PASSED', 'PASSED');

my $b = get_bucket($ddb, $nsid, 'ecs-1', 'ecs');
is($b->{b_rpm_tc}, 2000, 'the bucket was written with them');

unlike($n->error_log, qr/ecs-secret|ecs-session-token/,
       'no secret in the error log');

$n->stop;


# the agent fails: no credentials, requests unavailable, retried later -------

set_mode('fail');
unlink $rec_file;

$n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-fail", conf => $conf);
$n->start;

ok(wait_log($n, qr/AWS credentials/), 'the failure is logged');
like($n->error_log, qr/\[error\].*zae_limit: AWS credentials/,
     'as an error');

$r = http_req('GET /t/', headers => "X-API-Key: ecs-2\n");
is($r->{status}, 503, 'no credentials: 503');
is($r->{headers}{'x-status'}, 'UNAVAILABLE_BLOCKED', 'blocked');
ok(scalar(requests()) >= 1, 'the agent was asked');

$n->stop;

done_testing();
