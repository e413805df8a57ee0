#!/usr/bin/perl
#
# zae-admin with web identity credentials (issue 10 point 12): the same
# core provider as the module, its STS call through libcurl.  STS is
# util/fake-sts.pl (A FAKE: real STS cannot be reached); DynamoDB Local
# is real, behind util/fake-fault-proxy.pl in pass mode, which logs the
# access key id of each signed request.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::FakeSTS;
use Test::Zae::FaultProxy;
use IPC::Open3;
use File::Temp qw(tempfile tempdir);

my $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';
die "zae-admin binary $bin missing\n" unless -x $bin;

my ($env, $sts, $proxy, $dir, $token, $cred_log, $rc, $out, $err, @req);
my @printed;

$env = zae_env();
$dir = tempdir(CLEANUP => 1);
$token = "$dir/token";
$cred_log = "$dir/signed-with";

$sts = Test::Zae::FakeSTS->start;
$proxy = Test::Zae::FaultProxy->start(log_credential => $cred_log);

delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
                       AWS_SESSION_TOKEN AWS_PROFILE AWS_ROLE_SESSION_NAME
                       AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB
                       AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
                       AWS_CONTAINER_CREDENTIALS_FULL_URI
                       ZAEL_STACK ZAEL_NAMESPACE);
$ENV{HOME} = $dir;
$ENV{AWS_SHARED_CREDENTIALS_FILE} = "$dir/none";
$ENV{AWS_CONFIG_FILE} = "$dir/none";
$ENV{AWS_EC2_METADATA_DISABLED} = 'true';
$ENV{AWS_ROLE_ARN} = 'arn:aws:iam::123456789012:role/zae-admin-fake';
$ENV{AWS_ENDPOINT_URL_STS} = $sts->url;

sub admin {
    my ($tok, @args) = @_;
    local $ENV{AWS_WEB_IDENTITY_TOKEN_FILE} = $tok;
    my ($fh) = tempfile(UNLINK => 1);
    my $pid = open3(my $in, my $o, '>&' . fileno($fh), $bin,
                    '--endpoint-url', 'http://127.0.0.1:' . $proxy->port,
                    '-n', $env->{TEST_NGINX_TABLE}, @args);
    close $in;
    my $stdout = do { local $/; <$o> };
    waitpid $pid, 0;
    my $code = $? >> 8;
    seek $fh, 0, 0;
    my $stderr = do { local $/; <$fh> };
    push @printed, $stdout // '', $stderr // '';
    return ($code, $stdout // '', $stderr // '');
}

sub signed_with {
    open my $fh, '<', $cred_log or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

open my $fh, '>', $token or die "$token: $!\n";
print $fh "admin-web-token\n";
close $fh;

# credentials from STS sign the DynamoDB calls -----------------------------

$sts->mode('ok akid=ASIAADMINWEB secret=admin-web-secret '
           . 'token=admin-web-session');

($rc, $out, $err) = admin($token, 'entity', 'create', 'web-admin-1');
is($rc, 0, 'entity create with web identity credentials') or diag($err);

($rc, $out, $err) = admin($token, 'entity', 'show', 'web-admin-1');
is($rc, 0, 'entity show') or diag($err);
like($out, qr/web-admin-1/, 'the entity was written to DynamoDB Local');

# (zae-admin also asks STS GetCallerIdentity for the audit principal)
@req = grep { /Action=AssumeRoleWithWebIdentity/ } $sts->requests;
is(scalar @req, 2, 'one AssumeRoleWithWebIdentity call per run');
like($req[0], qr{^POST / Action=AssumeRoleWithWebIdentity Version=2011-06-15 RoleArn=arn:aws:iam::123456789012:role/zae-admin-fake RoleSessionName=zae-limit-\d+ WebIdentityToken=admin-web-token$},
     'the STS call: role, generated session name, token');

my @keys = signed_with();
ok(@keys >= 2, 'signed requests went through the proxy');
is_deeply([grep { $_ ne 'ASIAADMINWEB' } @keys], [],
          'every one signed with the access key STS handed out');

# STS refuses: the error names STS and its code -----------------------------

$sts->mode('denied');

($rc, $out, $err) = admin($token, 'entity', 'show', 'web-admin-1');
is($rc, 1, 'STS refuses: exit 1');
like($err, qr/no AWS credentials: web identity: STS AssumeRoleWithWebIdentity refused \(status 403\): AccessDenied: Not authorized/,
     'the error names STS and its code');

# the token file is missing ---------------------------------------------------

$sts->mode('ok');

($rc, $out, $err) = admin("$dir/missing-token", 'entity', 'show',
                          'web-admin-1');
is($rc, 1, 'missing token file: exit 1');
like($err, qr{web identity: cannot read token file "\Q$dir\E/missing-token": No such file or directory},
     'the error names the file and the cause');

unlike(join('', @printed),
       qr/admin-web-secret|admin-web-session|admin-web-token/,
       'no secret or token printed by any run');

done_testing();
