package Test::Zae::Admin;

# Runs the admin CLI (zae-admin) from a test: its stdout and stderr
# apart, its exit code.  Core Perl only, so that the admin tests that do
# not use Test::Zae can use it too.
#
#   use Test::Zae::Admin;
#   my ($rc, $out, $err) = zae_admin({}, '--endpoint-url', $ep, '-n', $t,
#                                    'entity', 'show', 'key-1');
#   zae_admin({ stdin => $yaml, env => { AWS_PROFILE => undef } }, ...);
#
# env: variables set for the run (undef: removed); stdin: a text written
# to its standard input (none: closed at once).  The binary is
# $TEST_NGINX_ZAE_ADMIN, or build/zae-admin.

use strict;
use warnings;

use Exporter 'import';
use IPC::Open3;
use File::Temp qw(tempfile);

our @EXPORT = qw(zae_admin);


sub zae_admin {
    my ($opt, @args) = @_;
    my ($env, $bin, $fh, $pid, $stdout, $stderr, $rc);

    $env = $opt->{env} // {};
    $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

    local %ENV = (%ENV, %$env);
    for (keys %$env) { delete $ENV{$_} unless defined $env->{$_} }

    ($fh) = tempfile(UNLINK => 1);
    $pid = open3(my $in, my $out, '>&' . fileno($fh), $bin, @args);
    print $in $opt->{stdin} if defined $opt->{stdin};
    close $in;
    $stdout = do { local $/; <$out> };
    waitpid $pid, 0;
    $rc = $? >> 8;
    seek $fh, 0, 0;
    $stderr = do { local $/; <$fh> };

    return ($rc, $stdout // '', $stderr // '');
}


1;
