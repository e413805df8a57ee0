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
#
# admin_setup() starts an admin test; admin_ddb() and admin_item() look
# at the table directly.

use strict;
use warnings;

use Exporter 'import';
use IPC::Open3;
use File::Temp qw(tempfile);
use HTTP::Tiny;
use JSON::PP;
use Test::More ();

our @EXPORT = qw(zae_admin admin_setup admin_ddb admin_item);

my $json = JSON::PP->new->canonical;
my $http = HTTP::Tiny->new(timeout => 10);


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



# admin_setup(VARS): skips the file without DynamoDB Local, dies without
# the binary; static credentials (AKIDADMINTEST), and none of the
# variables that would send zae-admin elsewhere (nor VARS).  The
# DynamoDB endpoint

sub admin_setup {
    my (@more) = @_;
    my ($ep, $bin);

    $ep = $ENV{TEST_NGINX_DDB_ENDPOINT};
    $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

    Test::More::plan(skip_all => 'TEST_NGINX_DDB_ENDPOINT not set')
        unless $ep;
    die "zae-admin binary $bin missing\n" unless -x $bin;

    delete $ENV{$_} for qw(AWS_SESSION_TOKEN ZAEL_STACK ZAEL_NAMESPACE
                           AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB), @more;
    $ENV{AWS_ACCESS_KEY_ID} = 'AKIDADMINTEST';
    $ENV{AWS_SECRET_ACCESS_KEY} = 'secret';

    return $ep;
}


# admin_ddb(op, body): one call to DynamoDB Local (any signature does),
# the decoded answer; dies on an error

sub admin_ddb {
    my ($op, $body) = @_;
    my $r;

    $r = $http->post($ENV{TEST_NGINX_DDB_ENDPOINT}, {
        headers => {
            'X-Amz-Target' => "DynamoDB_20120810.$op",
            'Content-Type' => 'application/x-amz-json-1.0',
            'X-Amz-Date' => '20260101T000000Z',
            'Authorization' => 'AWS4-HMAC-SHA256 Credential=AKIDADMINTEST/'
                . '20260101/us-east-1/dynamodb/aws4_request, '
                . 'SignedHeaders=host, Signature=00',
        },
        content => $json->encode($body),
    });

    die "$op failed: $r->{status} $r->{content}\n" unless $r->{success};
    return eval { decode_json($r->{content}) } || {};
}


# admin_item(table, pk, sk): the item (consistent read), or undef

sub admin_item {
    my ($table, $pk, $sk) = @_;

    return admin_ddb('GetItem', { TableName => $table, ConsistentRead => \1,
                                  Key => { PK => { S => $pk },
                                           SK => { S => $sk } } })->{Item};
}


1;
