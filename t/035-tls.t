# HTTPS to DynamoDB: an nginx "ssl" server with a certificate from a CA
# made here terminates TLS in front of DynamoDB Local.  The module
# verifies the certificate and the host name by default (with the
# configured CA), refuses a certificate it cannot verify or that names
# another address, each with its own message, and connects with
# verification off when told so.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;

my ($env, $ddb, $nsid, $dir, $front, $n, $r, $i);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$dir = "$env->{TEST_NGINX_SERVROOT}-pki";
mkdir $dir;

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "failed: $cmd\n$out" if $?;
}

run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=zae-test-ca "
    . "-keyout $dir/ca.key -out $dir/ca.crt");
run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
    . "-keyout $dir/other.key -out $dir/other.crt");
run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
    . "-keyout $dir/server.key -out $dir/server.csr");

open my $ext, '>', "$dir/ext.cnf" or die;
print $ext "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
close $ext;

run("openssl x509 -req -in $dir/server.csr -CA $dir/ca.crt -CAkey $dir/ca.key "
    . "-CAcreateserial -days 2 -extfile $dir/ext.cnf -out $dir/server.crt");

chmod 0644, glob("$dir/*");

chomp(my $tls_port = `$env->{TEST_NGINX_TOP}/util/free-port 1`);
$ENV{TEST_NGINX_TLS_PORT} = $tls_port;
$ENV{TEST_NGINX_PKI} = $dir;

my ($ddb_port) = $env->{TEST_NGINX_DDB_ENDPOINT} =~ /:(\d+)/;
$ENV{TEST_NGINX_DDB_PORT} = $ddb_port;

# the TLS front for DynamoDB Local (plain nginx, no module)

$front = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-front", conf => <<'EOF');
events { }
http {
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        listen 127.0.0.2:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_PKI/server.crt;
        ssl_certificate_key $TEST_NGINX_PKI/server.key;

        location / {
            proxy_pass http://127.0.0.1:$TEST_NGINX_DDB_PORT;
        }
    }
}
EOF

$front->start;

# a refusal: the answer (503, UNAVAILABLE_BLOCKED with
# zae_limit_on_unavailable block) and the module's own message for it

sub logged {
    my ($msg) = @_;
    return qr/\[error\].*\Q$msg\E/;
}

my $issuer = logged('zae_limit: DynamoDB SSL certificate verify error: '
                    . '(21:unable to verify the first certificate)');

my %cases = (
    'trusted CA'       => [ "https://localhost:$tls_port",
                            "ssl_trusted_certificate=$dir/ca.crt", 200,
                            'PASSED' ],
    'trusted CA, IP'   => [ "https://127.0.0.1:$tls_port",
                            "ssl_trusted_certificate=$dir/ca.crt", 200,
                            'PASSED' ],
    'unknown CA'       => [ "https://localhost:$tls_port",
                            "ssl_trusted_certificate=$dir/other.crt", 503,
                            'UNAVAILABLE_BLOCKED', $issuer ],
    'system CAs'       => [ "https://localhost:$tls_port", '', 503,
                            'UNAVAILABLE_BLOCKED', $issuer ],
    'wrong IP'         => [ "https://127.0.0.2:$tls_port",
                            "ssl_trusted_certificate=$dir/ca.crt", 503,
                            'UNAVAILABLE_BLOCKED',
                            logged('zae_limit: DynamoDB SSL certificate '
                                   . 'does not match "127.0.0.2"') ],
    'verification off' => [ "https://localhost:$tls_port",
                            "ssl_verify=off ssl_trusted_certificate=$dir/other.crt",
                            200, 'PASSED' ],
);

$i = 0;

for my $name (sort keys %cases) {
    my ($endpoint, $ssl, $status, $outcome, $msg) = @{ $cases{$name} };

    $n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-" . $i++,
               conf => <<"EOF");
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=\$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$endpoint timeout=1s max_attempts=1 $ssl;

    server {
        listen 127.0.0.1:\$TEST_NGINX_SERVER_PORT;

        add_header X-Status \$zae_limit_status always;

        location /t/ {
            zae_limit entity=\$http_x_api_key resource=tls
                      consume=rpm:1 limits=rpm:100/min;
            zae_limit_on_unavailable block;
            root html;
            try_files /nonexistent =204;
        }
    }
}
EOF

    $n->start;

    for my $k (1 .. 3) {
        $r = http_req('GET /t/', headers => "X-API-Key: tls-$i\n");
    }

    is($r->{status}, $status == 200 ? 204 : $status, "$name: status");
    is($r->{headers}{'x-status'}, $outcome, "$name: $outcome");

    if ($status == 200) {
        my $b = get_bucket($ddb, $nsid, "tls-$i", 'tls');
        is($b->{b_rpm_tc}, 3000, "$name: bucket written over TLS");
    } else {
        like($n->error_log, $msg, "$name: the verification failure is logged");
        ok(!get_bucket($ddb, $nsid, "tls-$i", 'tls'),
           "$name: nothing written");
    }

    $n->stop;
}

$front->stop;

done_testing();
