package Test::Zae::Conf;

# The nginx configuration most plain-Perl tests start with: static
# credentials, zae_limit_dynamodb on the test's table, an upstream
# server and the limiter's server, both on loopback.  The test gives
# what is its own.
#
#   $n = nginx(conf => zae_conf(
#       upstream => 'location / { return 200 "upstream\n"; }',
#       server   => <<'EOF'));
#   location / {
#       zae_limit entity=$http_x_api_key resource=gpt-4
#                 consume=rpm:1 limits=rpm:1000/min;
#       proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
#   }
#   EOF
#
# Options: dynamodb (the options after the endpoint, default
# "timeout=2s"), endpoint (default DynamoDB Local; proxy => 1: through
# Test::Zae::FaultProxy), secret (default
# local-secret), main (more main-context directives), events (the
# events block's body), http (more http-context directives), upstream
# and server (the bodies of the two servers, after their listen).

use strict;
use warnings;

use Exporter 'import';

our @EXPORT = qw(zae_conf);


sub zae_conf {
    my (%o) = @_;

    return join '',
        "env AWS_ACCESS_KEY_ID=AKIDLOCAL;\n",
        'env AWS_SECRET_ACCESS_KEY=', $o{secret} // 'local-secret', ";\n",
        defined $o{main} ? "$o{main}\n" : '',
        'events { ', $o{events} // '', " }\n",
        "http {\n",
        "    zae_limit_dynamodb table=\$TEST_NGINX_TABLE region=us-east-1\n",
        '                       endpoint=',
        $o{endpoint} // ($o{proxy} ? 'http://127.0.0.1:$TEST_NGINX_PROXY_PORT'
                                   : '$TEST_NGINX_DDB_ENDPOINT'), "\n",
        '                       ', $o{dynamodb} // 'timeout=2s', ";\n\n",
        defined $o{http} ? "$o{http}\n" : '',
        "    server {\n",
        "        listen 127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;\n",
        $o{upstream} // '', "\n",
        "    }\n\n",
        "    server {\n",
        "        listen 127.0.0.1:\$TEST_NGINX_SERVER_PORT;\n",
        $o{server} // '', "\n",
        "    }\n",
        "}\n";
}


1;
