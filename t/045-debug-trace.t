# With "error_log ... debug" (the tests' level; the Debian nginx is
# built --with-debug) the module logs each step of the acquire: what a
# request went through can be read from the log.  Three requests of one
# key under rpm:1/min: the first is admitted through the slow path (the
# bucket does not exist yet), the second is refused by the speculative
# write, the third by the zone's rejection cache without a DynamoDB call.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Time::HiRes qw(sleep time);

my ($n, $r, $from, $log);

$n = nginx(conf => <<'EOF');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=local-secret;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=2s;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        location /t/ {
            zae_limit entity=$http_x_api_key resource=trace
                      consume=rpm:1 limits=rpm:1/min;
            root html;
            try_files /nonexistent =204;
        }
    }
}
EOF

$n->start;


# the lines of one request, in order; other lines may come between

sub trace_is {
    my ($text, $name, @steps) = @_;
    my ($pos, $i) = (0, 0);

    for my $re (@steps) {
        pos($text) = $pos;

        unless ($text =~ /\G.*?^[^\n]*\[debug\][^\n]* zae_limit: $re/msg) {
            fail("$name: step " . ($i + 1) . " /$re/");
            diag(join "\n", grep { / zae_limit: / } split /\n/, $text);
            return;
        }

        $pos = pos($text);
        $i++;
    }

    pass("$name: " . scalar(@steps) . " steps in order");
}

# the request's lines are complete once the access log has it

sub request {
    my ($key) = @_;
    my ($from, $r, $deadline);

    $from = $n->log_size;
    $r = http_req('GET /t/', headers => "X-API-Key: $key\n");

    $deadline = time + 5;
    sleep 0.05 until $n->error_log($from) =~ /zae_limit: answer/
                     || time > $deadline;

    return ($r, $n->error_log($from));
}


($r, $log) = request('trace-1');
is($r->{status}, 204, 'first request admitted');

trace_is($log, 'admitted through the slow path',
    qr/start: entity "trace-1", resource "trace", namespace "default"/,
    qr/namespace lookup: GetItem, call 0/,
    qr/parked, 1 calls pending/,
    qr/namespace "default" is id "[^"]+"/,
    qr/rejection cache miss/,
    qr/entity cache miss/,
    qr/speculative write of "trace-1" shard 0/,
    qr/speculative write: UpdateItem, call 0/,
    qr/speculative write 0: bucket missing/,
    qr/slow path/,
    qr/config cache miss for "trace-1"/,
    qr/config read: BatchGetItem, call 0/,
    qr/limits of "trace-1": 1, inline/,
    qr/bucket read: BatchGetItem, call 0/,
    qr/read: META 0, bucket 0, parent bucket 0/,
    qr/compute: write, \d+ items/,
    qr/write: \w+, call 0/,
    qr/admitted\n/,
    qr/resumed/,
    qr/answer: phase handler returns -5/);


($r, $log) = request('trace-1');
is($r->{status}, 429, 'second request rejected');

trace_is($log, 'rejected by the speculative write',
    qr/start: entity "trace-1"/,
    qr/namespace id "[^"]+" from the cache/,
    qr/rejection cache miss/,
    qr/entity cache (?:hit: 1 shards, cascade 0, parent ""|miss)/,
    qr/speculative write of "trace-1" shard 0/,
    qr/speculative write: UpdateItem, call 0/,
    qr/parked, 1 calls pending/,
    qr/speculative write 0: reject/,
    qr/rejected: limit "rpm", retry after \d+ ms/,
    qr/resumed/,
    qr/answer: 429/);


($r, $log) = request('trace-1');
is($r->{status}, 429, 'third request rejected');

trace_is($log, 'rejected from the rejection cache',
    qr/start: entity "trace-1"/,
    qr/namespace id "[^"]+" from the cache/,
    qr/rejection cache hit: still refused/,
    qr/rejected: limit "rpm", retry after \d+ ms/,
    qr/answer: 429/);

unlike($log, qr/zae_limit: (?:parked|speculative write of)/,
       'no DynamoDB call for the cached rejection');

$n->stop;

done_testing();
