# Configuration: every conf-examples/ file passes nginx -t with the built
# module, and each configuration mistake fails nginx -t with a message
# that names the directive or the bad value.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;

my ($env, $top, $i, $n, $rc, $out);

$env = zae_env();
$top = $env->{TEST_NGINX_TOP};


# the examples ------------------------------------------------------------------

my @examples = glob("$top/conf-examples/*.conf");
ok(@examples >= 4, 'conf-examples present');

$i = 0;

for my $file (@examples) {
    my $conf = do { local (@ARGV, $/) = $file; <> };
    (my $name = $file) =~ s{.*/}{};

    like($conf, qr{^load_module modules/ngx_http_zae_limit_module\.so;$}m,
         "$name loads the module the documented way");

    # the harness loads the built module itself
    $conf =~ s{^load_module .*$}{}m;

    $n = nginx(conf => $conf,
               prefix => "$env->{TEST_NGINX_SERVROOT}-ex" . $i++);
    ($rc, $out) = $n->check_conf;
    is($rc, 0, "$name: nginx -t") or diag($out);
}


# mistakes -------------------------------------------------------------------

my $good = 'zae_limit_dynamodb table=zae-limiter region=us-east-1 '
           . 'endpoint=http://127.0.0.1:8000;';

my @bad = (
    [ 'no table', 'zae_limit_dynamodb region=us-east-1;', '',
      qr/"zae_limit_dynamodb" must have "table" parameter/ ],
    [ 'no region', 'zae_limit_dynamodb table=abc;', '',
      qr/"zae_limit_dynamodb" must have "region" parameter/ ],
    [ 'bad table', 'zae_limit_dynamodb table=my_table region=us-east-1;',
      '', qr/invalid table "my_table"/ ],
    [ 'bad parameter', 'zae_limit_dynamodb table=abc region=r foo=1;', '',
      qr/invalid parameter "foo=1"/ ],
    [ 'bad endpoint', 'zae_limit_dynamodb table=abc region=r endpoint=ftp://x;',
      '', qr/invalid endpoint "ftp:\/\/x"/ ],
    [ 'bad timeout', 'zae_limit_dynamodb table=abc region=r timeout=soon;',
      '', qr/invalid parameter "timeout=soon"/ ],
    [ 'small zone', 'zae_limit_dynamodb table=abc region=r zone=z:1k;', '',
      qr/zone "zone=z:1k" is too small/ ],
    [ 'duplicate', "$good $good", '', qr/"zae_limit_dynamodb" directive is duplicate/ ],
    [ 'zae_limit before zae_limit_dynamodb', '',
      'zae_limit entity=$http_x_key resource=r consume=rpm:1;',
      qr/requires "zae_limit_dynamodb" before it/ ],
    [ 'no entity', $good, 'zae_limit resource=r consume=rpm:1;',
      qr/"zae_limit" must have "entity" parameter/ ],
    [ 'no consume', $good, 'zae_limit entity=$http_x_key resource=r;',
      qr/"zae_limit" must have "consume" parameter/ ],
    [ 'bad constant entity', $good,
      'zae_limit entity=a#b resource=r consume=rpm:1;',
      qr/invalid entity "a#b"/ ],
    [ 'bad constant resource', $good,
      'zae_limit entity=$http_x_key resource=9x consume=rpm:1;',
      qr/invalid resource "9x"/ ],
    [ 'reserved wcu', $good,
      'zae_limit entity=$http_x_key resource=r consume=wcu:1;',
      qr/invalid consume "wcu:1"/ ],
    [ 'bad consume amount', $good,
      'zae_limit entity=$http_x_key resource=r consume=rpm:-1;',
      qr/invalid consume "rpm:-1"/ ],
    [ 'duplicate consume limit', $good,
      'zae_limit entity=$http_x_key resource=r consume=rpm:1,rpm:2;',
      qr/duplicate limit "rpm"/ ],
    [ 'bad limits', $good,
      'zae_limit entity=$http_x_key resource=r consume=rpm:1 limits=rpm:x;',
      qr/invalid limits "limits=rpm:x"/ ],
    [ 'bad status', $good, 'zae_limit_status 200;',
      qr/value must be between 400 and 599/ ],
    [ 'bad on_unavailable', $good, 'zae_limit_on_unavailable maybe;',
      qr/invalid value "maybe"/ ],
    [ 'bad reconcile limit', $good,
      'zae_limit_reconcile 9tpm $upstream_http_x_tokens_used;',
      qr/invalid limit name "9tpm"/ ],
    [ 'duplicate reconcile', $good,
      "zae_limit_reconcile tpm \$a;\nzae_limit_reconcile tpm \$b;",
      qr/duplicate reconcile of limit "tpm"/ ],
    [ 'bad namespace', $good, 'zae_limit_namespace a/b;',
      qr/invalid namespace "a\/b"/ ],
    [ 'bad headers style', $good, 'zae_limit_headers anthropic;',
      qr/invalid value "anthropic", it must be "on", "off" or "openai"/ ],
    [ 'headers mapping without openai', $good,
      'zae_limit_headers on rpm=requests;',
      qr/invalid parameter "rpm=requests": limits are mapped only by/ ],
    [ 'bad headers mapping', $good, 'zae_limit_headers openai rpm=calls;',
      qr/invalid parameter "rpm=calls", it must be limit=requests or/ ],
    [ 'duplicate headers mapping', $good,
      'zae_limit_headers openai rpm=requests rps=requests;',
      qr/duplicate "requests" in "rps=requests"/ ],
    [ 'bad error format', $good, 'zae_limit_error_format google;',
      qr/invalid value "google"/ ],
    [ 'bad llm price', '', 'zae_limit_llm_price gpt-4o input=2.5.0 output=1;',
      qr/invalid price "input=2.5.0"/ ],
    [ 'llm price without output', '', 'zae_limit_llm_price gpt-4o input=1 cached_input=1;',
      qr/"zae_limit_llm_price" must have "input" and "output" parameters/ ],
    [ 'llm price star inside', '', 'zae_limit_llm_price g*o input=1 output=1;',
      qr/invalid model "g\*o": '\*' only at the end/ ],
    [ 'duplicate llm price', '',
      "zae_limit_llm_price gpt* input=1 output=1;\n"
      . "zae_limit_llm_price gpt* input=2 output=2;",
      qr/duplicate price of "gpt\*"/ ],
    [ 'bad llm max body', '', 'zae_limit_llm_max_body lots;',
      qr/"zae_limit_llm_max_body" directive invalid value/ ],
);

$i = 0;

for my $case (@bad) {
    my ($name, $http, $loc, $want) = @$case;

    $n = nginx(conf => <<"EOF", prefix => "$env->{TEST_NGINX_SERVROOT}-bad" . $i++);
events { }
http {
    $http
    server {
        listen 127.0.0.1:$env->{TEST_NGINX_SERVER_PORT};
        location / {
            $loc
        }
    }
}
EOF

    ($rc, $out) = $n->check_conf;
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $want, "$name: the message names it") or diag($out);
    unlike($out, qr/\[alert\]|Sanitizer/, "$name: no alert");

    # the [emerg] is what this case expects: spare it the harness's
    # end-of-file error log check
    $n->{checked} = 1;
}

done_testing();
