package Test::Zae::Nginx;

# One nginx instance on a private prefix, for tests that need full
# control (plain-Perl mode) and for the data-driven runner in Test::Zae.
#
#   my $n = Test::Zae::Nginx->new(prefix => $dir, conf => <<'EOF');
#   %%TEST_GLOBALS%%
#   events { }
#   http {
#       %%TEST_GLOBALS_HTTP%%
#       server { listen 127.0.0.1:$TEST_NGINX_SERVER_PORT; ... }
#   }
#   EOF
#   $n->start;                  # dies if nginx does not come up
#   $n->reload(conf => ...);    # nginx -s reload, waits for new workers
#   my $log = $n->error_log;    # the whole error.log
#   $n->stop;                   # QUIT, then asserts log hygiene (a test)
#
# %%TEST_GLOBALS%% (prepended when absent) becomes load_module, user
# (the invoking user, when root), daemon off, pid, error_log;
# %%TEST_GLOBALS_HTTP%% (inserted after the first "http {" when absent)
# becomes access_log and every *_temp_path inside the prefix.
# $TEST_NGINX_* environment variables are expanded.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

my $top = abs_path(dirname(__FILE__) . '/../../../..');
my %running;


sub top { $top }


sub binary { $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx' }


sub module {
    return $ENV{TEST_NGINX_MODULE}
           || "$top/build/modules/ngx_http_zae_limit_module.so";
}


sub new {
    my ($class, %args) = @_;
    my $self;

    die "Test::Zae::Nginx->new: prefix missing\n" unless $args{prefix};

    $self = bless {
        prefix    => $args{prefix},
        log_level => $args{log_level} // 'debug',
        ports     => $args{ports} // [],
        env       => $args{env} // {},
    }, $class;

    for my $d ('', '/conf', '/logs', '/html', '/tmp') {
        make_path("$self->{prefix}$d");
    }

    $self->write_conf($args{conf}) if defined $args{conf};

    return $self;
}


sub prefix { $_[0]->{prefix} }


sub error_log_path { "$_[0]->{prefix}/logs/error.log" }


sub pid { $_[0]->{pid} }


sub expand_vars {
    my ($text) = @_;

    $text =~ s{\$(TEST_NGINX_[A-Z0-9_]+)}{
        defined $ENV{$1} ? $ENV{$1}
                         : die "unknown variable \"\$$1\" in test data\n"
    }ge;

    return $text;
}


# "user NAME GROUP;" of the invoking user when run as root (else empty):
# without it root's workers run as nobody, who cannot enter a checkout
# in a private folder (/root is 0700, so is mktemp -d) to serve html/ or
# write temp files.  Not root: workers run as the invoking user anyway.

sub user_directive {
    return '' if $> != 0;

    my ($name, $gid) = (getpwuid $>)[0, 3];
    my $group = getgrgid($gid) // $gid;

    return "user $name $group;\n";
}


sub globals {
    my ($self) = @_;
    my $mod = module();
    my $g = '';

    $g .= "load_module $mod;\n" unless $ENV{TEST_ZAE_NO_MODULE};
    $g .= user_directive();
    $g .= "daemon off;\n"
        . "pid logs/nginx.pid;\n"
        . "error_log logs/error.log $self->{log_level};\n";

    return $g;
}


sub globals_http {
    return join '', map { "$_\n" }
        'access_log logs/access.log;',
        'client_body_temp_path tmp/client_body;',
        'proxy_temp_path tmp/proxy;',
        'fastcgi_temp_path tmp/fastcgi;',
        'uwsgi_temp_path tmp/uwsgi;',
        'scgi_temp_path tmp/scgi;';
}


sub write_conf {
    my ($self, $conf) = @_;
    my ($g, $gh);

    $conf = expand_vars($conf);
    $g = $self->globals;
    $gh = globals_http();

    $conf = "%%TEST_GLOBALS%%\n$conf" unless $conf =~ /%%TEST_GLOBALS%%/;

    if ($conf !~ /%%TEST_GLOBALS_HTTP%%/) {
        $conf =~ s/^(\s*http\s*\{)/$1\n%%TEST_GLOBALS_HTTP%%/m;
    }

    $conf =~ s/%%TEST_GLOBALS%%/$g/g;
    $conf =~ s/%%TEST_GLOBALS_HTTP%%/$gh/g;

    open my $fh, '>', "$self->{prefix}/conf/nginx.conf"
        or die "write nginx.conf: $!\n";
    print $fh $conf;
    close $fh or die "write nginx.conf: $!\n";

    $self->{conf} = $conf;

    return $self;
}


sub conf { $_[0]->{conf} }


sub _env {
    my ($self) = @_;
    my %env = %{ $self->{env} };

    if ($ENV{TEST_ZAE_ASAN}) {
        chomp(my $asan = `gcc -print-file-name=libasan.so`);
        $env{LD_PRELOAD} = $asan;
        $env{ASAN_OPTIONS} //= 'detect_leaks=0:detect_odr_violation=0'
                               . ':abort_on_error=0';
        $env{UBSAN_OPTIONS} //= 'print_stacktrace=1';
    }

    return \%env;
}


sub _spawn {
    my ($self, @args) = @_;
    my ($env, $pid);

    $env = $self->_env;

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        $ENV{$_} = $env->{$_} for keys %$env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{prefix}/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        no warnings q(exec);
        exec binary(), '-p', "$self->{prefix}/", '-c', 'conf/nginx.conf',
             '-e', 'logs/error.log', @args;
        POSIX::_exit(127);
    }

    return $pid;
}


# nginx -t on the current conf: returns (exit code, output)

sub check_conf {
    my ($self) = @_;
    my ($pid, $out);

    unlink "$self->{prefix}/logs/t.log";
    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        my $env = $self->_env;
        $ENV{$_} = $env->{$_} for keys %$env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$self->{prefix}/logs/t.log";
        open STDERR, '>&', \*STDOUT;
        no warnings q(exec);
        exec binary(), '-t', '-p', "$self->{prefix}/", '-c',
             'conf/nginx.conf', '-e', 'logs/error.log';
        POSIX::_exit(127);
    }

    waitpid($pid, 0);

    # a crash of nginx -t is not a success: 128 + the signal, as a shell says
    my $rc = ($? & 127) ? 128 + ($? & 127) : $? >> 8;

    $out = do { local (@ARGV, $/) = "$self->{prefix}/logs/t.log"; <> } // '';

    return ($rc, $out);
}


sub log_size {
    my ($self) = @_;

    return -s $self->error_log_path() // 0;
}


sub error_log {
    my ($self, $from) = @_;
    my $text = '';

    for my $f ($self->error_log_path(), "$self->{prefix}/logs/stderr.log") {
        open my $fh, '<', $f or next;
        seek $fh, $from, 0 if $from && $f eq $self->error_log_path();
        local $/;
        $text .= <$fh> // '';
        close $fh;
        last if $from;
    }

    return $text;
}


sub _port_open {
    my ($port) = @_;

    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Proto => 'tcp', Timeout => 1) ? 1 : 0;
}


sub _listen_ports {
    my ($self) = @_;
    my %ports;

    for my $p (@{ $self->{ports} }) {
        $ports{$p} = 1;
    }

    while (($self->{conf} // '')
           =~ /^\s*listen\s+(?:127\.0\.0\.1:)?(\d+)(?![\d.])/mg)
    {
        $ports{$1} = 1;
    }

    return sort keys %ports;
}


# starts nginx and waits until its pid file exists and every "listen"
# port answers.  must_die => 1: waits for nginx to exit instead and
# returns its exit code.

sub start {
    my ($self, %args) = @_;
    my ($pid, $deadline, $rc);

    die "nginx already running\n" if $self->{pid};

    unlink "$self->{prefix}/logs/nginx.pid";
    $pid = $self->_spawn();
    $deadline = time + ($args{timeout} // 20);

    if ($args{must_die}) {
        while (time < $deadline) {
            if (waitpid($pid, WNOHANG) == $pid) {
                return $? >> 8;
            }
            sleep 0.02;
        }

        $self->{pid} = $pid;
        $running{$pid} = $self;
        $self->stop(no_check => 1);
        return undef;
    }

    $self->{pid} = $pid;
    $running{$pid} = $self;

    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $rc = $? >> 8;
            delete $running{$pid};
            delete $self->{pid};
            die "nginx exited with code $rc at start:\n"
                . _tail($self->error_log(), 15);
        }

        if (-s "$self->{prefix}/logs/nginx.pid"
            && !grep { !_port_open($_) } $self->_listen_ports())
        {
            return $self;
        }

        sleep 0.02;
    }

    $self->stop(no_check => 1);
    die "nginx did not come up in time:\n" . _tail($self->error_log(), 15);
}


sub _tail {
    my ($text, $n) = @_;
    my @l = split /\n/, $text;

    splice @l, 0, @l - $n if @l > $n;

    return join '', map { "    $_\n" } @l;
}


# the pids of the master's children (workers, cache helpers)

sub workers {
    my ($self) = @_;
    my @pids;

    return () unless $self->{pid};

    opendir my $dh, '/proc' or return ();

    for my $p (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // '';
        close $fh;
        # pid (comm) state ppid ...
        push @pids, $p if $stat =~ /\)\s+\S+\s+(\d+)/
                          && $1 == $self->{pid};
    }

    closedir $dh;

    return sort { $a <=> $b } @pids;
}


# rewrites the conf (if given) and reloads (HUP, as nginx -s reload
# does); returns 1 once new workers run and the old ones have exited,
# 0 if the new conf was refused ([emerg] in the log: the old workers go
# on); dies after timeout (20 s)

sub reload {
    my ($self, %args) = @_;
    my ($from, $deadline, %old);

    die "nginx not running\n" unless $self->{pid};

    $self->write_conf($args{conf}) if defined $args{conf};
    $from = $self->log_size;
    %old = map { $_ => 1 } $self->workers;

    kill 'HUP', $self->{pid};
    $deadline = time + ($args{timeout} // 20);

    while (time < $deadline) {
        my @now = $self->workers;

        # new workers up and the old ones gone (an old worker may still
        # accept a connection until it has handled its QUIT)
        if ((grep { !$old{$_} } @now) && !(grep { $old{$_} } @now)) {
            return 1;
        }
        if ($self->error_log($from) =~ /\[emerg\]/) {
            return 0;
        }
        sleep 0.05;
    }

    die "nginx reload: old workers still running or no new ones\n";
}


# QUIT (graceful), then TERM, then KILL of the whole process group;
# then, unless no_check, one test: the error log of this instance has
# no [alert], no [emerg] and no sanitizer report

sub stop {
    my ($self, %args) = @_;
    my ($pid, $deadline, $gone);

    $pid = delete $self->{pid};

    if ($pid) {
        delete $running{$pid};

        for my $sig ('QUIT', 'TERM', 'KILL') {
            if ($sig eq 'KILL') {
                kill 'KILL', -$pid;
            } else {
                kill $sig, $pid;
            }

            $deadline = time + ($sig eq 'QUIT' ? 15 : 5);
            $gone = 0;

            while (time < $deadline) {
                my $r = waitpid($pid, WNOHANG);
                if ($r == $pid || $r == -1) {
                    $gone = 1;
                    last;
                }
                sleep 0.02;
            }

            last if $gone;
            Test::More::diag("nginx $pid did not exit on $sig");
        }

        # workers left behind by a crashed master
        kill 'KILL', -$pid;
    }

    return 1 if $args{no_check};

    $self->{checked} = 1;

    return check_hygiene($self->error_log($args{from} // 0),
                         $args{name} // "nginx $self->{prefix}: error log "
                                        . 'clean',
                         $args{allow_emerg});
}


# what sanitizer reports look like (not just the words, which a debug
# log may echo from a request)

our $sanitizer = qr/==\d+==\s*ERROR:\s*\w*Sanitizer|SUMMARY:\s*\w*Sanitizer
                   |:\d+(?::\d+)?:\s*runtime\ error:/x;


# the lines of a log that break the hygiene rule: [alert], [emerg]
# (unless allowed), a sanitizer report

sub hygiene_problems {
    my ($log, $allow_emerg) = @_;
    my $pat;

    $pat = $allow_emerg ? qr/\[alert\]|$sanitizer/
                        : qr/\[alert\]|\[emerg\]|$sanitizer/;

    return grep { /$pat/ } split /\n/, $log;
}


# one test: hygiene_problems() finds nothing

sub check_hygiene {
    my ($log, $name, $allow_emerg) = @_;
    my @bad = hygiene_problems($log, $allow_emerg);

    Test::More::ok(!@bad, $name)
        or Test::More::diag(join "\n", map { "    $_" }
                                        @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

    return !@bad;
}


sub stop_all {
    for my $n (values %running) {
        $n->stop(no_check => 1);
    }
}


# a raw HTTP/1.x exchange; returns { status, headers (lower-case names,
# first value), header_list, body, raw } or { error } on failure

sub http {
    my ($port, $raw, %args) = @_;
    my ($sock, $buf, $deadline, $res);

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp',
                                  Timeout => $args{timeout} // 10)
        or return { error => "connect 127.0.0.1:$port: $!" };

    $sock->autoflush(1);
    print $sock $raw;

    $buf = '';
    $deadline = time + ($args{timeout} // 10);

    my $sel = '';
    vec($sel, fileno($sock), 1) = 1;

    while (time < $deadline) {
        my $rin = $sel;
        my $n = select($rin, undef, undef, 0.2);
        next unless $n;
        my $got = sysread($sock, my $chunk, 65536);
        last unless $got;
        $buf .= $chunk;
        last if _complete($buf);
    }

    close $sock;

    return parse_response($buf) if length $buf;
    return { error => 'no response (timeout or connection closed)' };
}


# a whole response is in: needed when the connection stays open
# (keep-alive); responses without a length end at connection close

sub _complete {
    my ($buf) = @_;
    my ($head, $body);

    return 0 unless $buf =~ /\r?\n\r?\n/;

    ($head, $body) = split /\r?\n\r?\n/, $buf, 2;

    return 1 if $head =~ m{^HTTP/\d\.\d\s+(?:204|304)\b};

    if ($head =~ /^Content-Length:\s*(\d+)\s*$/mi) {
        return length($body) >= $1;
    }

    if ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        return $body =~ /(?:^|\r\n)0(?:;[^\r\n]*)?\r\n
                         (?:[^\r\n]+\r\n)*\r\n\z/x;
    }

    return 0;
}


sub parse_response {
    my ($buf) = @_;
    my ($head, $body, @lines, $status, %h, @list);

    ($head, $body) = split /\r?\n\r?\n/, $buf, 2;
    $body //= '';
    @lines = split /\r?\n/, $head;

    my $sl = shift @lines // '';
    ($status) = $sl =~ m{^HTTP/\d\.\d\s+(\d{3})}
        or return { error => "bad status line \"$sl\"", raw => $buf };

    for my $l (@lines) {
        my ($k, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @list, [$k, $v];
        $h{lc $k} //= $v;
    }

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r?\n//) {
            my $len = hex $1;
            last if $len == 0;
            $out .= substr($body, 0, $len, '');
            $body =~ s/^\r?\n//;
        }
        $body = $out;
    }

    return { status => $status, headers => \%h, header_list => \@list,
             body => $body, raw => $buf };
}


# builds a request from "METHOD URI [HTTP/x.y]\nbody" plus header lines

sub build_request {
    my ($spec, %args) = @_;
    my ($line, $body, $hdr, %have);

    ($line, $body) = split /\n/, $spec, 2;
    $body //= '';
    $line =~ s/\s+$//;
    $line .= ' HTTP/1.1' unless $line =~ m{\sHTTP/\d\.\d$};

    $hdr = '';

    for my $l (split /\n/, $args{headers} // '') {
        next unless $l =~ /\S/;
        my ($k) = $l =~ /^([^:]+):/ or next;
        $have{lc $k} = 1;
        $hdr .= "$l\r\n";
    }

    $hdr = "Host: localhost\r\n$hdr" unless $have{host};
    $hdr .= "Connection: close\r\n" unless $have{connection};

    if ((length $body || $line =~ /^(POST|PUT|PATCH) /)
        && !$have{'content-length'} && !$have{'transfer-encoding'})
    {
        $hdr .= 'Content-Length: ' . length($body) . "\r\n";
    }

    return "$line\r\n$hdr\r\n$body";
}


sub DESTROY {
    my ($self) = @_;

    $self->stop(no_check => 1) if $self->{pid};
}


1;
