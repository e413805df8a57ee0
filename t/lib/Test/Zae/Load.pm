package Test::Zae::Load;

# What the load tests (conservation, faults, soak, lag) share: the nginx
# configuration of a limiter in front of an upstream that reports
# X-Tokens-Used, client processes that send requests and report each
# outcome on a pipe, the tally of those outcomes, and a process run in
# the background (a fault cycle, a sampler).
#
#   $n = nginx(conf => tokens_conf(proxy => 1, workers => 2, fail => 1,
#                                  dynamodb => 'timeout=3s',
#                                  location => 'zae_limit_on_unavailable allow;'));
#   my ($rd, @pids) = clients($clients, $total, sub {
#       my ($ci, $count, $wr) = @_;
#       ... report($wr, http_req(...), $used, $key) ...
#   });
#   my $done = tally($rd, \my %count, \my %want_tc, \my %want_n);
#   waitpid($_, 0) for @pids;

use strict;
use warnings;

use Exporter 'import';
use IO::Handle;
use POSIX ();

use Test::Zae::Conf;

our @EXPORT = qw(tokens_conf clients report tally background);

use constant BIG_LIMITS => 'rpm:100000000/min,tpm:1000000000/min';


# tokens_conf(%o): the configuration.  The upstream answers every URI
# with X-Tokens-Used: $arg_used, /v1/fail/ with 502 if o{fail}; the
# limiter's /v1/ charges rpm:1,tpm:500 of gpt-4 for $http_x_api_key and
# reconciles tpm.  o: proxy (DynamoDB through Test::Zae::FaultProxy),
# dynamodb (the other options of zae_limit_dynamodb), workers, limits
# (default: never reached), status (X-Status: $zae_limit_status),
# location (more directives in /v1/), metrics (/metrics)

sub tokens_conf {
    my (%o) = @_;
    my $limits = $o{limits} // BIG_LIMITS;

    return zae_conf(
        secret => 'x', proxy => $o{proxy}, dynamodb => $o{dynamodb},
        main => $o{workers} ? "worker_processes $o{workers};" : undef,
        events => 'worker_connections 1024;',
        upstream => join('',
            "location / {\n",
            "    add_header X-Tokens-Used \$arg_used;\n",
            "    return 200 '{\"object\":\"chat.completion\"}';\n",
            "}\n",
            $o{fail} ? "location /v1/fail/ {\n    return 502;\n}\n" : ''),
        server => join('',
            $o{status} ? "add_header X-Status \$zae_limit_status always;\n"
                       : '',
            "location /v1/ {\n",
            "    zae_limit entity=\$http_x_api_key resource=gpt-4\n",
            "              consume=rpm:1,tpm:500 limits=$limits;\n",
            "    zae_limit_reconcile tpm \$upstream_http_x_tokens_used;\n",
            $o{location} ? "    $o{location}\n" : '',
            "    proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;\n",
            "}\n",
            $o{metrics} ? "location = /metrics {\n    zae_limit_metrics;\n}\n"
                        : ''));
}


# clients(n, total, sub { (ci, count, wr) }): n processes, client ci
# sends its share (count) of the total requests and prints to wr; the
# read end of the pipe and the pids

sub clients {
    my ($n, $total, $client) = @_;
    my @pids;

    pipe(my $rd, my $wr) or die "pipe: $!\n";

    for my $ci (0 .. $n - 1) {
        my $count = int($total / $n) + ($ci < $total % $n ? 1 : 0);
        my $pid = fork;

        die "fork: $!\n" unless defined $pid;

        if ($pid == 0) {
            close $rd;
            $wr->autoflush(1);
            $client->($ci, $count, $wr);
            POSIX::_exit(0);
        }

        push @pids, $pid;
    }

    close $wr;

    return ($rd, @pids);
}


# report(wr, response, used, key): one line "status x-status used key"

sub report {
    my ($wr, $r, $used, $key) = @_;

    print $wr join(' ', $r->{status} // 'none',
                   ($r->{headers} // {})->{'x-status'} // '-',
                   $used, $key), "\n";
}


# tally(rd, count, want_tc, want_n, each): reads the report lines to
# the end; counts the outcomes ("status x-status") in %count and, per
# key, the tokens (%want_tc) and requests (%want_n) of the admitted ones
# (200 PASSED).  each->(status, x-status, used, key, done) is called for
# every line first.  The number of lines

sub tally {
    my ($rd, $count, $want_tc, $want_n, $each) = @_;
    my $done = 0;

    while (my $l = <$rd>) {
        my ($status, $zs, $used, $key) = split ' ', $l;

        $done++;
        $count->{"$status $zs"}++;

        $each->($status, $zs, $used, $key, $done) if $each;

        next unless $zs eq 'PASSED' && $status eq '200';

        $want_tc->{$key} += $used;
        $want_n->{$key}++;
    }

    return $done;
}


# background(sub { ... }, on_term): the code in a process of its own
# (it loops until killed); TERM runs on_term, then ends it.  The pid

sub background {
    my ($code, $on_term) = @_;
    my $pid = fork;

    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        $SIG{TERM} = sub { $on_term->() if $on_term; POSIX::_exit(0) };
        $code->();
        POSIX::_exit(0);
    }

    return $pid;
}


1;
