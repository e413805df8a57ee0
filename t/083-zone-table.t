# The shared zone's entries (namespace ids, configs, entities,
# rejections, pending deltas) belong to one table (issue 10 point 8): a
# reload that keeps the zone but changes the table is refused, with a
# message that names the zone and the fix; the old configuration keeps
# serving table A.  With another zone name the reload goes through and
# table B gets its own buckets under its own namespace id.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use Test::Zae::DDB;

my ($env, $ddb, $nsid, $n, $r, $table_b, $ddb_b, $nsid_b, $from, $log);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

# table B: another zae-limiter table, its own namespace id

$table_b = "$env->{TEST_NGINX_TABLE}-b";
$ddb_b = Test::Zae::DDB->new(endpoint => $env->{TEST_NGINX_DDB_ENDPOINT},
                             table => $table_b);
$nsid_b = $ddb_b->create_zae_table();
isnt($nsid_b, $nsid, 'table B has its own namespace id');

sub conf {
    my ($table, $zone) = @_;

    return <<"EOF";
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$table region=us-east-1
                       endpoint=\$TEST_NGINX_DDB_ENDPOINT timeout=2s
                       zone=$zone:1m flush_interval=100ms;

    server {
        listen 127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        location / {
            return 200 "upstream\\n";
        }
    }

    server {
        listen 127.0.0.1:\$TEST_NGINX_SERVER_PORT;

        location / {
            zae_limit entity=\$http_x_api_key resource=gpt-4
                      consume=rpm:1 limits=rpm:1000/min;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
        }
    }
}
EOF
}

sub req {
    return http_req("GET /v1", headers => "X-Api-Key: $_[0]\n");
}

$n = nginx(conf => conf($env->{TEST_NGINX_TABLE}, 'zt'));
$n->start;

$r = req('k1');
is($r->{status}, 200, 'table A: served');
ok(get_bucket($ddb, $nsid, 'k1', 'gpt-4'), 'table A: k1 bucket in A');

# same zone, table B: refused

$from = $n->log_size;
is($n->reload(conf => conf($table_b, 'zt')), 0,
   'reload to table B with the same zone: refused');

$log = $n->error_log($from);
like($log, qr/\[emerg\].*zae_limit: zone "zt" holds the entries of "\Q$env->{TEST_NGINX_TABLE}\E us-east-1" and cannot be reused for "\Q$table_b\E us-east-1": give "zae_limit_dynamodb" another "zone=" name/,
     'the message names the zone, both tables and the fix')
    or diag($log);

$r = req('k2');
is($r->{status}, 200, 'the old configuration still serves');
ok(get_bucket($ddb, $nsid, 'k2', 'gpt-4'), 'k2 bucket in table A');
is(scalar(bucket_items($ddb_b)), 0, 'nothing written into table B');

# another zone: accepted, B's own namespace id

is($n->reload(conf => conf($table_b, 'zt2')), 1,
   'reload to table B with another zone: accepted');

$r = req('k3');
is($r->{status}, 200, 'table B: served');
ok(get_bucket($ddb_b, $nsid_b, 'k3', 'gpt-4'),
   "table B: k3 bucket under B's namespace id");
ok(!get_bucket($ddb_b, $nsid, 'k3', 'gpt-4'),
   "table B: nothing under A's namespace id");
ok(!get_bucket($ddb, $nsid, 'k3', 'gpt-4'), 'table A: no k3');

$n->stop(allow_emerg => 1);
$ddb_b->delete_table($table_b);

done_testing();
