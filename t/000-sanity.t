# The stock Debian nginx loads the module, and the harness itself works:
# DynamoDB Local answers, the per-file table has the zae schema, the
# namespace is registered, the data-driven sections behave.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;

my ($env, $n, $rc, $out, $t, $ttl, $item, $fwd, $rev, %idx);

$env = zae_env();


# the module ---------------------------------------------------------------

ok(-f $env->{TEST_NGINX_MODULE}, "module $env->{TEST_NGINX_MODULE} built");

sub signature {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return '';
    local $/;
    my $bin = <$fh>;
    return $bin =~ /\0(\d+,\d+,\d+,[01]{20,})\0/ ? $1 : '';
}

my $sig = signature($env->{TEST_NGINX_BINARY});
ok(length $sig, "nginx binary signature found ($sig)");
is(signature($env->{TEST_NGINX_MODULE}), $sig,
   'module signature matches the nginx binary');

$n = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-t", conf => <<'EOF');
events { }
http {
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        location / { return 200 "ok\n"; }
    }
}
EOF

like($n->conf, qr/^load_module \Q$env->{TEST_NGINX_MODULE}\E;$/m,
     'conf loads the built module');

($rc, $out) = $n->check_conf;
is($rc, 0, 'nginx -t with load_module succeeds') or diag($out);
like($out, qr/syntax is ok/, 'nginx -t says syntax is ok');
like($out, qr/test is successful/, 'nginx -t says test is successful');


# DynamoDB Local and the per-file table -------------------------------------

$t = ddb()->describe_table;

is($t->{TableName}, $env->{TEST_NGINX_TABLE}, 'table created');
is($t->{TableStatus}, 'ACTIVE', 'table active');
is_deeply([map { "$_->{AttributeName}:$_->{KeyType}" } @{ $t->{KeySchema} }],
          ['PK:HASH', 'SK:RANGE'], 'key schema PK/SK');
is_deeply([sort map { "$_->{AttributeName}:$_->{AttributeType}" }
                @{ $t->{AttributeDefinitions} }],
          [sort map { "$_:S" } qw(PK SK GSI1PK GSI1SK GSI2PK GSI2SK GSI3PK
                                  GSI3SK GSI4PK GSI4SK LSI1SK LSI2SK LSI3SK
                                  LSI4SK LSI5SK)],
          'attribute definitions, all S');
is($t->{BillingModeSummary}{BillingMode}, 'PAY_PER_REQUEST',
   'billing PAY_PER_REQUEST');
ok($t->{StreamSpecification}{StreamEnabled}, 'stream enabled');
is($t->{StreamSpecification}{StreamViewType}, 'NEW_AND_OLD_IMAGES',
   'stream NEW_AND_OLD_IMAGES');

for my $i (@{ $t->{GlobalSecondaryIndexes} // [] },
           @{ $t->{LocalSecondaryIndexes} // [] })
{
    $idx{ $i->{IndexName} } = join ' ',
        (map { "$_->{AttributeName}:$_->{KeyType}" } @{ $i->{KeySchema} }),
        $i->{Projection}{ProjectionType};
}

is_deeply(\%idx, {
    GSI1 => 'GSI1PK:HASH GSI1SK:RANGE ALL',
    GSI2 => 'GSI2PK:HASH GSI2SK:RANGE ALL',
    GSI3 => 'GSI3PK:HASH GSI3SK:RANGE KEYS_ONLY',
    GSI4 => 'GSI4PK:HASH GSI4SK:RANGE KEYS_ONLY',
    LSI1 => 'PK:HASH LSI1SK:RANGE ALL',
    LSI2 => 'PK:HASH LSI2SK:RANGE KEYS_ONLY',
    LSI3 => 'PK:HASH LSI3SK:RANGE ALL',
    LSI4 => 'PK:HASH LSI4SK:RANGE KEYS_ONLY',
    LSI5 => 'PK:HASH LSI5SK:RANGE ALL',
}, 'GSI1..GSI4 and LSI1..LSI5 with their projections');

$ttl = ddb()->call('DescribeTimeToLive',
                   { TableName => $env->{TEST_NGINX_TABLE} });
is($ttl->{TimeToLiveDescription}{AttributeName}, 'ttl', 'TTL attribute ttl');
like($ttl->{TimeToLiveDescription}{TimeToLiveStatus}, qr/^ENABL/,
     'TTL enabled');

$item = plain(ddb()->get_item({ PK => S('_/SYSTEM#'), SK => S('#VERSION') }));
is($item->{schema_version}, '0.10.0', 'version record schema_version');
is($item->{client_min_version}, '0.0.0', 'version record client_min_version');
ok(exists $item->{lambda_version} && !defined $item->{lambda_version},
   'version record lambda_version NULL');
like($item->{updated_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'version record updated_at');

like($env->{TEST_NGINX_NSID}, qr/^[A-Za-z0-9_][A-Za-z0-9_-]{10}$/,
     'nsid is 11 characters of base64url');

$fwd = plain(ddb()->get_item({ PK => S('_/SYSTEM#'),
                               SK => S('#NAMESPACE#default') }));
$rev = plain(ddb()->get_item({ PK => S('_/SYSTEM#'),
                               SK => S("#NSID#$env->{TEST_NGINX_NSID}") }));

is($fwd->{namespace_id}, $env->{TEST_NGINX_NSID}, 'forward record nsid');
is($fwd->{namespace_name}, 'default', 'forward record name');
is($fwd->{status}, 'active', 'forward record active');
is_deeply([@$fwd{qw(GSI4PK GSI4SK)}], ['_', '_/SYSTEM#'], 'forward GSI4');
is_deeply({ %$rev, SK => 'x' }, { %$fwd, SK => 'x' },
          'reverse record mirrors the forward record');

is(ddb()->register_namespace('default'), $env->{TEST_NGINX_NSID},
   'registering "default" again returns the existing id');


# DDB helper round trip ----------------------------------------------------

ddb()->put_item(typed({ PK => "$env->{TEST_NGINX_NSID}/ENTITY#k1",
                        SK => '#META', n => 5, on => \1, tags => ['a'] }));
ddb()->update_item(Key => { PK => S("$env->{TEST_NGINX_NSID}/ENTITY#k1"),
                            SK => S('#META') },
                   UpdateExpression => 'ADD n :one',
                   ExpressionAttributeValues => { ':one' => N(1) });
is_deeply(plain(ddb()->get_item({ PK => S("$env->{TEST_NGINX_NSID}/ENTITY#k1"),
                                  SK => S('#META') })),
          { PK => "$env->{TEST_NGINX_NSID}/ENTITY#k1", SK => '#META',
            n => '6', on => 1, tags => ['a'] },
          'put_item, update_item, get_item, plain, typed');

is(scalar @{ ddb()->query(
       KeyConditionExpression => 'PK = :pk',
       ExpressionAttributeValues => { ':pk' => S('_/SYSTEM#') }) },
   3, 'query finds version and two namespace records');

ddb()->delete_item({ PK => S("$env->{TEST_NGINX_NSID}/ENTITY#k1"),
                     SK => S('#META') });
is(ddb()->get_item({ PK => S("$env->{TEST_NGINX_NSID}/ENTITY#k1"),
                     SK => S('#META') }), undef, 'delete_item');

demo_upstream();

run_tests();

__DATA__

=== TEST 1: a request through the module-loaded nginx
--- config
location = /t {
    return 200 "hello\n";
}
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: several requests, array expectations, headers
--- config
location = /t {
    add_header X-Zae-Test yes;
    return 200 "hi $arg_a\n";
}
location = /missing {
    return 404;
}
--- request eval
["GET /t?a=1", "GET /t?a=2", "GET /missing"]
--- error_code eval
[200, 200, 404]
--- response_body_like eval
["^hi 1\$", "^hi 2\$", "Not Found"]
--- response_headers eval
["X-Zae-Test: yes", "X-Zae-Test: yes", "X-Zae-Test:"]



=== TEST 3: a bad directive makes nginx die with an [emerg]
--- config
location = /t {
    no_such_directive_zae on;
}
--- must_die
--- error_log
unknown directive "no_such_directive_zae"



=== TEST 4: the demo LLM upstream behind proxy_pass
--- config
location /v1/ {
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
--- request
POST /v1/chat/completions
{"model":"gpt-4","max_tokens":7,"messages":[{"role":"user","content":"hi"}]}
--- more_headers
Content-Type: application/json
--- response_headers_like
X-Tokens-Used: ^\d+$
Content-Type: application/json
--- response_body_like
"object":"chat\.completion".*"completion_tokens":7



=== TEST 5: ddb hooks seed before the block and check after it
--- ddb_setup
$ddb->put_item(typed({ PK => "$ENV{TEST_NGINX_NSID}/ENTITY#seed",
                       SK => '#META', hits => 0 }));
--- config
location = /t {
    return 200 "$arg_x\n";
}
--- request
GET /t?x=42
--- response_body
42
--- ddb_check
my $it = plain($ddb->get_item({ PK => S("$ENV{TEST_NGINX_NSID}/ENTITY#seed"),
                                SK => S('#META') }));
is($it->{hits}, '0', 'seeded item is there after the block');



=== TEST 6: request body, POST and the error log at info level
--- log_level: info
--- config
location = /echo {
    client_body_buffer_size 1k;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
}
location = /sink {
    return 200 "len=$content_length\n";
}
--- request
POST /echo
0123456789
--- response_body
len=10
--- no_error_log
[warn]
