# zae-admin under valgrind (--leak-check=full --error-exitcode=1): a
# whole session against DynamoDB Local, from deploy to delete, plus the
# commands that fail (usage errors, bad names, missing items).  Every run
# must end with its expected exit code, no memory error and no leak.
# Skipped, visibly, when build/zae-admin or valgrind is absent.
#
# valgrind costs about a second per run: make test runs a representative
# session (the vg() calls), ZAE_ADMIN_VALGRIND=all (make
# test-reliability) the vg_all() ones too.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();

my ($bin, $ep, $table, $tmp, $runs);

$bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

if (!-x $bin) {
    plan skip_all => "$bin absent (zae-admin not built)";
}

if (system('valgrind --version >/dev/null 2>&1') != 0) {
    plan skip_all => 'valgrind absent (apt-get install valgrind)';
}

# under make test-asan the binary is an ASan build, which valgrind
# cannot run; the ASan run checks it instead

if ($bin =~ m{/asan/} || $ENV{TEST_ZAE_ASAN}) {
    plan skip_all => "$bin is an ASan build: valgrind runs on the plain one";
}

require Test::Zae;
Test::Zae->import();

$ep = zae_env()->{TEST_NGINX_DDB_ENDPOINT};
$table = "zt-admin-vg-$$";
$tmp = tempdir(CLEANUP => 1);
$runs = 0;

$ENV{AWS_ACCESS_KEY_ID} = 'AKIDLOCAL';
$ENV{AWS_SECRET_ACCESS_KEY} = 'x';
delete $ENV{$_} for qw(AWS_SESSION_TOKEN ZAEL_STACK ZAEL_NAMESPACE
                       AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB);


# runs zae-admin under valgrind; returns (exit code, stdout); two tests:
# the exit code, and valgrind's verdict

my $all = ($ENV{ZAE_ADMIN_VALGRIND} // '') eq 'all';


# a command that only the full run takes

sub vg_all {
    return unless $all;
    return vg(@_);
}


sub vg {
    my ($want, @args) = @_;
    my ($log, $out, $rc, $vlog, $name, $pid);

    $runs++;
    $log = "$tmp/vg-$runs.log";
    $out = "$tmp/out-$runs";
    $name = join ' ', @args;
    $name = substr($name, 0, 60) . '...' if length $name > 63;

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        no warnings qw(exec);
        exec 'valgrind', '-q', '--leak-check=full', '--error-exitcode=1',
             '--errors-for-leak-kinds=definite,indirect,possible',
             "--log-file=$log", $bin, '--endpoint-url', $ep, '-n', $table,
             @args;
        POSIX::_exit(127);
    }

    waitpid($pid, 0);
    $rc = $? >> 8;
    $vlog = do { local (@ARGV, $/) = $log; <> } // '';

    is($rc, $want, "$name: exit code $want")
        or diag(do { local (@ARGV, $/) = $out; <> } // '');

    ok($vlog !~ /\S/, "$name: valgrind clean")
        or diag(join "\n", (split /\n/, $vlog)[0 .. 30]);

    return $rc;
}


vg(0, 'deploy', '--endpoint-url', $ep);
vg_all(0, 'version');
vg_all(0, 'status');
vg_all(0, 'check');
vg(0, 'system', 'set-defaults', '-l', 'rpm:100', '-l', 'tpm:10000/min:15000',
   '--on-unavailable', 'allow');
vg_all(0, 'system', 'get-defaults');
vg(0, '--output', 'json', 'system', 'get-defaults');
vg_all(0, 'resource', 'set-defaults', 'gpt-4', '-l', 'rpm:50/30sec');
vg_all(0, 'resource', 'get-defaults', 'gpt-4');
vg_all(0, 'resource', 'list');
vg(0, 'entity', 'create', 'proj-1', '--display-name', "Proj \xc3\xa9 1");
vg(0, 'entity', 'create', 'key-1', '--parent', 'proj-1', '--cascade');
vg(0, 'entity', 'set-limits', 'key-1', '-r', 'gpt-4', '-l', 'rpm:10',
   '-l', 'tpm:1000/hour');
vg_all(0, 'entity', 'get-limits', 'key-1', '-r', 'gpt-4');
vg(0, 'entity', 'show', 'key-1');
vg_all(0, 'entity', 'list', '--parent', 'proj-1');
vg_all(0, 'entity', 'list', '--with-custom-limits', 'gpt-4');
vg_all(0, 'entity', 'list-resources', 'key-1');
vg(0, 'available', 'key-1', 'gpt-4');
vg_all(0, 'time-until-available', 'key-1', 'gpt-4', '--needed', 'rpm:5');
vg(0, 'namespace', 'register', 'other');
vg_all(0, 'namespace', 'list');
vg_all(0, 'namespace', 'show', 'other');
vg_all(0, '--output', 'json', 'namespace', 'list');
vg_all(0, 'audit', 'list', '-e', 'key-1');
vg_all(0, 'usage', 'list', '-e', 'key-1');
vg(0, 'usage', 'summary', '-e', 'key-1');


# failures: usage errors (2) and failed operations (1), also leak-free

vg(2, 'entity', 'set-limits', 'key-1', '-r', 'gpt-4', '-l', 'rpm:x');
vg(2, 'system', 'set-defaults', '-l', 'wcu:5');
vg_all(2, 'nonsense-command');
vg_all(2, 'entity', 'create', 'bad#id');
vg(2, 'entity', 'create', 'x' x 8192);
vg(1, 'entity', 'show', 'no-such-entity');
vg_all(1, 'namespace', 'show', 'no-such-namespace');

vg_all(0, 'entity', 'delete-limits', 'key-1', '-r', 'gpt-4', '--yes');
vg_all(0, 'entity', 'delete', 'key-1', '--yes');
vg_all(0, 'namespace', 'delete', 'other', '--yes');
vg(0, 'delete', '--yes');

diag("zae-admin: $runs runs under valgrind");

done_testing();
