#!/usr/bin/perl
# usage: t/bench/run.pl [--module SO] [--spec-body BIN] [--seconds S]
#                       [--workers N] [--out DIR] [--doc FILE]
#                       [--chart FILE] [--no-callgrind] [--no-wrk]
#                       [--rounds N] [--only REGEX] [--keep]
#                       [--no-strace]
#
# --only runs the scenarios whose names match REGEX (a partial run: the
# docs are not rewritten then).  The published results must come from
# the commit they name: writing docs/benchmarks.md is refused when a
# tracked file differs from HEAD or the module is older than HEAD's
# commit (--doc elsewhere writes a copy without that check).
#
# `make bench`: every scenario of docs/benchmarks.md on loopback, one
# DynamoDB Local, one nginx (plus one under callgrind); writes
# OUT/summary.json, OUT/*.txt (raw wrk output), the chart and the
# results section of docs/benchmarks.md.  Every process it starts is
# stopped by its pid, also on failure or on a signal.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use Getopt::Long;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h strftime);
use Time::HiRes qw(time sleep);

my $top;

BEGIN { $top = abs_path(dirname(__FILE__) . '/../..') }

use lib "$top/t/lib";
use Test::More ();
use Test::Zae::DDB qw(S N);
use Test::Zae::Items;
use Test::Zae::Nginx;

my %opt = (
    module    => "$top/build/modules/ngx_http_zae_limit_module.so",
    spec_body => "$top/build/bench/spec_body",
    seconds   => 5,
    workers   => 1,
    out       => "$top/t/bench/out",
    doc       => "$top/docs/benchmarks.md",
    chart     => "$top/docs/latency-vs-concurrency.png",
    callgrind => 1,
    strace    => 1,
    wrk       => 1,
    rounds    => 3,
    only      => '',
    keep      => 0,
);

GetOptions(\%opt, 'module=s', 'spec_body|spec-body=s', 'seconds=i',
           'workers=i', 'out=s', 'doc=s', 'chart=s', 'callgrind!', 'wrk!',
           'strace!',
           'rounds=i', 'only=s', 'keep!')
    or die "usage: t/bench/run.pl [options], see the file's header\n";

$ENV{TEST_NGINX_MODULE} = abs_path($opt{module})
    // die "bench: module $opt{module} missing (make module)\n";
-x $opt{spec_body} or die "bench: $opt{spec_body} missing\n";

my $json = JSON::PP->new->canonical;
my $run = "$top/build/bench/run.$$";
my (@nginxes, @pids, $ddb_dir, $ddb, $nsid, $endpoint, %port, @results,
    @order, %runs,
    %calls_note);

my @CONNS = (1, 16, 64, 256);
my $CMP = 16;                   # the concurrency of the ratios
my $TABLE = 'zae-bench';
my $UA_KEY = 'bench';


sub logmsg { printf STDERR "bench %s %s\n", strftime('%H:%M:%S', localtime),
                                            join '', @_ }


# cleanup: everything by pid ---------------------------------------------

sub cleanup {
    for my $n (@nginxes) {
        eval { $n->stop(no_check => 1) };
    }
    @nginxes = ();

    for my $pid (@pids) {
        next unless kill 0, $pid;
        kill 'TERM', -$pid;
        kill 'TERM', $pid;
        my $deadline = time + 10;
        while (time < $deadline) {
            last if waitpid($pid, WNOHANG) != 0;
            sleep 0.05;
        }
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    @pids = ();

    if ($ddb_dir) {
        system("$top/util/ddb-local.sh", 'stop', $ddb_dir);
        undef $ddb_dir;
    }
}

$SIG{INT} = $SIG{TERM} = sub {
    logmsg("caught a signal, cleaning up");
    cleanup();
    exit 1;
};

END {
    my $rc = $?;
    cleanup();
    $? = $rc;
}


# a child process in its own process group, stdout and stderr to a file,
# in @pids (cleanup() stops it); returns its pid

sub spawn {
    my ($out, @cmd) = @_;
    my $pid;

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT;
        no warnings qw(exec);
        exec @cmd;
        POSIX::_exit(127);
    }

    push @pids, $pid;

    return $pid;
}


# a child process in its own process group, stdout to a file; waits at
# most $timeout seconds, then kills it

sub run_cmd {
    my ($out, $timeout, @cmd) = @_;
    my ($pid, $deadline, $rc);

    $pid = spawn($out, @cmd);
    $deadline = time + $timeout;

    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            $rc = $? >> 8;
            last;
        }
        if (time > $deadline) {
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            @pids = grep { $_ != $pid } @pids;
            die "bench: \"@cmd\" took more than $timeout s\n";
        }
        sleep 0.05;
    }

    @pids = grep { $_ != $pid } @pids;

    return $rc;
}


sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh> // '';
}


sub spew {
    my ($f, $text) = @_;
    open my $fh, '>', $f or die "write $f: $!\n";
    print $fh $text;
    close $fh or die "write $f: $!\n";
}


# DynamoDB Local and the table -------------------------------------------

sub start_ddb {
    $ddb_dir = "$run/ddb";
    make_path($ddb_dir);

    $endpoint = `$top/util/ddb-local.sh start $ddb_dir`;
    chomp $endpoint;
    die "bench: could not start DynamoDB Local\n" if $? != 0 || !$endpoint;

    ($port{ddb}) = $endpoint =~ /:(\d+)$/;

    $ddb = Test::Zae::DDB->new(endpoint => $endpoint, table => $TABLE);
    $nsid = $ddb->create_zae_table();

    # the cascade pair: key casc-1 of project proj-1
    create_entity($ddb, $nsid, 'proj-1');
    create_entity($ddb, $nsid, 'casc-1', parent => 'proj-1', cascade => 1);

    logmsg("DynamoDB Local at $endpoint, namespace id $nsid");
}


# nginx ----------------------------------------------------------------

my $REJECT_BODY = '{"error":"rate_limit_exceeded","message":"Rate limit '
                  . 'exceeded for bench: rpm","retry_after_seconds":3599}';

my $ZAE_LOCATIONS = <<'EOF';
        location /one/ {
            zae_limit entity=$http_x_api_key resource=gpt-4
                      consume=rpm:1 limits=rpm:1000000000/min;
            proxy_pass http://up;
        }

        location /one-arg/ {
            zae_limit entity=$arg_key resource=gpt-4
                      consume=rpm:1 limits=rpm:1000000000/min;
            proxy_pass http://up;
        }

        location /casc/ {
            zae_limit entity=$http_x_api_key resource=casc
                      consume=rpm:1,tpm:500
                      limits=rpm:1000000000/min,tpm:1000000000/min;
            proxy_pass http://up;
        }

        location /rec/ {
            zae_limit entity=$http_x_api_key resource=rec
                      consume=rpm:1,tpm:500
                      limits=rpm:1000000000/min,tpm:1000000000/min;
            zae_limit_reconcile tpm $upstream_http_x_tokens_used;
            proxy_pass http://up;
        }

        location /lease/ {
            zae_limit entity=$http_x_api_key resource=lease
                      consume=rpm:1 limits=rpm:1000000000/min;
            zae_limit_lease size=auto;
            proxy_pass http://up;
        }

        location /lease-rec/ {
            zae_limit entity=$http_x_api_key resource=leaserec
                      consume=rpm:1,tpm:500
                      limits=rpm:1000000000/min,tpm:1000000000/min;
            zae_limit_reconcile tpm $upstream_http_x_tokens_used;
            zae_limit_lease size=auto;
            proxy_pass http://up;
        }

        location /rej/ {
            zae_limit entity=$http_x_api_key resource=rej
                      consume=rpm:1 limits=rpm:1/hour;
            proxy_pass http://up;
        }

        location = /metrics {
            zae_limit_metrics;
        }
EOF


# the nginx.conf of the bench: module => 0 leaves every zae directive out
# (and Test::Zae::Nginx the load_module, with TEST_ZAE_NO_MODULE)

sub conf {
    my (%a) = @_;
    my ($env, $main, $http, $locs, $floor);

    $main = $a{master} ? '' : "master_process off;\n";
    ($env, $http, $locs, $floor) = ('', '', '', '');

    if ($a{module}) {
        $env = "env AWS_ACCESS_KEY_ID=AKIDLOCAL;\n"
               . "env AWS_SECRET_ACCESS_KEY=x;\n";
        $http = "    zae_limit_dynamodb table=$TABLE region=us-east-1\n"
                . "                       endpoint=$endpoint\n"
                . "                       zone=$a{zone}:32m timeout=2s;\n";
        $locs = $ZAE_LOCATIONS;
    }

    # the floor of the module's path: the same UpdateItem through nginx
    # proxy_pass to DynamoDB Local, over a keepalive upstream

    if ($a{floor}) {
        $floor = <<"EOF";
    upstream ddb {
        server 127.0.0.1:$port{ddb};
        keepalive 64;
    }

    server {
        listen 127.0.0.1:$a{floor};

        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location / {
            proxy_pass http://ddb;
        }
    }
EOF
    }

    return <<"EOF";
%%TEST_GLOBALS%%
$main$env
worker_processes $opt{workers};
worker_rlimit_nofile 8192;

events {
    worker_connections 4096;
}

http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;

$http
    limit_req_zone \$http_x_api_key zone=lr:10m rate=1000000r/s;

    upstream up {
        server 127.0.0.1:$a{up};
        keepalive 64;
    }

$floor
    server {
        listen 127.0.0.1:$a{up};

        location / {
            add_header X-Tokens-Used 600;
            return 200 '{"object":"chat.completion"}';
        }
    }

    server {
        listen 127.0.0.1:$a{port};

        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /proxy/ {
            proxy_pass http://up;
        }

        location /lr/ {
            limit_req zone=lr burst=100000 nodelay;
            proxy_pass http://up;
        }

        location /r429/ {
            default_type application/json;
            return 429 '$REJECT_BODY';
        }

$locs    }
}
EOF
}


sub start_nginx {
    my $n;

    $n = Test::Zae::Nginx->new(prefix => "$run/nginx", log_level => 'error');
    $n->write_conf(conf(module => 1, master => 1, zone => 'zae_bench',
                        port => $port{nginx}, up => $port{up},
                        floor => $port{floor}));
    push @nginxes, $n;
    $n->start;

    logmsg("nginx on 127.0.0.1:$port{nginx}, $opt{workers} worker(s)");

    return $n;
}


sub http_get {
    my ($path, $key) = @_;
    my $res;

    $res = HTTP::Tiny->new(timeout => 10)->get(
        "http://127.0.0.1:$port{nginx}$path",
        { headers => { $key ? ('X-API-Key' => $key) : () } });

    return $res;
}


# the sum of zae_limit_dynamodb_calls_total and a few other counters

sub metrics {
    my ($res, %m);

    $res = http_get('/metrics');
    die "bench: /metrics: $res->{status}\n" unless $res->{status} == 200;

    for my $l (split /\n/, $res->{content}) {
        if ($l =~ /^zae_limit_dynamodb_calls_total\{operation="([^"]+)",
                    result="([^"]+)"\}\s+(\d+)/x)
        {
            $m{calls} += $3;
            $m{"calls_$1"} += $3;
        } elsif ($l =~ /^(zae_limit_\w+)(?:\{([^}]*)\})?\s+(\d+)$/) {
            my $k = $1 . (defined $2 ? "{$2}" : '');
            $m{$k} = $3;
        }
    }

    return \%m;
}


# wrk ------------------------------------------------------------------

sub wrk {
    my (%a) = @_;
    my ($threads, $out, @cmd, $rc, $text, $r);

    $threads = $a{conns} >= 2 ? 2 : 1;
    $out = "$opt{out}/$a{name}.txt";

    @cmd = ('wrk', '-t', $threads, '-c', $a{conns},
            '-d', ($a{seconds} // $opt{seconds}) . 's', '--timeout', '10s',
            '--latency', '-s', "$top/t/bench/wrk.lua", $a{url}, '--',
            "threads=$threads", @{ $a{args} // [] });

    $rc = run_cmd($out, ($a{seconds} // $opt{seconds}) + 60, @cmd);
    $text = slurp($out);

    die "bench: wrk failed ($rc) for $a{name}:\n$text" if $rc != 0;

    ($r) = $text =~ /^BENCH (\{.*\})$/m
        or die "bench: no result line from wrk for $a{name}:\n$text";

    return $json->decode($r);
}


# distinct entities: every key is warmed up first (its first request takes
# the slow path and creates the bucket); the cost of those first requests
# is noted when $note is set

sub wanted { $opt{only} eq '' || $_[0] =~ /$opt{only}/ }

sub warm_entities {
    my ($n, $prefix, $note) = @_;
    my ($m0, $m1, $t, $rc, $ok, $out, @urls, @left, $pass, $retried);

    $m0 = metrics();
    $t = time;

    # a first request that fails (a call timed out on a loaded machine:
    # the JVM is still cold here) is sent again, at most 4 more times;
    # the retries are counted in the note
    @urls = ("http://127.0.0.1:$port{nginx}/one-arg/?key=$prefix\[0-"
             . ($n - 1) . ']');
    $ok = 0;
    $retried = 0;

    for $pass (1 .. 5) {
        $out = "$opt{out}/warm-$prefix$n.$pass.txt";
        $rc = run_cmd($out, 300, 'curl', '--no-progress-meter', '-Z',
                      '--parallel-max', '64',
                      '-w', '%{http_code} %{url_effective}\n',
                      $pass == 1 ? () : '--globoff',
                      map { ('-o', '/dev/null', $_) } @urls);
        @left = ();

        for my $l (split /\n/, slurp($out)) {
            my ($code, $url) = split ' ', $l, 2;
            next unless defined $url;

            if ($code eq '200') {
                $ok++;
            } else {
                push @left, $url;
            }
        }

        last unless @left;

        $retried += @left;
        logmsg("warm-up of $n entities: " . @left . " not answered 200, "
               . 'sent again');
        @urls = @left;
        sleep 1;
    }

    $t = time - $t;
    die "bench: warm-up of $n entities: $ok answered 200 (curl $rc)\n"
        if $ok != $n;
    $m1 = metrics();

    return unless $note;

    $calls_note{$n} = {
        first_requests    => $n,
        retried           => $retried,
        seconds           => sprintf('%.1f', $t) + 0,
        calls_per_request => sprintf('%.2f', ($m1->{calls} - $m0->{calls})
                                     / $n) + 0,
    };
    logmsg("warmed $n entities up: " . $json->encode($calls_note{$n}));
}


# one measured scenario: optional warm-up, metrics before and after,
# the check that every answer has the expected status

sub scenario {
    my (%a) = @_;
    my ($m0, $m1, $w, $res, $calls, $calls_total, $bad, $settle);

    return undef if $opt{only} ne '' && $a{name} !~ /$opt{only}/;

    if ($a{warm}) {
        wrk(%a, name => "$a{name}.warm", seconds => $a{warm});
    }

    $m0 = $a{zae} ? metrics() : undef;
    $w = wrk(%a, $a{expect_reject}
                 ? (args => [@{ $a{args} // [] }, 'expect=429']) : ());

    if ($a{zae}) {
        # the reconcile deltas of this run are written by the flush
        # timer (flush_interval 1s): wait until nothing is pending
        $settle = time + 5;
        do {
            sleep($a{settle} // 0.3);
            $m1 = metrics();
        } while (($m1->{zae_limit_reconcile_pending} // 0) > 0
                 && time < $settle);

        $calls_total = $m1->{calls} - $m0->{calls};
        $calls = $calls_total / ($w->{requests} || 1);
    } elsif (defined $a{calls}) {
        $calls = $a{calls};
    }

    $bad = $w->{connect_errors} + $w->{read_errors} + $w->{write_errors}
           + $w->{timeouts};

    # a refusal is a 429 and nothing else: a 500 is not "refused"

    if ($a{expect_reject}) {
        die "bench: $a{name}: wrk counted no status\n"
            if $w->{unexpected_status} < 0;
        $bad += $w->{unexpected_status};
    } else {
        $bad += $w->{status_errors};
    }

    $res = {
        name                  => $a{name},
        connections           => $a{conns},
        requests              => $w->{requests},
        rps                   => sprintf('%.1f', $w->{requests}
                                         / ($w->{duration_us} / 1e6)) + 0,
        p50_ms                => sprintf('%.3f', $w->{p50_us} / 1000) + 0,
        p99_ms                => sprintf('%.3f', $w->{p99_us} / 1000) + 0,
        ddb_calls_per_request => defined $calls
                                 ? sprintf('%.4f', $calls) + 0 : undef,
        unexpected            => $bad,
        description           => $a{desc},
        calls_total           => $calls_total,
    };

    if ($a{zae}) {
        for my $k (sort keys %$m1) {
            next unless $k =~ /^calls_(.+)$/;
            my $d = $m1->{$k} - ($m0->{$k} // 0);
            $res->{ddb_calls_by_operation}{$1} = $d if $d;
        }
    }

    push @order, $a{name} unless $runs{$a{name}};
    push @{ $runs{$a{name}} }, $res;

    logmsg(sprintf('%-30s c=%-3d %9.1f rps  p50 %7.3f ms  p99 %8.3f ms'
                   . '  calls/req %s %s%s', $a{name}, $a{conns}, $res->{rps},
                   $res->{p50_ms}, $res->{p99_ms},
                   $res->{ddb_calls_per_request} // '-',
                   $res->{ddb_calls_by_operation}
                   ? $json->encode($res->{ddb_calls_by_operation}) : '',
                   $bad ? "  UNEXPECTED $bad" : ''));

    return $res;
}


sub median {
    my @v = sort { $a <=> $b } @_;

    return $v[$#v / 2] if @v % 2;
    return ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}


# one result per scenario: a single run as it is; several rounds as the
# medians of rps, p50 and p99, with calls and requests summed

sub merge_runs {
    my ($name) = @_;
    my ($r, $m, $req, $calls);

    $r = $runs{$name};

    $m = { %{ $r->[0] } };
    $m->{rounds} = scalar @$r;

    if (@$r > 1) {
        for my $k (qw(rps p50_ms p99_ms)) {
            $m->{$k} = sprintf('%.3f', median(map { $_->{$k} } @$r)) + 0;
            $m->{"${k}_rounds"} = [map { $_->{$k} } @$r];
        }

        $req = 0;
        $req += $_->{requests} for @$r;
        $m->{requests} = $req;
        $m->{unexpected} = 0;
        $m->{unexpected} += $_->{unexpected} for @$r;

        if (defined $r->[0]{calls_total}) {
            $calls = 0;
            $calls += $_->{calls_total} for @$r;
            $m->{ddb_calls_per_request} = sprintf('%.4f', $calls / ($req || 1))
                                          + 0;
            $m->{ddb_calls_by_operation} = {};
            for my $x (@$r) {
                for my $op (keys %{ $x->{ddb_calls_by_operation} // {} }) {
                    $m->{ddb_calls_by_operation}{$op} +=
                        $x->{ddb_calls_by_operation}{$op};
                }
            }
        }
    }

    delete $m->{calls_total};
    delete $m->{description};

    return $m;
}


# syscalls per request: strace -f -c attached to the worker while wrk
# sends requests on one connection for 5 s; the count divided by the
# requests wrk completed (its one connect and the strace attach and
# detach add a few syscalls per run, not per request).  Counts do not
# move with the machine's load as latencies do.

sub strace_parse {
    my ($file) = @_;
    my (%calls, %errors);

    for my $l (split /\n/, slurp($file)) {
        my @f = split ' ', $l;

        next unless @f >= 5 && $f[0] =~ /^[\d.]+$/ && $f[3] =~ /^\d+$/;
        next if $f[-1] eq 'total';

        $calls{$f[-1]} = $f[3];
        $errors{$f[-1]} = $f[4] if @f == 6;
    }

    return (\%calls, \%errors);
}


sub strace_run {
    my ($ngx, $name, $url, $args, %o) = @_;
    my ($worker, $pid, $file, $deadline, $w, $m0, $m1, $calls, $errors,
        %r, $n);

    my @w = $ngx->workers;
    die "bench: strace needs one worker, found " . @w . "\n" if @w != 1;
    $worker = $w[0];
    $file = "$run/strace-$name.txt";

    # /metrics is read while strace is not attached
    $m0 = $o{zae} ? metrics() : undef;

    $pid = spawn("$file.log", 'strace', '-f', '-c', '-o', $file,
                 '-p', $worker);

    # attached once the worker's tracer is strace
    $deadline = time + 10;
    until (slurp("/proc/$worker/status") =~ /^TracerPid:\s+$pid$/m) {
        die "bench: strace did not attach:\n" . slurp("$file.log")
            if time > $deadline || waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }

    $w = wrk(name => "strace-$name", url => $url, conns => 1,
             seconds => 5,
             args => [@$args, $o{expect} ? "expect=$o{expect}" : ()]);

    kill 'INT', $pid;
    waitpid($pid, 0);
    @pids = grep { $_ != $pid } @pids;

    $m1 = $o{zae} ? metrics() : undef;

    ($calls, $errors) = strace_parse($file);
    $n = $w->{requests} || 1;

    die "bench: strace $name: no syscalls counted:\n" . slurp("$file.log")
        unless %$calls;
    my $bad = $w->{connect_errors} + $w->{read_errors}
              + $w->{write_errors} + $w->{timeouts}
              + ($o{expect} ? $w->{unexpected_status} : $w->{status_errors});
    die "bench: strace $name: $bad unexpected answers\n" if $bad;

    $r{requests} = $w->{requests};
    $r{total} = 0;

    for my $sc (keys %$calls) {
        $r{per_request}{$sc} = sprintf('%.2f', $calls->{$sc} / $n) + 0;
        $r{errors_per_request}{$sc} = sprintf('%.2f',
                                              $errors->{$sc} / $n) + 0
            if $errors->{$sc};
        $r{total} += $calls->{$sc};
    }

    $r{total} = sprintf('%.2f', $r{total} / $n) + 0;

    if ($o{zae}) {
        $r{ddb_calls_per_request} = sprintf('%.3f',
                                           ($m1->{calls} - $m0->{calls})
                                           / $n) + 0;
    }

    logmsg("strace $name: $r{requests} requests, $r{total} syscalls per "
           . 'request: ' . $json->encode($r{per_request}));

    return \%r;
}


sub syscalls {
    my ($ngx, $base, $floor_url, $raw_args) = @_;
    my (%sys, $key);

    $key = 'sys-1';
    my $res = http_get('/one/', $key);
    die "bench: first request for $key: $res->{status}\n"
        if $res->{status} != 200;

    %sys = (
        zae_one_limit => strace_run($ngx, 'zae_one_limit', "$base/one/",
                                    ["key=$key"], zae => 1),
        raw_via_nginx => strace_run($ngx, 'raw_via_nginx', "$floor_url/",
                                    $raw_args),
        proxy => strace_run($ngx, 'proxy', "$base/proxy/", ['key=one-1']),
        return_429 => strace_run($ngx, 'return_429', "$base/r429/",
                                 ['key=rej-1'], expect => 429),
    );

    return \%sys;
}


# callgrind: instructions per request, with and without the module -----

sub callgrind_parse {
    my ($file) = @_;
    my (%names, %self, $ob, $skip, $total);

    open my $fh, '<', $file or die "bench: $file: $!\n";

    while (my $l = <$fh>) {
        if ($l =~ /^(c?)ob=\((\d+)\)(?: (.*?))?\s*$/) {
            $names{$2} = $3 if defined $3;
            $ob = $names{$2} if $1 eq '';
            next;
        }
        if ($l =~ /^calls=/) {
            $skip = 1;
            next;
        }
        if ($l =~ /^(?:[+-]?\d+|\*)\s+(\d+)/) {
            if ($skip) {
                $skip = 0;
            } else {
                $self{$ob // '?'} += $1;
            }
            next;
        }
        if ($l =~ /^(?:totals|summary):\s+(\d+)/) {
            $total = $1;
        }
    }

    close $fh;

    return ($total, \%self);
}


sub callgrind_run {
    my ($case, $count) = @_;
    my ($name, $with_module, $path, $key, $code, $floor) = @$case;
    my ($prefix, $n, $pid, $cg, $deadline, $codes, $cfg, $rc, $ok, @bad);

    $prefix = "$run/cg-$name-$count";
    $cg = "$prefix/callgrind.out";

    # fresh ports: ports picked minutes ago may have become the local
    # end of some connection since
    my @p = `$top/util/free-port 3`;
    chomp @p;
    die "bench: free-port failed\n" unless @p == 3;
    @port{qw(cg cgup cgfloor)} = @p;

    local $ENV{TEST_ZAE_NO_MODULE} = $with_module ? '' : 1;

    $n = Test::Zae::Nginx->new(prefix => $prefix, log_level => 'error');
    $n->write_conf(conf(module => $with_module, master => 0,
                        zone => 'zae_cg', port => $port{cg},
                        up => $port{cgup}, floor => $port{cgfloor}));

    $pid = spawn("$prefix/logs/valgrind.log", 'valgrind', '--tool=callgrind',
                 "--callgrind-out-file=$cg", Test::Zae::Nginx::binary(),
                 '-p', "$prefix/", '-c', 'conf/nginx.conf', '-e',
                 'logs/error.log');
    $deadline = time + 60;

    # the pid file is written once the listening sockets are bound
    until (-s "$prefix/logs/nginx.pid") {
        if (waitpid($pid, WNOHANG) == $pid) {
            @pids = grep { $_ != $pid } @pids;
            die "bench: nginx under callgrind exited:\n"
                . slurp("$prefix/logs/valgrind.log");
        }
        die "bench: nginx under callgrind did not come up\n"
            if time > $deadline;
        sleep 0.1;
    }

    # one keepalive connection, $count requests; the floor's are the raw
    # UpdateItem of raw_via_nginx_cN, POSTed to the proxy_pass server
    $cfg = "header = \"X-API-Key: $key\"\n"
           . "write-out = \"%{http_code}\\n\"\n";

    if ($floor) {
        $cfg .= "data-binary = \"\@$floor->{body}\"\n";

        for my $h (@{ $floor->{headers} }) {
            (my $v = $h) =~ s/^header=//;
            $cfg .= "header = \"$v\"\n";
        }
    }

    $cfg .= join('', map { "url = \"http://127.0.0.1:"
                           . $port{$floor ? 'cgfloor' : 'cg'} . "$path\"\n"
                           . "output = \"/dev/null\"\n" } 1 .. $count);
    spew("$prefix/curl.cfg", $cfg);

    $rc = run_cmd("$prefix/codes.txt", 600, 'curl', '-s', '-K',
                  "$prefix/curl.cfg");
    $codes = slurp("$prefix/codes.txt");
    $ok = () = $codes =~ /^$code$/mg;

    kill 'QUIT', $pid;
    $deadline = time + 60;
    while (waitpid($pid, WNOHANG) != $pid) {
        if (time > $deadline) {
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            last;
        }
        sleep 0.1;
    }
    @pids = grep { $_ != $pid } @pids;

    die "bench: callgrind run $name: $ok of $count requests answered "
        . "$code (curl $rc)\n" if $ok != $count;

    @bad = grep { /\[alert\]|\[emerg\]/ } split /\n/, $n->error_log;
    die "bench: callgrind nginx logged:\n@bad\n" if @bad;

    return callgrind_parse($cg);
}


# instructions per request: two runs of N1 and N2 requests each, so that
# start-up and shutdown cancel out

sub callgrind {
    my ($floor) = @_;
    my (%cpu, $n1, $n2, @cases);

    ($n1, $n2) = (200, 1200);

    @cases = (['proxy_without_module', 0, '/proxy/', 'cg-1', 200],
              ['raw_via_nginx', 0, '/', 'cg-1', 200, $floor],
              ['zae_one_limit', 1, '/one/', 'cg-1', 200],
              ['return_429', 1, '/r429/', 'rej-1', 429],
              ['zae_reject', 1, '/rej/', 'rej-1', 429]);

    for my $case (@cases) {
        my ($t1, $s1) = callgrind_run($case, $n1);
        my ($t2, $s2) = callgrind_run($case, $n2);
        my $c = { instructions_per_request =>
                      int(($t2 - $t1) / ($n2 - $n1) + 0.5) };

        for my $ob (keys %$s2) {
            my $tag = $ob =~ /zae_limit_module\.so$/ ? 'module_so'
                    : $ob =~ /libcrypto/ ? 'libcrypto'
                    : $ob =~ /libyajl/ ? 'libyajl'
                    : undef;
            next unless $tag && $case->[1];
            $c->{"in_$tag"} = int((($s2->{$ob} // 0) - ($s1->{$ob} // 0))
                                  / ($n2 - $n1) + 0.5);
        }

        $cpu{cases}{$case->[0]} = $c;
        logmsg("callgrind $case->[0]: " . $json->encode($c));
    }

    $cpu{instructions_added_by_module} =
        $cpu{cases}{zae_one_limit}{instructions_per_request}
        - $cpu{cases}{proxy_without_module}{instructions_per_request};
    $cpu{instructions_over_nginx_floor} =
        $cpu{cases}{zae_one_limit}{instructions_per_request}
        - $cpu{cases}{raw_via_nginx}{instructions_per_request};
    $cpu{reject_over_return429} = sprintf('%.2f',
        $cpu{cases}{zae_reject}{instructions_per_request}
        / $cpu{cases}{return_429}{instructions_per_request}) + 0;
    $cpu{requests_counted} = $n2 - $n1;

    return \%cpu;
}


# main -----------------------------------------------------------------

# the published results describe HEAD: no change to a tracked file, and a
# module built after HEAD was committed (make rebuilds it when a source
# is newer; a commit made after the build is caught here)

sub check_publishable {
    my ($changes, $head_time, $so_time);

    $head_time = `git -C $top log -1 --format=%ct HEAD 2>/dev/null`;
    chomp $head_time;
    die "bench: refusing to write $opt{doc}: not a git checkout\n"
        unless $? == 0 && $head_time =~ /^\d+$/;

    $changes = `git -C $top status --porcelain --untracked-files=no`;
    die "bench: refusing to write $opt{doc} from a tree with changes "
        . "(commit them, or run a partial bench with --only or --doc "
        . "FILE):\n$changes"
        if $changes ne '';

    $so_time = (stat $opt{module})[9] // 0;
    die "bench: refusing to write $opt{doc}: $opt{module} was built "
        . 'before HEAD was committed (' . localtime($so_time) . ' < '
        . localtime($head_time) . "); rebuild it: make -B module\n"
        if $so_time < $head_time;
}

if ($opt{only} eq ''
    && abs_path($opt{doc}) eq abs_path("$top/docs/benchmarks.md"))
{
    check_publishable();
}

remove_tree($run);
make_path($run, $opt{out});
unlink glob("$opt{out}/*.txt");

# a private copy of the module: a rebuild by someone else during the run
# must not change what the later scenarios or callgrind measure
{
    my $so = "$run/ngx_http_zae_limit_module.so";

    system('cp', $ENV{TEST_NGINX_MODULE}, $so) == 0
        or die "bench: cannot copy the module\n";
    chmod 0755, $so;
    $ENV{TEST_NGINX_MODULE} = $so;
}

chomp(my $commit = `git -C $top rev-parse --short HEAD 2>/dev/null` // '');
chomp(my $dirty = `git -C $top status --porcelain src config 2>/dev/null`
                  // '');

{
    my @p = `$top/util/free-port 5`;
    chomp @p;
    die "bench: free-port failed\n" unless @p == 5;
    @port{qw(nginx up cg cgup floor)} = @p;
}

my $t0 = time;
my $load0 = (split ' ', slurp('/proc/loadavg'))[0];

start_ddb();
my $ngx = start_nginx();
my $base = "http://127.0.0.1:$port{nginx}";
my $floor_url = "http://127.0.0.1:$port{floor}";

# buckets: one request each creates them through the module's slow path
for my $k (qw(one-1 raw-1 cg-1)) {
    my $r = http_get('/one/', $k);
    die "bench: first request for $k: $r->{status}\n" if $r->{status} != 200;
}
for my $p (['/casc/', 'casc-1'], ['/rec/', 'rec-1'], ['/rej/', 'rej-1']) {
    my $r = http_get(@$p);
    die "bench: first request $p->[0]: $r->{status}\n" if $r->{status} != 200;
}

# the raw scenario's bucket: the module made it; wcu is topped up so that
# every raw UpdateItem succeeds (the module's own wcu handling is part of
# the module scenarios)
$ddb->update_item(
    Key => { PK => S("$nsid/BUCKET#raw-1#gpt-4#0"), SK => S('#STATE') },
    UpdateExpression => 'ADD b_wcu_tk :big, b_rpm_tk :big',
    ExpressionAttributeValues => { ':big' => N('1000000000000000') });

my $body_file = "$run/spec_body.json";
run_cmd($body_file, 10, $opt{spec_body}, $TABLE, $nsid, 'raw-1', 'gpt-4',
        'rpm:1') == 0
    or die "bench: spec_body failed: " . slurp($body_file);

# the admitted-throughput pair: 100 entities through the module, and the
# raw UpdateItem over 100 items of its own (wcu and rpm topped up as
# above, so that every raw write succeeds; each module bucket gets about
# 1/100 of the load and stays within its wcu budget)
my $bodies_file = "$run/spec_bodies.txt";

if ($opt{wrk} && (wanted("raw_updateitem_100_c$CMP")
                  || wanted("raw_via_nginx_100_c$CMP")
                  || wanted("zae_entities_100_c$CMP")))
{
    my $all = '';

    warm_entities(100, 'e-', 1);
    warm_entities(100, 'raw-e-', 0);

    for my $i (0 .. 99) {
        $ddb->update_item(
            Key => { PK => S("$nsid/BUCKET#raw-e-$i#gpt-4#0"),
                     SK => S('#STATE') },
            UpdateExpression => 'ADD b_wcu_tk :big, b_rpm_tk :big',
            ExpressionAttributeValues => { ':big' => N('1000000000000000') });

        run_cmd("$run/body.$i", 10, $opt{spec_body}, $TABLE, $nsid,
                "raw-e-$i", 'gpt-4', 'rpm:1') == 0
            or die "bench: spec_body failed: " . slurp("$run/body.$i");

        my $b = slurp("$run/body.$i");
        $b =~ s/\n+\z//;
        die "bench: a spec body with a newline\n" if $b =~ /\n/;
        $all .= "$b\n";
    }

    spew($bodies_file, $all);
}

my $date = strftime('%Y%m%dT%H%M%SZ', gmtime);
my @raw_head = (
    'header=Content-Type:application/x-amz-json-1.0',
    'header=X-Amz-Target:DynamoDB_20120810.UpdateItem',
    "header=X-Amz-Date:$date",
    'header=Authorization:AWS4-HMAC-SHA256 Credential=AKIDLOCAL/'
    . substr($date, 0, 8) . '/us-east-1/dynamodb/aws4_request, '
    . 'SignedHeaders=content-type;host;x-amz-date;x-amz-target, '
    . 'Signature=' . ('0' x 64),
);
my @raw_args = ('method=POST', "body=$body_file", @raw_head);
my @raw100_args = ('method=POST', "bodies=$bodies_file", @raw_head);

my %S;

if ($opt{wrk}) {
    # warm the JVM up: DynamoDB Local is slow for its first thousands of calls
    logmsg("warming DynamoDB Local up");
    wrk(name => 'warmup-raw', url => "$endpoint/", conns => 16, seconds => 8,
        args => \@raw_args);
    wrk(name => 'warmup-one', url => "$base/one/", conns => 16, seconds => 5,
        args => ['key=one-1']);

    # the scaling set in interleaved rounds: DynamoDB Local's throughput
    # drifts (JIT, GC), the medians of the rounds are reported
    for my $round (1 .. $opt{rounds}) {
        for my $c (@CONNS) {
            $S{"raw_updateitem_c$c"} = scenario(
                name => "raw_updateitem_c$c", url => "$endpoint/",
                conns => $c, args => \@raw_args, calls => 1,
                desc => 'the speculative UpdateItem straight from wrk');

            # the floor of the module's path at 1 and 16 connections
            if ($c == 1 || $c == $CMP) {
                $S{"raw_via_nginx_c$c"} = scenario(
                    name => "raw_via_nginx_c$c", url => "$floor_url/",
                    conns => $c, args => \@raw_args, calls => 1,
                    desc => 'the same UpdateItem through nginx '
                            . 'proxy_pass (keepalive upstream)');
            }

            $S{"proxy_c$c"} = scenario(
                name => "proxy_c$c", url => "$base/proxy/", conns => $c,
                args => ['key=one-1'], calls => 0,
                desc => 'nginx proxy_pass to a keepalive upstream');

            # a fresh bucket per run: a burst of more than 1000 writes/s
            # doubles a bucket's shard_count for good (see
            # docs/benchmarks.md), which would carry over into later runs
            my $key = "one-$round-$c";

            if (wanted("zae_one_limit_c$c")) {
                my $r = http_get('/one/', $key);
                die "bench: first request for $key: $r->{status}\n"
                    if $r->{status} != 200;
            }

            $S{"zae_one_limit_c$c"} = scenario(
                name => "zae_one_limit_c$c", url => "$base/one/",
                conns => $c, args => ["key=$key"], zae => 1,
                desc => 'zae_limit, one limit, one entity');

            next if $c != $CMP;

            # one hot bucket with local token leases (zae_limit_lease
            # size=auto), and with reconciliation too: a fresh bucket per
            # round; the lease left at the end goes back after its ttl
            # (1 s), so the run settles 2.5 s to count that write
            for my $l (['zae_lease', '/lease/', 'lease'],
                       ['zae_lease_reconcile', '/lease-rec/', 'leaserec'])
            {
                my ($name, $uri, $pfx) = @$l;
                my $lkey = "$pfx-$round";

                next unless wanted("${name}_c$c");

                my $r = http_get($uri, $lkey);
                die "bench: first request for $lkey: $r->{status}\n"
                    if $r->{status} != 200;

                $S{"${name}_c$c"} = scenario(
                    name => "${name}_c$c", url => "$base$uri", conns => $c,
                    args => ["key=$lkey"], zae => 1, settle => 2.5,
                    desc => 'one hot bucket, zae_limit_lease size=auto'
                            . ($pfx eq 'leaserec'
                               ? ', tpm reconciled' : ''));
            }

            # the admitted-throughput set, each first in turn (a run
            # after another on DynamoDB Local can be faster or slower
            # than the first: JIT, garbage collection)
            my @set = (
                sub {
                    $S{"raw_updateitem_100_c$c"} = scenario(
                        name => "raw_updateitem_100_c$c",
                        url => "$endpoint/", conns => $c,
                        args => \@raw100_args, calls => 1,
                        desc => 'the speculative UpdateItem over 100 '
                                . 'items');
                },
                sub {
                    $S{"raw_via_nginx_100_c$c"} = scenario(
                        name => "raw_via_nginx_100_c$c",
                        url => "$floor_url/", conns => $c,
                        args => \@raw100_args, calls => 1,
                        desc => 'the same over 100 items through nginx '
                                . 'proxy_pass');
                },
                sub {
                    $S{"zae_entities_100_c$c"} = scenario(
                        name => "zae_entities_100_c$c", url => "$base/one/",
                        conns => $c, args => ['keys=100', 'prefix=e-'],
                        zae => 1,
                        desc => 'one limit, 100 entities picked at random');
                },
            );

            my $first = ($round - 1) % @set;

            $_->() for @set[$first .. $#set], @set[0 .. $first - 1];

            # the rejection pair, also in every round: its ratio is the
            # median of the rounds' ratios
            $S{"zae_reject_c$c"} = scenario(
                name => "zae_reject_c$c", url => "$base/rej/", conns => $c,
                args => ['key=rej-1'], zae => 1, expect_reject => 1,
                desc => 'empty bucket: every request refused');

            $S{"return_429_c$c"} = scenario(
                name => "return_429_c$c", url => "$base/r429/", conns => $c,
                args => ['key=rej-1'], calls => 0, expect_reject => 1,
                desc => 'nginx return 429');
        }
    }

    for my $c (1, $CMP) {
        $S{"zae_cascade_two_limits_c$c"} = scenario(
            name => "zae_cascade_two_limits_c$c", url => "$base/casc/",
            conns => $c, args => ['key=casc-1'], zae => 1,
            desc => 'two limits, key with cascade to its project');

        $S{"zae_reconcile_c$c"} = scenario(
            name => "zae_reconcile_c$c", url => "$base/rec/", conns => $c,
            args => ['key=rec-1'], zae => 1,
            desc => 'two limits, tpm reconciled from X-Tokens-Used');

        $S{"limit_req_c$c"} = scenario(
            name => "limit_req_c$c", url => "$base/lr/", conns => $c,
            args => ['key=one-1'], calls => 0,
            desc => 'nginx limit_req (never refusing) + proxy');

        next if $c == $CMP;     # the rejection pair ran in the rounds

        $S{"zae_reject_c$c"} = scenario(
            name => "zae_reject_c$c", url => "$base/rej/", conns => $c,
            args => ['key=rej-1'], zae => 1, expect_reject => 1,
            desc => 'empty bucket: every request refused');

        $S{"return_429_c$c"} = scenario(
            name => "return_429_c$c", url => "$base/r429/", conns => $c,
            args => ['key=rej-1'], calls => 0, expect_reject => 1,
            desc => 'nginx return 429');
    }

    # 10,000 distinct entities: warmed up like the 100 above
    if (wanted("zae_entities_10000_c$CMP")) {
        warm_entities(10000, 'e-', 1);

        $S{"zae_entities_10000_c$CMP"} = scenario(
            name => "zae_entities_10000_c$CMP", url => "$base/one/",
            conns => $CMP, args => ['keys=10000', 'prefix=e-'], zae => 1,
            desc => 'one limit, 10000 entities picked at random');
    }
}

@results = map { merge_runs($_) } @order;
%S = map { $_->{name} => $_ } @results;

my @bad = grep { /\[alert\]|\[emerg\]/ } split /\n/, $ngx->error_log;

# syscalls per request ("--only syscalls" runs this part alone)
my $sys = $opt{strace} && $opt{workers} == 1 && wanted('syscalls')
          ? syscalls($ngx, $base, $floor_url, \@raw_args) : undef;

my $cpu = $opt{callgrind}
          ? callgrind({ body => $body_file, headers => \@raw_head })
          : undef;

$ngx->stop(no_check => 1);
@nginxes = ();

# summary --------------------------------------------------------------

# a ratio of two scenarios: the median of the ratios of the runs of the
# same round (scenarios of one round ran minutes apart at most), not the
# ratio of medians taken from different rounds.  NUM and DEN take a
# round's runs by scenario name and return a value (undef: none).

my %ratio_rounds;

sub round_ratio {
    my ($key, $names, $num, $den) = @_;
    my (@r, $n);

    $n = 0;
    for my $name (@$names) {
        return undef unless $runs{$name};
        $n = @{ $runs{$name} } if !$n || @{ $runs{$name} } < $n;
    }

    for my $i (0 .. $n - 1) {
        my %x = map { $_ => $runs{$_}[$i] } @$names;
        my ($v, $w) = ($num->(\%x), $den->(\%x));
        push @r, $v / $w if defined $v && $w;
    }

    return undef unless @r;

    $ratio_rounds{$key} = [map { sprintf('%.3f', $_) + 0 } @r];

    return sprintf('%.3f', median(@r)) + 0;
}

my %ratios = (
    added_latency_over_rtt => round_ratio('added_latency_over_rtt',
        [qw(zae_one_limit_c1 proxy_c1 raw_updateitem_c1)],
        sub { $_[0]{zae_one_limit_c1}{p50_ms} - $_[0]{proxy_c1}{p50_ms} },
        sub { $_[0]{raw_updateitem_c1}{p50_ms} }),
    admitted_rps_over_raw_update_rps => round_ratio(
        'admitted_rps_over_raw_update_rps',
        ["zae_entities_100_c$CMP", "raw_updateitem_100_c$CMP"],
        sub { $_[0]{"zae_entities_100_c$CMP"}{rps} },
        sub { $_[0]{"raw_updateitem_100_c$CMP"}{rps} }),
    hot_bucket_admitted_rps_over_raw_update_rps => round_ratio(
        'hot_bucket_admitted_rps_over_raw_update_rps',
        ["zae_one_limit_c$CMP", "raw_updateitem_c$CMP"],
        sub { $_[0]{"zae_one_limit_c$CMP"}{rps} },
        sub { $_[0]{"raw_updateitem_c$CMP"}{rps} }),
    module_p50_over_nginx_floor_p50 => round_ratio(
        'module_p50_over_nginx_floor_p50',
        [qw(zae_one_limit_c1 raw_via_nginx_c1)],
        sub { $_[0]{zae_one_limit_c1}{p50_ms} },
        sub { $_[0]{raw_via_nginx_c1}{p50_ms} }),
    admitted_rps_over_nginx_floor_rps => round_ratio(
        'admitted_rps_over_nginx_floor_rps',
        ["zae_entities_100_c$CMP", "raw_via_nginx_100_c$CMP"],
        sub { $_[0]{"zae_entities_100_c$CMP"}{rps} },
        sub { $_[0]{"raw_via_nginx_100_c$CMP"}{rps} }),
    lease_hot_bucket_rps_over_proxy_rps => round_ratio(
        'lease_hot_bucket_rps_over_proxy_rps',
        ["zae_lease_c$CMP", "proxy_c$CMP"],
        sub { $_[0]{"zae_lease_c$CMP"}{rps} },
        sub { $_[0]{"proxy_c$CMP"}{rps} }),
    reject_rps_over_return429_rps => round_ratio(
        'reject_rps_over_return429_rps',
        ["zae_reject_c$CMP", "return_429_c$CMP"],
        sub { $_[0]{"zae_reject_c$CMP"}{rps} },
        sub { $_[0]{"return_429_c$CMP"}{rps} }),
);

# the goal of a rejection's cost: instructions under callgrind (wrk on
# two shared cores measures wrk as much as nginx: its rps ratio is shown
# beside it, without a goal)

$ratios{reject_instructions_over_return429} = $cpu->{reject_over_return429}
    if $cpu;

# DynamoDB write units per million admitted requests (items under 1 KB:
# one unit per write; flush writes included, they are UpdateItem calls),
# one hot bucket at $CMP connections; zae-limiter's acquire + adjust is
# two writes per request (facts section 13.1), computed

my %write_units = (python_acquire_adjust => 2000000);

for my $w (['no_lease', "zae_one_limit_c$CMP"],
           ['reconcile_no_lease', "zae_reconcile_c$CMP"],
           ['lease', "zae_lease_c$CMP"],
           ['lease_reconcile', "zae_lease_reconcile_c$CMP"])
{
    my $r = $S{$w->[1]} or next;
    my $ops = $r->{ddb_calls_by_operation} // {};
    my $writes = 0;

    $writes += $ops->{$_} // 0 for qw(UpdateItem PutItem TransactWriteItems);
    $write_units{$w->[0]} = int($writes / ($r->{requests} || 1) * 1e6 + 0.5);
}

my $cpu_model = (slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.*)$/m)[0]
                // '?';
chomp(my $nproc = `nproc`);

my $summary = {
    scenarios => \@results,
    ratios => \%ratios,
    ratio_rounds => \%ratio_rounds,
    goals => {
        added_latency_over_rtt              => '<= 1.1',
        admitted_rps_over_raw_update_rps    => '>= 0.9',
        module_p50_over_nginx_floor_p50     => '<= 1.1',
        admitted_rps_over_nginx_floor_rps   => '>= 0.95',
        reject_instructions_over_return429  => '<= 2.0',
        lease_hot_bucket_rps_over_proxy_rps => '>= 0.7',
    },
    entity_warmup => \%calls_note,
    write_units_per_million_admitted => \%write_units,
    cpu => $cpu,
    syscalls => $sys,
    machine => { nproc => $nproc + 0, cpu => $cpu_model,
                 nginx_workers => $opt{workers},
                 loadavg_start => $load0 + 0,
                 loadavg_end => (split ' ', slurp('/proc/loadavg'))[0] + 0 },
    date => strftime('%Y-%m-%d %H:%M UTC', gmtime),
    source => { commit => $commit,
                src_modified => $dirty ne '' ? JSON::PP::true
                                             : JSON::PP::false },
    seconds_per_run => $opt{seconds},
    comparison_connections => $CMP,
    alerts_in_error_log => scalar @bad,
    total_seconds => int(time - $t0),
};

spew("$opt{out}/summary.json",
     JSON::PP->new->canonical->pretty->encode($summary));
logmsg("wrote $opt{out}/summary.json");

if ($opt{only} eq '') {
    system($^X, "$top/t/bench/report.pl", "$opt{out}/summary.json",
           $opt{doc}, $opt{chart}) == 0
        or die "bench: report.pl failed\n";
}

if (@bad) {
    print STDERR "bench: the error log has alerts:\n", map { "  $_\n" } @bad;
    logmsg("logs kept in $run");
    exit 1;
}

# the run folder (logs, callgrind profiles) is kept only on failure or
# with --keep
cleanup();
remove_tree($run) unless $opt{keep};

exit 0;
