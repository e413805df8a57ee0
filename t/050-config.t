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

my $secret = "$env->{TEST_NGINX_SERVROOT}-key-secret";
open my $sfh, '>', $secret or die "$secret: $!\n";
print $sfh "an example secret of 32 bytes!!\n";
close $sfh;
ok(@examples >= 4, 'conf-examples present');

$i = 0;

for my $file (@examples) {
    my $conf = do { local (@ARGV, $/) = $file; <> };
    (my $name = $file) =~ s{.*/}{};

    like($conf, qr{^load_module modules/ngx_http_zae_limit_module\.so;$}m,
         "$name loads the module the documented way");

    # the harness loads the built module itself
    $conf =~ s{^load_module .*$}{}m;

    # the documented secret file, made here
    $conf =~ s{secret_file=/etc/nginx/zae-key-secret}{secret_file=$secret}g;

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
      '', qr/\Qinvalid parameter "timeout=soon": timeout is a time above 0, e.g. 250ms or 1s\E/ ],
    [ 'small zone', 'zae_limit_dynamodb table=abc region=r zone=z:1k;', '',
      qr/\Qzone "zone=z:1k" is too small: the minimum is 32k (8 memory pages)\E/ ],

    # each message names the rule (#16.10)
    [ 'region format', 'zae_limit_dynamodb table=abc region=US_EAST;', '',
      qr/\Qinvalid parameter "region=US_EAST": a region is lowercase letters, digits and "-", e.g. "us-east-1"\E/ ],
    [ 'timeout 0', 'zae_limit_dynamodb table=abc region=r timeout=0;', '',
      qr/\Qinvalid parameter "timeout=0": timeout is a time above 0, e.g. 250ms or 1s\E/ ],
    [ 'max_attempts 0', 'zae_limit_dynamodb table=abc region=r max_attempts=0;',
      '', qr/\Qinvalid parameter "max_attempts=0": max_attempts is a number from 1 to 10\E/ ],
    [ 'ssl_verify yes', 'zae_limit_dynamodb table=abc region=r ssl_verify=yes;',
      '', qr/\Qinvalid parameter "ssl_verify=yes": accepted values are "on" and "off"\E/ ],
    [ 'flush_interval 120s',
      'zae_limit_dynamodb table=abc region=r flush_interval=120s;', '',
      qr/\Qinvalid parameter "flush_interval=120s": flush_interval is a time above 0 and at most 60s\E/ ],
    [ 'zone 16k', 'zae_limit_dynamodb table=abc region=r zone=z:16k;', '',
      qr/\Qzone "zone=z:16k" is too small: the minimum is 32k (8 memory pages)\E/ ],
    [ 'zone without size', 'zae_limit_dynamodb table=abc region=r zone=z;', '',
      qr/\Qinvalid parameter "zone=z": expected zone=name:size, e.g. zone=zae_limit:10m\E/ ],
    [ 'keepalive range', 'zae_limit_dynamodb table=abc region=r keepalive=5000;',
      '', qr/\Qinvalid parameter "keepalive=5000": keepalive is a number from 0 to 4096\E/ ],

    # every value parameter says its rule: a bad max_connections,
    # max_waiting or exit_deadline crashed nginx -t (a NULL rule)
    [ 'max_connections word',
      'zae_limit_dynamodb table=abc region=r max_connections=abc;', '',
      qr/\Qinvalid parameter "max_connections=abc": max_connections is a number from 0 (no cap) to 65536\E/ ],
    [ 'max_waiting range',
      'zae_limit_dynamodb table=abc region=r max_waiting=70000;', '',
      qr/\Qinvalid parameter "max_waiting=70000": max_waiting is a number from 0 to 65536\E/ ],
    [ 'exit_deadline word',
      'zae_limit_dynamodb table=abc region=r exit_deadline=soon;', '',
      qr/\Qinvalid parameter "exit_deadline=soon": exit_deadline is a time above 0 and at most 600s\E/ ],
    [ 'exit_deadline range',
      'zae_limit_dynamodb table=abc region=r exit_deadline=11m;', '',
      qr/\Qinvalid parameter "exit_deadline=11m": exit_deadline is a time above 0 and at most 600s\E/ ],
    [ 'config_cache word',
      'zae_limit_dynamodb table=abc region=r config_cache=x;', '',
      qr/\Qinvalid parameter "config_cache=x": config_cache is a time, e.g. 60s; 0 turns it off\E/ ],
    [ 'max_pending 0',
      'zae_limit_dynamodb table=abc region=r max_pending=0;', '',
      qr/\Qinvalid parameter "max_pending=0": max_pending is a number above 0\E/ ],
    [ 'imds yes', 'zae_limit_dynamodb table=abc region=r imds=yes;', '',
      qr/\Qinvalid parameter "imds=yes": accepted values are "on" and "off"\E/ ],
    [ 'keepalive word', 'zae_limit_dynamodb table=abc region=r keepalive=;',
      '', qr/\Qinvalid parameter "keepalive=": keepalive is a number from 0 to 4096\E/ ],
    [ 'a rule does not leak into the next parameter',
      'zae_limit_dynamodb table=abc region=r zone=z:1m max_waiting=x;', '',
      qr/\Qinvalid parameter "max_waiting=x": max_waiting is a number from 0 to 65536\E/ ],

    # metrics need the zone (#16.11)
    [ 'metrics without zae_limit_dynamodb', '', 'zae_limit_metrics;',
      qr/\Q"zae_limit_metrics" directive requires "zae_limit_dynamodb" before it in the http block\E/ ],

    # a reconcile of a limit the location does not consume (#16.7)
    [ 'reconcile of an unconsumed limit', $good,
      "zae_limit entity=\$http_x_key resource=r consume=rpm:1 limits=tpm:100;\n"
      . "            zae_limit_reconcile tokens \$upstream_http_x_tokens_used;",
      qr/\Q"zae_limit_reconcile tokens" in \E\S+:\d+\Q reconciles a limit that "zae_limit" does not consume (consume=rpm:1)\E/ ],
    [ 'inherited reconcile of an unconsumed limit',
      "$good\n    zae_limit_reconcile tpm \$upstream_http_x_tokens_used;",
      'zae_limit entity=$http_x_key resource=r consume=rpm:1;',
      qr/\Q"zae_limit_reconcile tpm" in \E\S+:\d+\Q reconciles a limit that "zae_limit" does not consume (consume=rpm:1)\E/ ],

    # empty entity (#16.9)
    [ 'bad empty', $good,
      'zae_limit entity=$http_x_key resource=r consume=rpm:1 empty=no;',
      qr/\Qinvalid parameter "empty=no": accepted values are "skip" and "reject"\E/ ],

    # the key hash (#16.17)
    [ 'key hash without secret_file', $good,
      'zae_limit_key_hash $http_x_api_key /etc/secret;',
      qr{\Qinvalid parameter "/etc/secret": expected secret_file=PATH\E} ],
    [ 'key hash, missing secret file', $good,
      'zae_limit_key_hash $http_x_api_key secret_file=/nonexistent/zae-secret;',
      qr{\Qinvalid secret_file: cannot open key hash secret file "/nonexistent/zae-secret": No such file or directory\E} ],
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
    [ 'lease size 0', $good, 'zae_limit_lease size=0;',
      qr/\Qinvalid lease size "0": "auto" or a number of requests from 1 to 100000\E/ ],
    [ 'lease size word', $good, 'zae_limit_lease size=lots;',
      qr/invalid lease size "lots"/ ],
    [ 'lease ttl 0', $good, 'zae_limit_lease ttl=0;',
      qr/\Qinvalid lease ttl "0": from 1ms to 1h\E/ ],
    [ 'lease max_share 150', $good, 'zae_limit_lease max_share=150%;',
      qr/\Qinvalid lease max_share "max_share=150%": a percentage from 1 to 100\E/ ],
    [ 'lease bad parameter', $good, 'zae_limit_lease size=auto k=2;',
      qr/invalid parameter "k=2"/ ],
    [ 'duplicate lease', $good,
      "zae_limit_lease size=4;\n            zae_limit_lease off;",
      qr/"zae_limit_lease" directive is duplicate/ ],
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


# credentials that cannot reach the workers: nginx -t says how (#16.2) ----

my $creds_hint = quotemeta('zae_limit: no AWS credentials reach the workers: add '
    . '"env AWS_ACCESS_KEY_ID;" and "env AWS_SECRET_ACCESS_KEY;" in the main '
    . 'context (before "http") with the variables set in nginx\'s environment '
    . '(systemd: Environment= or EnvironmentFile= in a drop-in), or '
    . '"env AWS_SHARED_CREDENTIALS_FILE;" for a credentials file, or '
    . 'imds=on; DynamoDB Local accepts any key');

for my $case (
    [ 'no env line', '', 1, 0 ],
    [ 'env AWS_ACCESS_KEY_ID, unset in the environment',
      "env AWS_ACCESS_KEY_ID;\nenv AWS_SECRET_ACCESS_KEY;", 1, 1 ],
    [ 'env AWS_ACCESS_KEY_ID, set', "env AWS_ACCESS_KEY_ID;", 0, 0 ],
    [ 'env AWS_ACCESS_KEY_ID=value', "env AWS_ACCESS_KEY_ID=x;", 0, 1 ],
    [ 'a credentials file', "env AWS_SHARED_CREDENTIALS_FILE=/c;", 0, 1 ],
)
{
    my ($name, $main, $hint, $unset) = @$case;

    local $ENV{AWS_ACCESS_KEY_ID} = 'AKIDEXAMPLE';
    delete $ENV{AWS_ACCESS_KEY_ID} if $unset;

    $n = nginx(conf => <<"EOF", prefix => "$env->{TEST_NGINX_SERVROOT}-creds" . $i++);
$main
events { }
http {
    $good
    server {
        listen 127.0.0.1:$env->{TEST_NGINX_SERVER_PORT};
    }
}
EOF

    ($rc, $out) = $n->check_conf;
    is($rc, 0, "$name: nginx -t passes") or diag($out);

    if ($hint) {
        like($out, qr/\[warn\].*$creds_hint/, "$name: nginx -t names the fix");
    } else {
        unlike($out, qr/no AWS credentials/, "$name: no credentials hint");
    }

    $n->{checked} = 1;
}

done_testing();
