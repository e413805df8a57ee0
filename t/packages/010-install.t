#!/usr/bin/perl
#
# The packages of `make deb` on this machine, the path docs/packaging.md
# gives a user: apt install ./build/deb/*.deb, the stock `nginx -t` with
# the module enabled through modules-enabled, a zae_limit location in
# /etc/nginx/conf.d/ and `nginx -s reload` (`systemctl reload nginx`
# where systemd runs nginx; these machines have no systemd), the limit
# enforced against DynamoDB Local (429 after it), the metrics through
# promtool, man zae-admin, the bash completion, systemd-analyze verify
# on the unit, lintian; then apt remove (the link out of nginx's way),
# apt purge, and the machine must be as before (every file the packages
# or the test touched, the modules-enabled link gone).
#
# Run by `make test-packages` alone: it installs into the machine's
# nginx, which the other suites run with their own prefix and config;
# it must never share a prove run with them.  On any failure or signal
# the END block removes the test's files, stops the nginx it started
# and purges the packages.

use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use FindBin;
use HTTP::Tiny;
use Time::HiRes qw(sleep time);

my $top = abs_path("$FindBin::Bin/../..");
chdir $top or die "$top: $!\n";

my $ep = $ENV{TEST_NGINX_DDB_ENDPOINT}
    or die "TEST_NGINX_DDB_ENDPOINT not set: run through make test-packages\n";
die "the package test installs packages: run it as root\n" if $> != 0;

my @pkgs = qw(libnginx-mod-http-zae-limit zae-admin);
my @debs = map { glob("build/deb/${_}_*.deb") } @pkgs;
die "build/deb/ has not the two packages: run make deb\n" unless @debs == 2;

my $promtool = ($ENV{ZAE_CACHE} // "$top/.cache") . '/promtool/promtool';
die "$promtool missing: util/deps.sh packages\n" unless -x $promtool;

my $link = '/etc/nginx/modules-enabled/50-mod-http-zae-limit.conf';
my $avail = '/usr/share/nginx/modules-available/mod-http-zae-limit.conf';
my $site = '/etc/nginx/conf.d/zae-limit-package-test.conf';
my $envconf = '/etc/nginx/modules-enabled/99-zae-limit-package-test.conf';
my $unit = '/lib/systemd/system/zae-admin-aggregate.service';
my $pidfile = '/run/nginx.pid';
my $apt = 'apt-get -y -qq -o DPkg::Lock::Timeout=300';

my ($ver) = slurp('src/core/zae_version.h')
            =~ /^#define ZAE_VERSION\s+"(.+)"/m or die "no ZAE_VERSION\n";

my ($installed, $started_nginx, $http);
my $t0 = time;

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($f, $s) = @_;
    open my $fh, '>', $f or die "$f: $!\n";
    print $fh $s;
    close $fh or die "$f: $!\n";
}

# runs a shell command line, returns (exit code, stdout + stderr)
sub sh {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out // '');
}

sub pkg_state {
    my ($p) = @_;
    my $s = `dpkg-query -W -f='\${db:Status-Status}' $p 2>/dev/null`;
    return length $s ? $s : 'not-installed';
}

# the files the packages and this test may touch, with type, mode and
# link target; the same before the install and after the purge
sub manifest {
    my @roots = ('/etc/nginx', '/usr/lib/nginx', '/usr/share/nginx',
                 '/etc/default/zae-admin-aggregate', $unit,
                 '/usr/bin/zae-admin', '/usr/share/man/man1/zae-admin.1.gz',
                 '/usr/share/bash-completion/completions/zae-admin',
                 map({ "/usr/share/doc/$_" } @pkgs),
                 '/var/lib/systemd/deb-systemd-helper-enabled',
                 '/var/lib/systemd/deb-systemd-helper-masked');
    my @e = grep { -e $_ || -l $_ } @roots;
    return '' unless @e;
    return scalar `find @e -printf '%p %y %m %l\\n' 2>/dev/null | sort`;
}

sub nginx_pid {
    my $pid = slurp($pidfile) // '';
    ($pid) = $pid =~ /^(\d+)/;
    return undef unless $pid && kill 0, $pid;
    my $exe = readlink("/proc/$pid/exe") // '';
    return $exe eq '/usr/sbin/nginx' ? $pid : undef;
}

sub get {
    my ($port, $path, %h) = @_;
    return $http->get("http://127.0.0.1:$port$path", { headers => \%h });
}

# the new configuration answers once the reload is done
sub wait_port {
    my ($port, $path) = @_;
    my $r;
    for (1 .. 100) {
        $r = get($port, $path);
        return $r if $r->{status} != 599;
        sleep 0.1;
    }
    return $r;
}

# systemctl where systemd runs nginx, else the signal (no systemd here)
sub reload_cmd {
    return -d '/run/systemd/system'
           && system('systemctl -q is-active nginx 2>/dev/null') == 0
           ? 'systemctl reload nginx' : '/usr/sbin/nginx -s reload';
}

sub cleanup {
    unlink $site, $envconf;
    if ($started_nginx && nginx_pid()) {
        system('/usr/sbin/nginx -s quit >/dev/null 2>&1');
        for (1 .. 100) { last unless nginx_pid(); sleep 0.1 }
    } elsif (nginx_pid()) {
        system(reload_cmd() . ' >/dev/null 2>&1');
    }
    $started_nginx = 0;
    if ($installed) {
        system("$apt purge @pkgs >/dev/null 2>&1");
        $installed = 0;
    }
}

END {
    local $?;
    cleanup();
}

$SIG{INT} = $SIG{TERM} = sub { diag('caught a signal, cleaning up'); exit 1 };

$http = HTTP::Tiny->new(timeout => 10);

for my $p (@pkgs) {
    die "$p is installed already (state " . pkg_state($p) . "): this test "
        . "installs and purges it; apt purge it first\n"
        if pkg_state($p) ne 'not-installed';
}
die "$site or $envconf exists: a previous run left it, remove it\n"
    if -e $site || -e $envconf;

my $before = manifest();
my $nginx_was_running = nginx_pid();


# install -------------------------------------------------------------------

$installed = 1;
my ($rc, $out) = sh("$apt install " . join(' ', map { "./$_" } @debs));
is($rc, 0, 'apt install ./build/deb/*.deb') or diag $out;
is(pkg_state($_), 'installed', "$_ installed") for @pkgs;

is(readlink($link), $avail, "$link -> $avail");
is(slurp($avail), "load_module modules/ngx_http_zae_limit_module.so;\n",
   'the load_module line');
ok(-f '/usr/lib/nginx/modules/ngx_http_zae_limit_module.so',
   'the module in /usr/lib/nginx/modules/');

my ($abi) = `dpkg-query -W -f='\${Provides}' nginx` =~ /(nginx-abi-[^\s,]+)/;
like(`dpkg-query -W -f='\${Depends}' libnginx-mod-http-zae-limit`,
     qr/(^|, )\Q$abi\E(,|$)/, "the module depends on $abi (nginx's)");
like(`dpkg-query -W -f='\${Depends}' zae-admin`, qr/libcurl4 \(>= /,
     'zae-admin depends on the libraries it links (dpkg-shlibdeps)');

($rc, $out) = sh('/usr/sbin/nginx -t');
is($rc, 0, 'stock nginx -t with the module enabled') or diag $out;


# zae-admin from the package: a table with a system default -----------------

my $table = "zt-pkg-$$";
my @za = ('/usr/bin/zae-admin', '--endpoint-url', $ep, '-n', $table);
local $ENV{AWS_ACCESS_KEY_ID} = 'AKIDPKGTEST';
local $ENV{AWS_SECRET_ACCESS_KEY} = 'pkg-test-secret';

($rc, $out) = sh("@za version");
like($out, qr/^zae-admin:\s+\Q$ver\E$/m, "zae-admin version: $ver");
($rc, $out) = sh("@za deploy");
is($rc, 0, 'zae-admin deploy') or diag $out;
($rc, $out) = sh("@za system set-defaults -l rpm:3/min");
is($rc, 0, 'zae-admin system set-defaults -l rpm:3/min') or diag $out;


# a zae_limit location in conf.d, nginx reloaded ----------------------------

chomp(my $port = `util/free-port 1`);

# credentials for the workers: env is a main-context directive, and the
# stock nginx.conf includes modules-enabled/*.conf there
spew($envconf, "env AWS_ACCESS_KEY_ID=AKIDPKGTEST;\n"
               . "env AWS_SECRET_ACCESS_KEY=pkg-test-secret;\n");

if (!$nginx_was_running) {
    # started as a user's machine runs it, before the location is added
    ($rc, $out) = sh('/usr/sbin/nginx');
    is($rc, 0, 'stock nginx started (it was not running)') or diag $out;
    $started_nginx = 1;
}

spew($site, <<"EOF");
zae_limit_dynamodb table=$table region=us-east-1 endpoint=$ep timeout=2s;

server {
    listen 127.0.0.1:$port;

    location /v1/ {
        zae_limit entity=\$http_x_api_key resource=api consume=rpm:1;
        proxy_pass http://127.0.0.1:$port/upstream;
    }

    location /upstream {
        return 200 "upstream\\n";
    }

    location = /metrics {
        zae_limit_metrics;
    }
}
EOF

($rc, $out) = sh('/usr/sbin/nginx -t');
is($rc, 0, 'nginx -t with the zae_limit location') or diag $out;
($rc, $out) = sh(reload_cmd());
is($rc, 0, reload_cmd()) or diag $out;

wait_port($port, '/upstream');

my @st = map { get($port, '/v1/chat', 'X-Api-Key' => 'pkg-user')->{status} }
         1 .. 4;
is_deeply(\@st, [200, 200, 200, 429],
          'rpm:3 from the table: three admitted, the fourth 429');


# metrics through promtool --------------------------------------------------

my $m = get($port, '/metrics');
is($m->{status}, 200, 'metrics served');
like($m->{content}, qr/^zae_limit_build_info\{version="\Q$ver\E"\} 1$/m,
     "zae_limit_build_info{version=\"$ver\"} 1");
like($m->{content},
     qr/^zae_limit_requests_total\{outcome="rejected"\} 1$/m,
     'the 429 counted');

my $mfile = "build/deb-work/metrics.txt";
spew($mfile, $m->{content});
($rc, $out) = sh("$promtool check metrics < $mfile");
is($rc, 0, 'promtool check metrics: no problem') or diag $out;
is($out, '', 'promtool says nothing') or diag $out;

# the check itself: a family without HELP is reported
(my $bad = $m->{content}) =~ s/^# HELP zae_limit_build_info .*\n//m;
spew("$mfile.bad", $bad);
($rc, $out) = sh("$promtool check metrics < $mfile.bad");
like($out, qr/zae_limit_build_info.*no help text/,
     'promtool reports a family without HELP (the check checks)');


# man page, completion, unit ------------------------------------------------

($rc, $out) = sh('MANPAGER=cat MANWIDTH=200 man zae-admin');
is($rc, 0, 'man zae-admin') or diag $out;
my @cmds = `/usr/bin/zae-admin --help`
           =~ /^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?= |$)/mg;
ok(@cmds > 30, scalar(@cmds) . ' commands in zae-admin --help');
my @missing = grep { $out !~ /^\s+\Q$_\E\b/m } @cmds;
is("@missing", '', 'man zae-admin has every command of --help');

my $comp = '/usr/share/bash-completion/completions/zae-admin';
ok(-f $comp, $comp);
$out = `bash -c 'source $comp; COMP_WORDS=(zae-admin entity s); COMP_CWORD=2;
                  _zae_admin; echo "\${COMPREPLY[*]}"'`;
is($out, "set-limits show\n", 'completion: zae-admin entity s<TAB>');

my $u = slurp($unit) // '';
like($u, qr{^EnvironmentFile=/etc/default/zae-admin-aggregate$}m,
     'the unit reads /etc/default/zae-admin-aggregate');
like($u, qr{^ExecStart=/usr/bin/zae-admin aggregate --follow}m,
     'the unit runs aggregate --follow');
like($u, qr/^Restart=on-failure$/m, 'Restart=on-failure');
is((stat '/etc/default/zae-admin-aggregate')[2] & 07777, 0600,
   'the credentials file is 0600');
like(slurp('/etc/default/zae-admin-aggregate'),
     qr/^ZAEL_STACK=.*^AWS_REGION=.*^#AWS_ENDPOINT_URL_DYNAMODB=.*
        ^#AWS_ACCESS_KEY_ID=/msx,
     'table, region, endpoint and credentials in the defaults file');
($rc, $out) = sh("systemd-analyze verify $unit");
is($rc, 0, 'systemd-analyze verify') or diag $out;
is($out, '', 'systemd-analyze has no warning') or diag $out;

for my $p (@pkgs) {
    ok(-f "/usr/share/doc/$p/changelog.gz", "$p: changelog.gz");
    like(`zcat /usr/share/doc/$p/changelog.gz`, qr/^## \Q$ver\E\b/m,
         "$p: changelog.gz is docs/CHANGELOG.md");
}


# lintian: no error, the warnings are the ones docs/packaging.md explains ---

($rc, $out) = sh("lintian --allow-root @debs");
my @errors = $out =~ /^E: (.*)$/mg;
is("@errors", '', 'lintian: no error');
my %warn = map { /^W: (\S+): (\S+)/ ? ("$1 $2" => 1) : () }
           split /\n/, $out;
my %doc = map { /^\| `([a-z0-9-]+)` \| `([a-z0-9-]+)` \|/ ? ("$1 $2" => 1)
                                                          : () }
          split /\n/, slurp('docs/packaging.md');
is(join(', ', sort keys %warn), join(', ', sort keys %doc),
   'lintian warnings = those listed in docs/packaging.md');


# purge: the machine as before ----------------------------------------------

unlink $site, $envconf;
if ($started_nginx) {
    system('/usr/sbin/nginx -s quit 2>/dev/null');
    for (1 .. 100) { last unless nginx_pid(); sleep 0.1 }
    ok(!nginx_pid(), 'the nginx started here stopped');
    $started_nginx = 0;
} else {
    ($rc, $out) = sh(reload_cmd());
    is($rc, 0, 'nginx reloaded without the test location') or diag $out;
}

# remove first: Debian renames the link to .removed (out of nginx's
# *.conf include) and keeps it for a reinstall; purge deletes it
($rc, $out) = sh("$apt remove @pkgs");
is($rc, 0, 'apt remove') or diag $out;
ok(!-e $link && !-l $link, 'removed: 50-mod-http-zae-limit.conf gone');
is(readlink("$link.removed"), $avail, 'removed: the .removed link kept');
($rc, $out) = sh('/usr/sbin/nginx -t');
is($rc, 0, 'removed: stock nginx -t passes') or diag $out;

($rc, $out) = sh("$apt purge @pkgs");
is($rc, 0, 'apt purge') or diag $out;
$installed = 0;
is(pkg_state($_), 'not-installed', "$_ purged") for @pkgs;
ok(!-e $link && !-l $link && !-l "$link.removed",
   'the modules-enabled link is gone');
my $after = manifest();
is($after, $before, 'every file as before the install');

diag(sprintf 'package test: %.0f s', time - $t0);

done_testing();
