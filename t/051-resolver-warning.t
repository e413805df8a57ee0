# A host name endpoint without "resolver" is resolved once, at
# configuration time (issue 10 point 9): nginx -t warns and names the
# fix; with a resolver, an IP address or "localhost" it does not.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;

my ($env, $i, $n, $rc, $out);

$env = zae_env();
$i = 0;

my $warn = qr/\[warn\].*zae_limit: endpoint host "([^"]+)" is resolved once, now, and its addresses never change: add a "resolver" to the http block/;

my @cases = (
    # name, http block lines, want the warning, the host it names
    [ 'name without resolver',
      'zae_limit_dynamodb table=abc region=us-east-1 '
      . 'endpoint=http://localhost.zae.invalid:8000;',
      1, 'localhost.zae.invalid' ],
    [ 'default AWS endpoint without resolver',
      'zae_limit_dynamodb table=abc region=eu-west-3;',
      1, 'dynamodb.eu-west-3.amazonaws.com' ],
    [ 'name with resolver',
      "resolver 127.0.0.1 valid=30s;\n"
      . 'zae_limit_dynamodb table=abc region=us-east-1 '
      . 'endpoint=http://localhost.zae.invalid:8000;',
      0 ],
    [ 'IPv4 address',
      'zae_limit_dynamodb table=abc region=us-east-1 '
      . 'endpoint=http://127.0.0.1:8000;',
      0 ],
    [ 'IPv6 address',
      'zae_limit_dynamodb table=abc region=us-east-1 '
      . 'endpoint=http://[::1]:8000;',
      0 ],
    [ 'localhost',
      'zae_limit_dynamodb table=abc region=us-east-1 '
      . 'endpoint=http://localhost:8000;',
      0 ],
);

for my $case (@cases) {
    my ($name, $http, $want, $host) = @$case;

    $n = nginx(conf => <<"EOF", prefix => "$env->{TEST_NGINX_SERVROOT}-r" . $i++);
events { }
http {
    $http
    server {
        listen 127.0.0.1:$env->{TEST_NGINX_SERVER_PORT};
    }
}
EOF

    ($rc, $out) = $n->check_conf;

    if ($want) {
        like($out, $warn, "$name: warned") or diag($out);
        my ($got) = $out =~ $warn;
        is($got, $host, "$name: the warning names the host");

        # offline, the name does not resolve: the warning comes first
        # and nginx -t then fails on the name, which is what it says

    } else {
        unlike($out, qr/is resolved once/, "$name: no warning");
        is($rc, 0, "$name: nginx -t passes") or diag($out);
    }

    unlike($out, qr/\[alert\]|Sanitizer/, "$name: no alert");
    $n->{checked} = 1;
}

done_testing();
