# Web identity credentials (issue 10 point 12): AWS_WEB_IDENTITY_TOKEN_FILE
# and AWS_ROLE_ARN (what EKS gives a pod) exchanged for temporary
# credentials by STS AssumeRoleWithWebIdentity, through the module's own
# client from the worker's timer.  STS is util/fake-sts.pl (A FAKE: real
# STS cannot be reached); DynamoDB Local is real, behind
# util/fake-fault-proxy.pl in pass mode, which logs the access key id of
# each signed request: the key STS handed out is the one that signs.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::FakeSTS;
use Test::Zae::FaultProxy;
use Time::HiRes qw(sleep time);

my ($env, $ddb, $nsid, $sts, $proxy, $n, $r, $token, $cred_log, @req);
my @logs;

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};
$token = "$env->{TEST_NGINX_SERVROOT}-web-identity-token";
$cred_log = "$env->{TEST_NGINX_SERVROOT}-signed-with";
unlink $cred_log;

$sts = Test::Zae::FakeSTS->start;
$proxy = Test::Zae::FaultProxy->start(log_credential => $cred_log);

workers(1);

sub write_token {
    open my $fh, '>', "$token.tmp" or die "$token: $!\n";
    print $fh "$_[0]\n";
    close $fh;
    rename "$token.tmp", $token or die "$token: $!\n";
}

sub signed_with {
    open my $fh, '<', $cred_log or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

sub wait_for_log {
    my ($n, $re, $secs) = @_;
    my $deadline = time + ($secs // 10);

    while (time < $deadline) {
        return 1 if $n->error_log =~ $re;
        sleep 0.1;
    }

    return 0;
}

sub conf {
    my ($file, %o) = @_;
    my $sts_url = $o{sts} // 'http://127.0.0.1:$TEST_NGINX_STS_PORT';
    my $ddb_url = $o{ddb} // 'http://127.0.0.1:$TEST_NGINX_PROXY_PORT';
    my $ssl = $o{ssl} // '';

    return <<"EOF";
env AWS_WEB_IDENTITY_TOKEN_FILE=$file;
env AWS_ROLE_ARN=arn:aws:iam::123456789012:role/zae-fake;
env AWS_ENDPOINT_URL_STS=$sts_url;
env AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials;
env AWS_CONFIG_FILE=/nonexistent/config;
events { }
http {
    zae_limit_dynamodb table=\$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$ddb_url
                       timeout=1s max_attempts=2 $ssl;

    server {
        listen 127.0.0.1:\$TEST_NGINX_SERVER_PORT;

        add_header X-Status \$zae_limit_status always;

        location /block/ {
            zae_limit entity=\$http_x_api_key resource=web
                      consume=rpm:1 limits=rpm:1000/min;
            zae_limit_on_unavailable block;
            try_files /nonexistent =204;
        }

        location /allow/ {
            zae_limit entity=\$http_x_api_key resource=web
                      consume=rpm:1 limits=rpm:1000/min;
            zae_limit_on_unavailable allow;
            try_files /nonexistent =204;
        }
    }
}
EOF
}


# STS hands out credentials that expire in 40 s; they sign the calls -------

write_token('token-one');
$sts->mode('ok akid=ASIAWEBONE secret=web-secret-one '
           . 'token=web-session-one ttl=40');

$n = nginx(conf => conf($token));
$n->start;
push @logs, $n;

ok(wait_for_log($n, qr/AWS credentials received/),
   'credentials received from STS');

@req = $sts->requests;
is(scalar @req, 1, 'one call to STS');
like($req[0], qr{^POST / Action=AssumeRoleWithWebIdentity Version=2011-06-15 RoleArn=arn:aws:iam::123456789012:role/zae-fake RoleSessionName=zae-limit-\d+ WebIdentityToken=token-one$},
     'the call: action, version, role, a generated session name, the token');

$r = http_req('GET /block/', headers => "X-API-Key: web-1\n");
is($r->{status}, 204, 'admitted with the STS credentials');
is($r->{headers}{'x-status'}, 'PASSED', 'PASSED');

my $b = get_bucket($ddb, $nsid, 'web-1', 'web');
is($b->{b_rpm_tc}, 1000, 'the bucket is in DynamoDB Local');

my @keys = signed_with();
ok(@keys >= 1, 'signed requests went through the proxy');
is_deeply([grep { $_ ne 'ASIAWEBONE' } @keys], [],
          'every one signed with the access key STS handed out');


# the kubelet rotates the token; the refresh comes before the expiry -----

write_token('token-two');
$sts->mode('ok akid=ASIAWEBTWO secret=web-secret-two '
           . 'token=web-session-two ttl=3600');

my ($failed, $sent, $deadline) = (0, 0, time + 45);

while (time < $deadline) {
    $r = http_req('GET /block/', headers => "X-API-Key: web-2\n");
    $sent++;
    $failed++ unless $r->{status} && $r->{status} == 204;
    last if grep { $_ eq 'ASIAWEBTWO' } signed_with();
    sleep 0.5;
}

ok($sent > 20, "requests sent across the refresh ($sent)");
is($failed, 0, 'none failed: refreshed before the expiry');

@req = $sts->requests;
is(scalar @req, 2, 'a second call to STS');
like($req[1] // '', qr/ WebIdentityToken=token-two$/,
     'it carried the rotated token, read again from the file');
is((signed_with())[-1], 'ASIAWEBTWO', 'then signed with the new key');

$n->stop;


# STS refuses, answers garbage, or hangs: a clear error, policy applies ----

for my $case (['denied',
               qr/\[error\].*zae_limit: AWS credentials: web identity: STS AssumeRoleWithWebIdentity refused \(status 403\): AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity/],
              ['garbage',
               qr/\[error\].*zae_limit: AWS credentials: web identity: STS answer is not a valid AssumeRoleWithWebIdentity response/],
              ['hang',
               qr/\[error\].*zae_limit: AWS credentials request to STS \(web identity\) failed: /])
{
    my ($mode, $re) = @$case;

    $sts->mode($mode);
    write_token("token-$mode");

    $n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-$mode",
               conf => conf($token));
    $n->start;
    push @logs, $n;

    ok(wait_for_log($n, $re), "$mode: the error names STS and the cause")
        or diag($n->error_log);

    $r = http_req('GET /block/', headers => "X-API-Key: web-$mode\n");
    is($r->{status}, 503, "$mode: no credentials, block: 503");
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_BLOCKED', "$mode: blocked");

    $r = http_req('GET /allow/', headers => "X-API-Key: web-$mode\n");
    is($r->{status}, 204, "$mode: allow: let through");
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_ALLOWED', "$mode: allowed");

    unlike($n->error_log, qr/exited on signal|\[alert\]/,
           "$mode: the worker keeps running");

    $sts->mode('ok');
    $n->stop;
}


# the variables are set but the token file is missing ----------------------

my $before = scalar $sts->requests;

$n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-missing",
           conf => conf('/nonexistent/zae-web-identity-token'));
$n->start;
push @logs, $n;

ok(wait_for_log($n, qr{\[error\].*zae_limit: AWS credentials: web identity: cannot read token file "/nonexistent/zae-web-identity-token": No such file or directory}),
   'missing token file: a clear error');

$r = http_req('GET /block/', headers => "X-API-Key: web-missing\n");
is($r->{status}, 503, 'missing token file: 503');
is(scalar $sts->requests, $before, 'STS was not called');

$n->stop;


# STS over https: through the TLS settings of the DynamoDB endpoint ---------
# (an nginx "ssl" front with a certificate from a CA made here, in front
# of DynamoDB Local and of the fake STS, as in t/035-tls.t)

my $pki = "$env->{TEST_NGINX_SERVROOT}-pki";
mkdir $pki;

sub openssl {
    my $out = `openssl $_[0] 2>&1`;
    die "failed: openssl $_[0]\n$out" if $?;
}

openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=zae-sts-ca "
        . "-keyout $pki/ca.key -out $pki/ca.crt");
openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
        . "-keyout $pki/other.key -out $pki/other.crt");
openssl("req -newkey rsa:2048 -nodes -subj /CN=localhost "
        . "-keyout $pki/server.key -out $pki/server.csr");
open my $ext, '>', "$pki/ext.cnf" or die "$pki/ext.cnf: $!\n";
print $ext "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
close $ext;
openssl("x509 -req -in $pki/server.csr -CA $pki/ca.crt -CAkey $pki/ca.key "
        . "-CAcreateserial -days 2 -extfile $pki/ext.cnf "
        . "-out $pki/server.crt");
chmod 0644, glob("$pki/*");

my ($tls_ddb, $tls_sts) = `$env->{TEST_NGINX_TOP}/util/free-port 2`;
chomp($tls_ddb, $tls_sts);
$ENV{TEST_NGINX_TLS_DDB_PORT} = $tls_ddb;
$ENV{TEST_NGINX_TLS_STS_PORT} = $tls_sts;
$ENV{TEST_NGINX_PKI} = $pki;

my $front = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-front",
                  conf => <<'EOF');
events { }
http {
    ssl_certificate $TEST_NGINX_PKI/server.crt;
    ssl_certificate_key $TEST_NGINX_PKI/server.key;

    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_DDB_PORT ssl;
        location / { proxy_pass http://127.0.0.1:$TEST_NGINX_PROXY_PORT; }
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_STS_PORT ssl;
        location / { proxy_pass http://127.0.0.1:$TEST_NGINX_STS_PORT; }
    }
}
EOF
$front->start;

for my $case (['trusted', "$pki/ca.crt"], ['untrusted', "$pki/other.crt"]) {
    my ($name, $ca) = @$case;

    write_token('token-https');
    $sts->mode('ok akid=ASIAWEBTLS secret=web-secret-tls '
               . 'token=web-session-tls');
    $before = grep { /token-https/ } $sts->requests;

    $n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-https-$name",
               conf => conf($token,
                            sts => 'https://127.0.0.1:$TEST_NGINX_TLS_STS_PORT',
                            ddb => 'https://127.0.0.1:$TEST_NGINX_TLS_DDB_PORT',
                            ssl => "ssl_trusted_certificate=$ca"));
    $n->start;
    push @logs, $n;

    if ($name eq 'trusted') {
        ok(wait_for_log($n, qr/AWS credentials received/),
           'https STS: credentials received');
        is(scalar(grep { /token-https/ } $sts->requests), $before + 1,
           'https STS: the call went through TLS to the fake');
        $r = http_req('GET /block/', headers => "X-API-Key: web-tls\n");
        is($r->{status}, 204, 'https STS: admitted');
        is((signed_with())[-1], 'ASIAWEBTLS',
           'signed with the key STS handed out over https');

    } else {
        ok(wait_for_log($n, qr/\[error\].*zae_limit: STS \(web identity credentials\) SSL certificate verify error/),
           'https STS: an untrusted certificate is refused, naming STS');
        $r = http_req('GET /block/', headers => "X-API-Key: web-tls\n");
        is($r->{status}, 503, 'https STS untrusted: 503');
    }

    $n->stop;
}

$front->stop;

# an https STS with a plain http DynamoDB endpoint: no TLS settings

$n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-https-nossl",
           conf => conf($token, sts => 'https://127.0.0.1:9'));
$n->start;
push @logs, $n;

ok(wait_for_log($n, qr/\[error\].*zae_limit: STS \(web identity credentials\) over https needs an https DynamoDB endpoint/),
   'https STS with an http DynamoDB endpoint: a clear error');

$n->stop;


# no secret, session token or web identity token in any log -----------------

for my $l (@logs) {
    unlike($l->error_log,
           qr/web-secret|web-session|fake-sts-secret|fake-sts-session|token-(?:one|two|denied|garbage|hang|https)/,
           'no secret or token in ' . $l->prefix . '/logs/error.log');
}

done_testing();
