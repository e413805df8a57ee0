# Self-tests of the harness: the block parser and filters, variable
# expansion, the raw HTTP client, the log hygiene rule, the demo
# upstream's token arithmetic, plain-Perl mode (two instances, reload,
# must_die, nginx -t) and the less common data sections.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use JSON::PP;

my ($env, @b, $r, $n1, $n2, $up, $body, $data, $rc, $out);

$env = zae_env();


# block parser -------------------------------------------------------------

@b = blocks(<<'EOF');
preamble is ignored
=== TEST 1: first
--- config
location / { }


--- error_code: 404
--- request chomp
GET /x
--- response_body eval
"a" x 3
=== TEST 2: second
--- ONLY
--- more_headers
A: 1

B: 2
EOF

is(scalar @b, 2, 'two blocks');
is($b[0]{title}, 'TEST 1: first', 'title');
is($b[0]{sec}{config}, "location / { }\n", 'trailing blank lines dropped');
is($b[0]{sec}{error_code}, '404', 'inline section');
is_deeply($b[0]{filters}{request}, ['chomp'], 'filters parsed');
is(Test::Zae::_value($b[0], 'request'), 'GET /x', 'chomp filter');
is(Test::Zae::_value($b[0], 'response_body'), 'aaa', 'eval filter');
ok(exists $b[1]{sec}{ONLY}, 'empty section present');
is($b[1]{sec}{more_headers}, "A: 1\n\nB: 2\n", 'inner blank line kept');
is_deeply($b[0]{order}, [qw(config error_code request response_body)],
          'section order');


# variables ----------------------------------------------------------------

is(Test::Zae::Nginx::expand_vars('listen $TEST_NGINX_SERVER_PORT;'),
   "listen $env->{TEST_NGINX_SERVER_PORT};", 'known variable expanded');
ok(!eval { Test::Zae::Nginx::expand_vars('$TEST_NGINX_NO_SUCH'); 1 },
   'unknown variable dies');
like($@, qr/unknown variable "\$TEST_NGINX_NO_SUCH"/, 'and says which');


# raw HTTP client ----------------------------------------------------------

is(Test::Zae::Nginx::build_request("POST /a\nxyz", headers => "X-A: 1\n"),
   "POST /a HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\nConnection: close\r\n"
   . "Content-Length: 3\r\n\r\nxyz", 'request with body');
is(Test::Zae::Nginx::build_request("GET /b HTTP/1.0",
                                   headers => "Host: h\nConnection: x\n"),
   "GET /b HTTP/1.0\r\nHost: h\r\nConnection: x\r\n\r\n",
   'own Host and Connection kept, version kept');

$r = Test::Zae::Nginx::parse_response(
    "HTTP/1.1 201 Created\r\nX-Y: 1\r\nX-Y: 2\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n"
    . "0\r\n\r\n");
is($r->{status}, 201, 'status');
is($r->{headers}{'x-y'}, '1', 'first header value, lower-case name');
is(scalar @{ $r->{header_list} }, 3, 'all headers listed');
is($r->{body}, 'abcde', 'chunked body decoded');
ok(Test::Zae::Nginx::parse_response("garbage")->{error}, 'bad status line');

ok(Test::Zae::Nginx::_complete("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                               . "\r\nok"), 'complete: Content-Length');
ok(!Test::Zae::Nginx::_complete("HTTP/1.1 200 OK\r\nContent-Length: 3"
                                . "\r\n\r\nok"), 'incomplete body');
ok(Test::Zae::Nginx::_complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                               . "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
   'complete: last chunk');
ok(!Test::Zae::Nginx::_complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                . "chunked\r\n\r\n2\r\nok\r\n"),
   'incomplete: no last chunk');


# log hygiene --------------------------------------------------------------

my $log = <<'EOF';
2026/01/01 00:00:00 [notice] 1#1: start worker processes
2026/01/01 00:00:00 [debug] 1#1: *1 http uri: "/runtime error: AddressSanitizer"
EOF

is_deeply([Test::Zae::Nginx::hygiene_problems($log)], [],
          'words echoed in a debug line are not a report');
is(scalar Test::Zae::Nginx::hygiene_problems(
       "x\n2026/01/01 00:00:00 [alert] 1#1: open socket #3 left\n"),
   1, '[alert] found');
is(scalar Test::Zae::Nginx::hygiene_problems("[emerg] bad\n"), 1,
   '[emerg] found');
is(scalar Test::Zae::Nginx::hygiene_problems("[emerg] bad\n", 1), 0,
   '[emerg] allowed in must_die');
is(scalar Test::Zae::Nginx::hygiene_problems(
       "==123==ERROR: AddressSanitizer: heap-buffer-overflow on x\n"
       . "SUMMARY: AddressSanitizer: heap-buffer-overflow a.c:1 in f\n"
       . "src/x.c:12:5: runtime error: signed integer overflow\n"
       . "==7==ERROR: LeakSanitizer: detected memory leaks\n", 1),
   4, 'ASan, UBSan and LSan reports found');


# the demo upstream --------------------------------------------------------

# on its own port: TEST 4 below uses $TEST_NGINX_UPSTREAM_PORT
my ($demo_port) = `$env->{TEST_NGINX_TOP}/util/free-port`;
chomp $demo_port;
$up = demo_upstream(port => $demo_port);
$body = '{"model":"m1","max_tokens":9,"messages":[{"role":"user",'
        . '"content":"hello there"}]}';

$r = http_req("POST /v1/chat/completions\n$body", port => $up,
              headers => "Content-Type: application/json\n");
is($r->{status}, 200, 'demo: 200');
$data = eval { decode_json($r->{body}) } // {};
is($data->{object}, 'chat.completion', 'demo: chat.completion');
is($data->{model}, 'm1', 'demo: model echoed');
is($data->{usage}{prompt_tokens}, int(length($body) / 4),
   'demo: prompt tokens = body bytes / 4');
is($data->{usage}{completion_tokens}, 9, 'demo: completion = max_tokens');
is($data->{usage}{total_tokens}, int(length($body) / 4) + 9, 'demo: total');
is($r->{headers}{'x-tokens-used'}, $data->{usage}{total_tokens},
   'demo: X-Tokens-Used = total_tokens');
like($data->{choices}[0]{message}{content} // '', qr/hello there/,
     'demo: answer quotes the last message');

$r = http_req("POST /v1/chat/completions\n{}", port => $up,
              headers => "X-Demo-Tokens: 100\n");
is($r->{headers}{'x-tokens-used'}, 1 + 100,
   'demo: X-Demo-Tokens, prompt at least 1');

$r = http_req("POST /v1/chat/completions\n{}", port => $up,
              headers => "X-Demo-Status: 503\n");
is($r->{status}, 503, 'demo: X-Demo-Status');
ok(!defined $r->{headers}{'x-tokens-used'}, 'demo: no tokens on errors');

$r = http_req("GET /health", port => $up);
is($r->{body}, "ok\n", 'demo: /health');


# plain-Perl mode ----------------------------------------------------------

my $conf = <<'EOF';
events { }
http {
    server {
        listen 127.0.0.1:%PORT%;
        location / { return 200 "%TEXT%\n"; }
    }
}
EOF

my ($p2) = `$env->{TEST_NGINX_TOP}/util/free-port`;
chomp $p2;

sub conf_for {
    my ($port, $text) = @_;
    my $c = $conf;
    $c =~ s/%PORT%/$port/;
    $c =~ s/%TEXT%/$text/;
    return $c;
}

$n1 = nginx(conf => conf_for($env->{TEST_NGINX_SERVER_PORT}, 'one'));
$n2 = nginx(prefix => "$env->{TEST_NGINX_SERVROOT}-2",
            conf => conf_for($p2, 'two'));
$n1->start;
$n2->start;

is(http_req('GET /')->{body}, "one\n", 'instance 1 answers');
is(http_req('GET /', port => $p2)->{body}, "two\n", 'instance 2 answers');
is(scalar(() = $n1->workers), 1, 'one worker');

my @before = $n1->workers;
ok($n1->reload(conf => conf_for($env->{TEST_NGINX_SERVER_PORT}, 'new')),
   'reload: new workers');
isnt(($n1->workers)[-1], $before[0], 'reload: another worker pid');
is(http_req('GET /')->{body}, "new\n", 'reload: new config serves');

ok(!$n1->reload(conf => "events { }\nhttp { bogus_zae_directive; }\n"),
   'reload with a broken conf is refused');
is(http_req('GET /')->{body}, "new\n", 'old config still serves');

# the refused reload logged an [emerg]: check this instance with emerg
# allowed, and instance 2 normally
$n1->stop(allow_emerg => 1, name => 'instance 1 log clean but the '
                                    . 'refused reload');
$n2->stop(name => 'instance 2 log clean');

$n2->write_conf("events { }\nhttp { bogus_zae_directive; }\n");
($rc, $out) = $n2->check_conf;
isnt($rc, 0, 'nginx -t fails on a bad conf');
like($out, qr/unknown directive "bogus_zae_directive"/, 'and says why');
isnt($n2->start(must_die => 1), 0, 'start(must_die) returns the exit code');

run_tests();

__DATA__

=== TEST 1: SKIP shows as skipped
--- SKIP
--- config
location = /t { return 500; }
--- request
GET /t



=== TEST 2: error_code_like, response_body_unlike, user_files, wait
--- user_files
>>> sub/a.txt
file content
--- config
location /sub/ { }
--- request
GET /sub/a.txt
--- error_code_like: ^2\d\d$
--- response_body
file content
--- response_body_unlike
other
--- wait: 0.1



=== TEST 3: raw_request and timeout
--- config
location = /t { return 200 "raw\n"; }
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: x\r\n\r\n"
--- timeout: 5
--- response_body
raw



=== TEST 4: a second server on the upstream port from http_config
--- http_config
server {
    listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    location / { return 200 "upstream $uri\n"; }
}
--- config
location /p/ {
    proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
}
--- request
GET /p/q
--- response_body
upstream /p/q



=== TEST 5: a keep-alive response ends at its length, not at a timeout
--- config
location = /t { return 200 "kept\n"; }
--- request
GET /t
--- more_headers
Connection: keep-alive
--- timeout: 30
--- response_body
kept
