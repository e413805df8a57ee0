# Limit names read from DynamoDB are validated as configured names are
# (issue 10 point 7): a bucket attribute whose name carries CR LF and
# header lines, written into the table by someone else, is skipped with
# an error log line and never reaches a response header.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use Test::Zae::DDB qw(S N);

my ($env, $ddb, $nsid, $n, $r, $bad, $log);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

$n = nginx(conf => zae_conf(upstream => <<'UPSTREAM', server => <<'EOF'));
location / {
    return 200 "upstream\n";
}
UPSTREAM
location / {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF

$n->start;

sub req {
    return http_req("GET /v1", headers => "X-Api-Key: $_[0]\n");
}

$r = req('inj');
is($r->{status}, 200, 'first request creates the bucket');
ok(get_bucket($ddb, $nsid, 'inj', 'gpt-4'), 'bucket item written')
    or BAIL_OUT('no bucket item');

# the hostile limit, with every field a bucket limit has

$bad = "x\r\nSet-Cookie: pwn=1\r\nX-Evil: a";

$ddb->update_item(
    Key => { PK => S("$nsid/BUCKET#inj#gpt-4#0"), SK => S('#STATE') },
    UpdateExpression =>
        'SET #tk = :tk, #cp = :cp, #ra = :ra, #rp = :rp, #tc = :tc',
    ExpressionAttributeNames => {
        '#tk' => "b_${bad}_tk", '#cp' => "b_${bad}_cp",
        '#ra' => "b_${bad}_ra", '#rp' => "b_${bad}_rp",
        '#tc' => "b_${bad}_tc",
    },
    ExpressionAttributeValues => {
        ':tk' => N(5000), ':cp' => N(10000), ':ra' => N(10000),
        ':rp' => N(60000), ':tc' => N(0),
    },
);

for my $i (1 .. 3) {
    $r = req('inj');
    is($r->{status}, 200, "request $i after the injection is served");
    ok(!exists $r->{headers}{'set-cookie'}, "request $i: no Set-Cookie");
    ok(!exists $r->{headers}{'x-evil'}, "request $i: no X-Evil");
    unlike($r->{raw}, qr/pwn=1|X-Evil/i, "request $i: nothing injected");
    is($r->{headers}{'x-ratelimit-limit-rpm'}, 1000,
       "request $i: the valid limit's header is there");
}

$log = $n->error_log();
like($log, qr/\[error\].*skipped 1 limits of a bucket .*limit name not valid, e\.g\. "x\\r\\nSet-Cookie: pwn=1\\r\\nX-Evil: a"/,
     'the invalid name is logged, escaped');
unlike($log, qr/[\r\n]Set-Cookie: pwn/, 'no raw line break in the log');
my $lines = () = $log =~ /limit name not valid/g;
ok($lines >= 1 && $lines <= 3, "at most one line a request ($lines)");

done_testing();
