# Bad input: entity ids, resources and namespaces from request headers
# with '#', '/', unicode, control bytes, invalid UTF-8 and 8 KB values;
# consume amounts and X-Tokens-Used values that are empty, negative,
# non-numeric or 2^64.  Each gets its documented answer (docs/directives.md):
#
#   bad entity, resource, namespace   400, JSON {"error": "invalid_request"}
#   unregistered namespace            unavailable (503 under block)
#   bad consume amount                400, JSON error, error log line naming the
#                                     limit, one a second (#16.8)
#   bad X-Tokens-Used                 served, estimate kept, warn
#
# and afterwards the table holds no stray item: every item is one that
# existed before, or the bucket of a valid entity and resource.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Conf;
use Test::Zae::Items;
use JSON::PP;

my ($env, $ddb, $nsid, $n, $r, %before, %valid_bucket, $json);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};
$json = JSON::PP->new->utf8;

%before = map { item_key($_) => 1 } @{ $ddb->scan() };

sub item_key { "$_[0]{PK}{S}\t$_[0]{SK}{S}" }

$n = nginx(conf => zae_conf(secret => 'x',
                            dynamodb => 'timeout=5s flush_interval=100ms',
                            http => 'large_client_header_buffers 4 64k;',
                            upstream => <<'UPSTREAM', server => <<'EOF'));

location / {
    add_header X-Tokens-Used $http_x_used;
    return 200 "upstream\n";
}
UPSTREAM
add_header X-Status $zae_limit_status always;

location /e/ {
    zae_limit entity=$http_x_api_key resource=gpt-4
              consume=rpm:1,tpm:100 limits=rpm:1000/min,tpm:100000/min;
    zae_limit_reconcile tpm $upstream_http_x_tokens_used;
    proxy_buffer_size 64k;
    proxy_buffers 4 64k;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /r/ {
    zae_limit entity=bi-res resource=$http_x_resource
              consume=rpm:1 limits=rpm:1000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /ns/ {
    zae_limit entity=bi-ns resource=gpt-4
              consume=rpm:1 limits=rpm:1000/min;
    zae_limit_namespace $http_x_ns;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}

location /c/ {
    zae_limit entity=bi-consume resource=gpt-4
              consume=rpm:1,tpm:$http_x_estimate
              limits=rpm:1000/min,tpm:100000/min;
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
EOF

$n->start;


sub req {
    my ($uri, %h) = @_;

    return http_req("GET $uri",
                    headers => join('', map { "$_: $h{$_}\n" } keys %h));
}


sub printable {
    my ($s) = @_;

    $s = substr($s, 0, 20) . '...(' . length($s) . ' bytes)'
        if length $s > 40;
    $s =~ s/([^\x21-\x7e])/sprintf('\\x%02x', ord $1)/ge;

    return "\"$s\"";
}


# a 400 with zae-limiter's validation message as a JSON body

sub is_invalid {
    my ($res, $field, $value, $name) = @_;
    my $body;

    is($res->{status}, 400, "$name: 400");
    is($res->{headers}{'x-status'}, 'INVALID', "$name: INVALID");

    $body = eval { $json->decode($res->{body} // '') };

    ok($body, "$name: the body is valid JSON (UTF-8)")
        or diag($@, printable($res->{body} // ''));

    return unless $body;

    is($body->{error}, 'invalid_request', "$name: error invalid_request");
    is($body->{field}, $field, "$name: field $field");
    like($body->{message} // '', qr/^Invalid \Q$field\E: ./,
         "$name: zae-limiter's message");

    # the value, cut to 50 characters plus "..."

    ok(length($body->{value} // '') <= 53, "$name: value shown cut");
}


# entity ids -----------------------------------------------------------------

my @bad_entities = (
    ['a#b',               '#'],
    ['a/b',               '/'],
    ["\xd0\xba\xd0\xbb",  'unicode (UTF-8)'],
    ["k\x01x",            'control byte'],
    ["k\x7fx",            'DEL'],
    ["k\xffx",            'invalid UTF-8'],
    ['-lead',             'leading -'],
    ['%23',               '%'],
    ['k x',               'space'],
    ['x' x 257,           '257 bytes'],
    ['x' x 8192,          '8 KB'],
    ['#' x 8192,          '8 KB of #'],
);

for my $e (@bad_entities) {
    $r = req('/e/', 'X-API-Key' => $e->[0]);
    is_invalid($r, 'entity_id', $e->[0], "entity $e->[1]");
}

for my $e ('x' x 256, 'ok.id:1@x_y-z', '0') {
    $r = req('/e/', 'X-API-Key' => $e, 'X-Used' => 5);
    is($r->{status}, 200, 'valid entity ' . printable($e) . ': 200');
    is($r->{headers}{'x-status'}, 'PASSED', 'valid entity: PASSED');
    $valid_bucket{"$e\tgpt-4"} = 1;
}

$r = req('/e/');
is($r->{status}, 200, 'no entity: served');
is($r->{headers}{'x-status'}, 'SKIPPED', 'no entity: SKIPPED');


# resources ------------------------------------------------------------------

my @bad_resources = (
    ['a#b',               '#'],
    ['1abc',              'leading digit'],
    ['/abc',              'leading /'],
    ["gpt\xc3\xa9",       'unicode'],
    ["g\x02",             'control byte'],
    ["g\xfe\xff",         'invalid UTF-8'],
    ['r' x 65,            '65 bytes'],
    ['r' x 8192,          '8 KB'],
    ['',                  'empty'],
);

for my $e (@bad_resources) {
    $r = req('/r/', 'X-Resource' => $e->[0]);
    is_invalid($r, 'resource', $e->[0], "resource $e->[1]");
}

for my $res ('openai/gpt-4', 'r' x 64, 'a.b_c-d') {
    $r = req('/r/', 'X-Resource' => $res);
    is($r->{status}, 200, 'valid resource ' . printable($res) . ': 200');
    $valid_bucket{"bi-res\t$res"} = 1;
}


# namespaces -----------------------------------------------------------------

my @bad_ns = (
    ['a#b',               '#'],
    ['_',                 '_ reserved'],
    ["n\x03",             'control byte'],
    ['n' x 8192,          '8 KB'],
    ['a/b',               '/ (refused by the module, stricter than '
                          . 'zae-limiter which refuses only _)'],
);

for my $e (@bad_ns) {
    $r = req('/ns/', 'X-Ns' => $e->[0]);
    is_invalid($r, 'namespace', $e->[0], "namespace $e->[1]");
}

for my $ns ('nope', "\xe5\x90\x8d\xe5\x89\x8d", 'a.b:c') {
    $r = req('/ns/', 'X-Ns' => $ns);
    is($r->{status}, 503, 'unregistered namespace ' . printable($ns)
                          . ': unavailable, 503');
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_BLOCKED',
       'unregistered namespace: UNAVAILABLE_BLOCKED');
}

$r = req('/ns/', 'X-Ns' => 'default');
is($r->{status}, 200, 'namespace default: 200');
$r = req('/ns/');
is($r->{status}, 200, 'empty namespace: the default one, 200');
$valid_bucket{"bi-ns\tgpt-4"} = 1;


# consume amounts (nginx trims the blanks around a header value, so
# " 5" is 5) -----------------------------------------------------------------

my $from = $n->log_size;

for my $v ('', '-1', 'abc', '1.5', '18446744073709551616', '1000000000001',
           "5\x01", '9' x 8192)
{
    $r = req('/c/', 'X-Estimate' => $v);
    is($r->{status}, 400, 'consume ' . printable($v) . ': 400');
    is($r->{headers}{'x-status'}, 'INVALID', 'consume: INVALID');
}

like($n->error_log($from),
     qr/\[error\].*zae_limit: invalid consume amount "" of limit "tpm"/,
     'an empty consume amount is logged at error, naming the limit');

# a client can send them on every request: one line a second (#16.8)

my $lines = () = $n->error_log($from)
                  =~ /\[error\].*zae_limit: invalid consume amount/g;
ok($lines >= 1 && $lines < 8,
   "8 invalid consume amounts: $lines line(s), one a second");

# the value is shortened in the line (64 bytes), so even an 8 KB value
# leaves the limit's name in nginx's 2048-byte line

is(scalar(() = $n->error_log($from)
          =~ /\[error\].*zae_limit: invalid consume amount .* of limit "tpm" in "zae_limit" directive(?: \(and \d+ more in the previous second\))?, client: /g),
   $lines,
   'every such log line names the limit');

for my $v ('0', '7') {
    $r = req('/c/', 'X-Estimate' => $v);
    is($r->{status}, 200, "consume $v: 200");
}
$valid_bucket{"bi-consume\tgpt-4"} = 1;


# X-Tokens-Used --------------------------------------------------------------

my @bad_used = ('-5', 'abc', '18446744073709551616', '1000000000001',
                '1e3', '0x10', '+5', "\xd9\xa3", "5\x01", '9' x 8192);

$from = $n->log_size;

for my $v (@bad_used) {
    $r = req('/e/', 'X-API-Key' => 'bi-tok', 'X-Used' => $v);
    is($r->{status}, 200, 'X-Tokens-Used ' . printable($v) . ': served');
}

$r = req('/e/', 'X-API-Key' => 'bi-tok');
is($r->{status}, 200, 'no X-Tokens-Used: served');

$r = req('/e/', 'X-API-Key' => 'bi-tok', 'X-Used' => '0');
is($r->{status}, 200, 'X-Tokens-Used 0: served');

# last: it puts the bucket deep in debt

$r = req('/e/', 'X-API-Key' => 'bi-tok', 'X-Used' => '1000000000000');
is($r->{status}, 200, 'X-Tokens-Used 10^12 (the largest valid): served');
$valid_bucket{"bi-tok\tgpt-4"} = 1;

select(undef, undef, undef, 0.8);

my $b = get_bucket($ddb, $nsid, 'bi-tok', 'gpt-4');
is($b->{b_tpm_tc}, (scalar(@bad_used) + 1) * 100_000 + 1_000_000_000_000_000,
   'invalid and missing values kept the estimate; 10^12 and 0 reconciled');
is($b->{b_rpm_tc}, (scalar(@bad_used) + 3) * 1000, 'every request counted');

my $inv = 'invalid reconcile value';

like($n->error_log($from),
     qr/\[warn\].*$inv "[^"]*" of limit "tpm", estimate kept/,
     'invalid X-Tokens-Used logged at warn');


# no stray item --------------------------------------------------------------

my (@stray, $buckets);

$buckets = 0;

for my $it (@{ $ddb->scan() }) {
    my ($pk, $sk) = ($it->{PK}{S} // '', $it->{SK}{S} // '');

    next if $before{item_key($it)};

    if ($sk eq '#STATE'
        && $pk =~ /^\Q$nsid\E\/BUCKET#([^#]+)#(.+)#0$/s
        && $valid_bucket{"$1\t$2"})
    {
        $buckets++;
        next;
    }

    push @stray, printable($pk) . ' ' . printable($sk);
}

is(scalar(@stray), 0, 'no stray item in the table')
    or diag(join "\n", @stray[0 .. ($#stray < 9 ? $#stray : 9)]);
is($buckets, scalar(keys %valid_bucket),
   'one bucket per valid entity and resource');

unlike($n->error_log, qr/exited on signal/, 'no worker crashed');

$n->stop;

done_testing();
