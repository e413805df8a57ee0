package Test::Zae;

# The zae-limit integration test harness: Test::Nginx style data-driven
# blocks on the stock nginx with our module, one DynamoDB Local table per
# test file.  Perl core modules only.  docs/testing.md is the manual.
#
#   use lib 't/lib';
#   use Test::Zae;
#   run_tests();
#   __DATA__
#   === TEST 1: hello
#   --- config
#   location = /t { return 200 "ok\n"; }
#   --- request
#   GET /t
#   --- response_body
#   ok
#
# Plain-Perl mode: zae_env() sets the environment up (DynamoDB Local,
# table, namespace, ports, prefix), ddb() gives a Test::Zae::DDB handle,
# nginx(conf => ...) a Test::Zae::Nginx instance; call done_testing()
# yourself.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Test::More ();

use Test::Zae::DDB qw(S N BOOL NUL L M SS plain typed);
use Test::Zae::Nginx;

our @EXPORT = qw(run_tests zae_env ddb nginx demo_upstream clients_dir
                 http_req zae_metrics wait_for wait_drained workers
                 log_level blocks S N BOOL NUL L M SS plain typed);

my $top = abs_path(dirname(__FILE__) . '/../../..');

my (%env_done, $ddb, $own_ddb_dir, $prefix, @daemons, @nginxes);
my ($workers, $log_level) = (1, 'debug');

my %known = map { $_ => 1 } qw(
    config http_config main_config post_main_config request raw_request
    more_headers error_code error_code_like response_body
    response_body_like response_body_unlike response_headers
    response_headers_like error_log no_error_log wait must_die ONLY SKIP
    timeout ddb_setup ddb_check log_level user_files
);


sub import {
    my $caller = caller;

    eval "package $caller; use Test::More; 1" or die $@;

    no strict 'refs';
    for my $f (@EXPORT) {
        *{"${caller}::$f"} = \&{"Test::Zae::$f"};
    }
}


sub workers { $workers = $_[0] }


sub log_level { $log_level = $_[0] }


sub _file_name {
    my $n = $0;

    $n = abs_path($n) // $n;
    $n =~ s{^\Q$top\E/}{};
    $n =~ s{^t/}{};
    $n =~ s{\.t$}{};
    $n =~ s{[^A-Za-z0-9]+}{-}g;

    return $n;
}


sub _free_ports {
    my ($n) = @_;
    my @p = `$top/util/free-port $n`;

    chomp @p;
    die "free-port failed\n" unless @p == $n;

    return @p;
}


# sets up everything a test file uses; idempotent.  Returns a hash ref
# of the TEST_NGINX_* values.

sub zae_env {
    my ($name, $endpoint, $table, $nsid);

    return \%env_done if %env_done;

    $name = _file_name();
    # under make test one folder per run; alone, one per process, as
    # several people may run the same file in this tree at once
    $prefix = $ENV{TEST_ZAE_SERVROOT_BASE}
              ? "$ENV{TEST_ZAE_SERVROOT_BASE}/$name"
              : "$top/build/t/servroot/$name.$$";

    remove_tree($prefix);
    make_path($prefix);

    $SIG{INT} = $SIG{TERM} = sub {
        Test::More::diag("caught signal, cleaning up");
        _cleanup();
        exit 1;
    };

    $endpoint = $ENV{TEST_NGINX_DDB_ENDPOINT};

    if (!$endpoint) {
        $own_ddb_dir = "$prefix/ddb";
        $endpoint = `$top/util/ddb-local.sh start $own_ddb_dir`;
        chomp $endpoint;
        if ($? != 0 || !$endpoint) {
            undef $own_ddb_dir;
            die "could not start DynamoDB Local\n";
        }
    }

    my ($port) = $endpoint =~ /:(\d+)\/?$/;

    $table = substr("zt-$name", 0, 40) . "-$$";
    $table =~ s/^[^A-Za-z]/z/;

    $ddb = Test::Zae::DDB->new(endpoint => $endpoint, table => $table);
    $nsid = $ddb->create_zae_table();

    my ($server_port, $upstream_port) = _free_ports(2);

    %env_done = (
        TEST_NGINX_SERVER_PORT   => $server_port,
        TEST_NGINX_UPSTREAM_PORT => $upstream_port,
        TEST_NGINX_DDB_ENDPOINT  => $endpoint,
        TEST_NGINX_DDB_PORT      => $port,
        TEST_NGINX_TABLE         => $table,
        TEST_NGINX_NSID          => $nsid,
        TEST_NGINX_SERVROOT      => "$prefix/nginx",
        TEST_NGINX_HTML_DIR      => "$prefix/nginx/html",
        TEST_NGINX_MODULE        => Test::Zae::Nginx::module(),
        TEST_NGINX_BINARY        => Test::Zae::Nginx::binary(),
        TEST_NGINX_ZAE_ADMIN     => $ENV{TEST_NGINX_ZAE_ADMIN}
                                    // "$top/build/zae-admin",
        TEST_NGINX_TOP           => $top,
    );

    $ENV{$_} = $env_done{$_} for keys %env_done;

    return \%env_done;
}


sub ddb {
    zae_env();
    return $ddb;
}


# a Test::Zae::Nginx on this file's prefix (or prefix => ...)

sub nginx {
    my (%args) = @_;
    my $n;

    zae_env();

    $n = Test::Zae::Nginx->new(prefix => $args{prefix} // "$prefix/nginx",
                               log_level => $args{log_level} // $log_level,
                               %args);
    push @nginxes, $n;

    return $n;
}


# starts util/fake-llm-upstream.js (the fake LLM API, the only one:
# see docs/testing.md) for this file; returns its port.  record => DIR:
# it keeps each request body it receives in DIR/body-KEY (KEY: the
# X-API-Key), what nginx sent upstream

sub demo_upstream {
    my (%args) = @_;
    my ($port, $pid, $deadline);

    zae_env();
    $port = $args{port} // $ENV{TEST_NGINX_UPSTREAM_PORT};

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$prefix/demo-upstream.log";
        open STDERR, '>&', \*STDOUT;
        no warnings q(exec);
        exec 'node', "$top/util/fake-llm-upstream.js", '--port', $port,
             defined $args{record} ? ('--record', $args{record}) : ();
        POSIX::_exit(127);
    }

    push @daemons, $pid;
    $deadline = time + 10;

    while (time < $deadline) {
        die "demo upstream exited\n" if waitpid($pid, WNOHANG) == $pid;
        return $port if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $port,
                                              Proto => 'tcp');
        sleep 0.05;
    }

    die "demo upstream did not come up on port $port\n";
}


# the folder of the providers' official clients (t/clients/package.json,
# installed by util/deps.sh), for NODE_PATH

sub clients_dir {
    return ($ENV{ZAE_CACHE} // "$top/.cache") . '/npm-clients/node_modules';
}


# plain-mode request helper: http_req("GET /t", headers => "X-A: 1\n")
# returns { status, headers, body, raw } or { error }

sub http_req {
    my ($spec, %args) = @_;

    zae_env();

    return Test::Zae::Nginx::http($args{port}
                                  // $ENV{TEST_NGINX_SERVER_PORT},
                                  Test::Zae::Nginx::build_request(
                                      $spec, headers => $args{headers}),
                                  timeout => $args{timeout});
}


# zae_metrics(): the zae_limit_metrics page at uri (default /metrics) as a hash of
# "name{labels}" => value; an absent metric is absent from the hash

sub zae_metrics {
    my (%args) = @_;
    my ($r, %m);

    $r = http_req('GET ' . ($args{uri} // '/metrics'), port => $args{port});

    for my $l (split /\n/, $r->{body} // '') {
        next if $l =~ /^#/;
        my ($k, $v) = $l =~ /^(\S+) ([0-9.]+)$/ or next;
        $m{$k} = $v;
    }

    return %m;
}


# polls check->() every 50 ms until it returns true or timeout seconds
# pass; returns its last value

sub wait_for {
    my ($check, $timeout) = @_;
    my ($deadline, $v);

    $deadline = time + ($timeout // 10);

    while (1) {
        $v = $check->();
        return $v if $v || time >= $deadline;
        sleep 0.05;
    }
}


# wait_drained(timeout, \%m): wait_for() the metrics to show nothing
# pending (zae_limit_reconcile_pending 0); %m holds the last metrics read

sub wait_drained {
    my ($timeout, $m) = @_;

    $m //= {};

    return wait_for(sub { %$m = zae_metrics();
                          defined $m->{zae_limit_reconcile_pending}
                          && $m->{zae_limit_reconcile_pending} == 0 },
                    $timeout);
}


sub _cleanup {
    my ($passing) = @_;

    Test::Zae::Nginx::stop_all();

    for my $pid (@daemons) {
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
    @daemons = ();

    if ($ddb && $ENV{TEST_NGINX_TABLE}) {
        eval { $ddb->delete_table($ENV{TEST_NGINX_TABLE}) };
        undef $ddb;
    }

    if ($own_ddb_dir) {
        system("$top/util/ddb-local.sh", 'stop', $own_ddb_dir);
        undef $own_ddb_dir;
    }

    return unless $prefix;

    if ($passing && !$ENV{TEST_ZAE_KEEP}) {
        remove_tree($prefix);
    } else {
        print STDERR "# logs of $0 kept in $prefix\n";
    }

    undef $prefix;
}


END {
    my $rc = $?;

    if (%env_done) {
        my $tb = Test::More->builder;

        # plain mode: instances the test did not stop (and so did not
        # check) still must have a clean error log
        for my $n (@nginxes) {
            next if $n->{checked};
            $n->stop(no_check => 1);
            my @bad = Test::Zae::Nginx::hygiene_problems($n->error_log);
            if (@bad) {
                print STDERR "# error log of ", $n->prefix, ":\n",
                             map { "#   $_\n" } @bad;
                $rc ||= 1;
            }
        }

        _cleanup($tb->is_passing && $rc == 0);
    }

    $? = $rc;
}


# the data-driven blocks --------------------------------------------------

sub _read_data {
    no warnings 'once';

    return '' unless defined fileno(main::DATA);

    local $/;
    return <main::DATA> // '';
}


sub blocks {
    my ($text) = @_;
    my (@blocks, $b, $sec);

    $text //= _read_data();

    for my $line (split /^/, $text) {
        if ($line =~ /^===\s+(.*?)\s*$/) {
            $b = { title => $1, sec => {}, filters => {}, order => [] };
            push @blocks, $b;
            undef $sec;
            next;
        }

        next unless $b;

        if ($line =~ /^---\s+([A-Za-z_]\w*)(.*)$/) {
            my ($name, $rest) = ($1, $2);

            $sec = $name;
            push @{ $b->{order} }, $name;

            if ($rest =~ /^\s*:\s?(.*?)\s*$/) {
                $b->{sec}{$name} = $1;
                $b->{filters}{$name} = [];
                $b->{inline}{$name} = 1;
                undef $sec;
            } else {
                $b->{sec}{$name} = '';
                $b->{filters}{$name} = [split ' ', $rest];
            }
            next;
        }

        $b->{sec}{$sec} .= $line if defined $sec;
    }

    for $b (@blocks) {
        for my $name (keys %{ $b->{sec} }) {
            next if $b->{inline}{$name};
            $b->{sec}{$name} =~ s/\n(?:[ \t]*\n)+\z/\n/;
            $b->{sec}{$name} = '' if $b->{sec}{$name} =~ /^\s*\z/;
        }
    }

    return @blocks;
}


sub _value {
    my ($b, $name) = @_;
    my $v;

    return undef unless exists $b->{sec}{$name};

    $v = $b->{sec}{$name};

    for my $f (@{ $b->{filters}{$name} }) {
        if ($f eq 'chomp') {
            $v =~ s/\n\z// unless ref $v;
        } elsif ($f eq 'chop') {
            chop $v unless ref $v;
        } elsif ($f eq 'eval') {
            my $code = $v;
            $v = eval "package main; no strict; no warnings; $code";
            die "--- $name eval: $@" if $@;
        } else {
            die "--- $name: unknown filter \"$f\"\n";
        }
    }

    if (!ref $v && $name !~ /^(ddb_setup|ddb_check)$/) {
        $v = Test::Zae::Nginx::expand_vars($v);
    }

    return $v;
}


sub _conf {
    my ($b, $config) = @_;
    my ($main, $http, $post);

    $main = _value($b, 'main_config') // '';
    $http = _value($b, 'http_config') // '';
    $post = _value($b, 'post_main_config') // '';

    return <<"EOF";
%%TEST_GLOBALS%%
master_process on;
worker_processes $workers;
$main
events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%
    default_type text/plain;
    keepalive_timeout 65;

$http

    server {
        listen 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT};
        server_name localhost;
        client_max_body_size 30M;
        root html;

$config
    }
}
$post
EOF
}


sub _hook {
    my ($b, $name) = @_;
    my ($code, $sub);

    return unless exists $b->{sec}{$name};

    $code = $b->{sec}{$name};
    $sub = eval "package main; no strict 'vars'; sub { my (\$ddb, \$block) "
                . "= \@_;\n$code\n}";
    die "--- $name: $@" if $@;

    $sub->($ddb, $b->{sec});
}


sub _nth {
    my ($v, $i) = @_;

    return ref $v eq 'ARRAY' ? $v->[$i] : $v;
}


sub _match_log {
    my ($log, $pat) = @_;

    return $log =~ $pat if ref $pat eq 'Regexp';
    return index($log, $pat) >= 0;
}


sub _log_patterns {
    my ($v) = @_;

    return () unless defined $v;
    return @$v if ref $v eq 'ARRAY';
    return grep { length } split /\n/, $v;
}


sub _check_response {
    my ($b, $res, $i, $name) = @_;
    my ($v, $exp);

    if ($res->{error}) {
        Test::More::fail("$name - response");
        Test::More::diag("    $res->{error}");
        return;
    }

    if (defined($v = _nth(_value($b, 'error_code_like'), $i))) {
        Test::More::like($res->{status}, qr/$v/, "$name - status code ok");
    } else {
        $exp = _nth(_value($b, 'error_code'), $i) // 200;
        $exp =~ s/\s+//g;
        Test::More::is($res->{status}, $exp, "$name - status code ok");
    }

    if (defined($v = _nth(_value($b, 'response_body'), $i))) {
        Test::More::is($res->{body}, $v, "$name - response_body ok");
    }

    if (defined($v = _nth(_value($b, 'response_body_like'), $i))) {
        $v =~ s/\n\z// unless ref $v;
        $v = qr/$v/s unless ref $v eq 'Regexp';
        Test::More::like($res->{body}, $v, "$name - response_body_like ok");
    }

    if (defined($v = _nth(_value($b, 'response_body_unlike'), $i))) {
        $v =~ s/\n\z// unless ref $v;
        $v = qr/$v/s unless ref $v eq 'Regexp';
        Test::More::unlike($res->{body}, $v,
                           "$name - response_body_unlike ok");
    }

    if (defined($v = _nth(_value($b, 'response_headers'), $i))) {
        for my $l (split /\n/, $v) {
            next unless $l =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/;
            my ($h, $want) = ($1, $2);
            my $got = $res->{headers}{lc $h};
            if ($want eq '') {
                Test::More::ok(!defined $got, "$name - header $h absent")
                    or Test::More::diag("    got \"$got\"");
            } else {
                Test::More::is($got, $want, "$name - header $h ok");
            }
        }
    }

    if (defined($v = _nth(_value($b, 'response_headers_like'), $i))) {
        for my $l (split /\n/, $v) {
            next unless $l =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/;
            my ($h, $want) = ($1, $2);
            Test::More::like($res->{headers}{lc $h} // '', qr/$want/,
                             "$name - header $h like ok");
        }
    }
}


sub _run_block {
    my ($b, $config) = @_;
    my ($name, $n, $from, $rc, $reqs, $hdrs, $timeout, $v);

    $name = $b->{title};

    for my $s (@{ $b->{order} }) {
        die "unknown section \"--- $s\"\n" unless $known{$s};
    }

    $n = Test::Zae::Nginx->new(
        prefix    => "$prefix/nginx",
        log_level => _value($b, 'log_level') // $log_level,
        ports     => [],
    );

    if (defined($v = _value($b, 'user_files'))) {
        my @parts = split /^>>>\s+(\S+).*\n/m, $v;
        shift @parts;
        while (my ($file, $content) = splice @parts, 0, 2) {
            my $path = "$prefix/nginx/html/$file";
            make_path(dirname($path));
            open my $fh, '>', $path or die "user_files $file: $!\n";
            print $fh $content // '';
            close $fh;
        }
    }

    _hook($b, 'ddb_setup');

    $from = $n->log_size;
    $n->write_conf(_conf($b, $config));

    if (exists $b->{sec}{must_die}) {
        $rc = $n->start(must_die => 1);
        $v = _value($b, 'must_die');
        $v =~ s/\s+//g;

        if (length $v) {
            Test::More::is($rc, $v, "$name - nginx exits with code $v");
        } else {
            Test::More::ok(defined $rc && $rc != 0, "$name - nginx must die")
                or Test::More::diag('    nginx '
                    . (defined $rc ? "exited with $rc" : 'kept running'));
        }

    } else {
        $n->start;

        $reqs = _value($b, 'raw_request') // _value($b, 'request');
        $reqs = [$reqs] if defined $reqs && ref $reqs ne 'ARRAY';
        $hdrs = _value($b, 'more_headers');
        $timeout = _value($b, 'timeout');

        for my $i (0 .. $#{ $reqs // [] }) {
            my ($raw, $res, $rname);

            $rname = @$reqs > 1 ? "$name (req $i)" : $name;

            if (exists $b->{sec}{raw_request}) {
                $raw = $reqs->[$i];
            } else {
                my $spec = $reqs->[$i];
                die "request $i is not a string\n" if ref $spec;
                $spec =~ s/\n\z//;
                $raw = Test::Zae::Nginx::build_request(
                    $spec, headers => _nth($hdrs, $i));
            }

            $res = Test::Zae::Nginx::http($ENV{TEST_NGINX_SERVER_PORT}, $raw,
                                          timeout => $timeout);
            _check_response($b, $res, $i, $rname);
        }
    }

    if (defined($v = _value($b, 'wait'))) {
        sleep $v;
    }

    _hook($b, 'ddb_check');

    my $log = $n->error_log($from);

    for my $p (_log_patterns(_value($b, 'error_log'))) {
        Test::More::ok(_match_log($log, $p), "$name - error_log has \"$p\"");
    }

    for my $p (_log_patterns(_value($b, 'no_error_log'))) {
        Test::More::ok(!_match_log($log, $p),
                       "$name - error_log has no \"$p\"");
    }

    $n->stop(from => $from,
             allow_emerg => exists $b->{sec}{must_die},
             name => "$name - no [alert]"
                     . (exists $b->{sec}{must_die} ? '' : ' [emerg]')
                     . ' or sanitizer report in error log');
}


sub run_tests {
    my (@blocks, $config);

    zae_env();

    @blocks = blocks();

    if (my @only = grep { exists $_->{sec}{ONLY} } @blocks) {
        Test::More::diag('running only the blocks marked ONLY');
        @blocks = @only;
    }

    Test::More::BAIL_OUT("no test blocks found after __DATA__")
        unless @blocks;

    $config = '';

    for my $b (@blocks) {
        my $name = $b->{title};

        if (exists $b->{sec}{SKIP}) {
            SKIP: {
                Test::More::skip("$name: SKIP section", 1);
            }
            next;
        }

        eval {
            $config = _value($b, 'config') // $config;
            _run_block($b, $config);
            1;
        } or do {
            my $err = $@;
            Test::Zae::Nginx::stop_all();
            Test::More::fail("$name - ran to the end");
            Test::More::diag("    died: $err");
        };
    }

    Test::More::done_testing();
}


1;
