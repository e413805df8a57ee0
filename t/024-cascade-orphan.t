# Cascade (issue 10, point 6): the child's and the parent's speculative
# writes start together; when the parent's call fails to start after the
# child's is in flight, the child's consumption must be given back.
#
# No real fault makes one call of a pair fail to start (it takes an
# allocation failure), so gdb (a real debugger, not a fake) makes
# ngx_http_zae_limit_ddb_start() return NGX_ERROR for the parent's call
# once, in the running worker.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Test::Zae::Items;
use File::Temp qw(tempfile);
use Time::HiRes qw(sleep);

my ($env, $ddb, $nsid, $n, $r, $bk, $gdb);

$env = zae_env();
$ddb = ddb();
$nsid = $env->{TEST_NGINX_NSID};

create_entity($ddb, $nsid, 'orphan-proj');
create_entity($ddb, $nsid, 'orphan-1', parent => 'orphan-proj', cascade => 1);

$n = nginx(log_level => 'info', conf => <<'EOF2');
env AWS_ACCESS_KEY_ID=AKIDLOCAL;
env AWS_SECRET_ACCESS_KEY=x;
events { }
http {
    zae_limit_dynamodb table=$TEST_NGINX_TABLE region=us-east-1
                       endpoint=$TEST_NGINX_DDB_ENDPOINT timeout=2s
                       flush_interval=200ms;

    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;

        add_header X-Status $zae_limit_status always;

        location /v1/ {
            zae_limit entity=$http_x_api_key resource=orphan
                      consume=rpm:1 limits=rpm:100/min;
            zae_limit_on_unavailable allow;
            proxy_set_header X-Demo-Delay 500;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        }
    }
}
EOF2

demo_upstream();
$n->start;

sub req { http_req('GET /v1/', headers => "X-API-Key: orphan-1\n") }

# the first request takes the slow path and learns the parent

is(req()->{status}, 200, 'first request: admitted, the cascade is cached');

$bk = get_bucket($ddb, $nsid, 'orphan-1', 'orphan');
is($bk->{b_rpm_tc}, 1000, 'child charged once');

# gdb makes the next start of a parent's call (ctx->call[1]) fail, once,
# and prints whether the child's call was still in flight

sub refuse_parent {
    my ($tag) = @_;
    my ($worker) = $n->workers;
    my ($fh, $script) = tempfile(UNLINK => 1);
    my $log = "$env->{TEST_NGINX_SERVROOT}-gdb-$tag.log";

    print $fh <<'EOS';
set confirm off
set pagination off
break ngx_http_zae_limit_ddb_start if call == &((ngx_http_zae_limit_ctx_t *) call->data)->call[1]
commands 1
printf "zae-test: refused: %.300s\n", call->body.data
printf "zae-test: child in flight: %d\n", (int) ((ngx_http_zae_limit_ctx_t *) call->data)->pending
return (ngx_int_t) -1
echo zae-test: parent call refused\n
detach
quit
end
echo zae-test: attached\n
continue
EOS
    close $fh;

    $gdb = fork;
    die "fork: $!\n" unless defined $gdb;

    if ($gdb == 0) {
        open STDOUT, '>', $log;
        open STDERR, '>&', \*STDOUT;
        no warnings qw(exec);
        exec 'gdb', '-nx', '-batch', '-p', $worker, '-x', $script;
        POSIX::_exit(127);
    }

    ok(wait_for(sub { -s $log && `cat $log` =~ /zae-test: attached/ }, 30),
       "$tag: gdb attached to the worker") or diag(`cat $log`);

    return $log;
}

sub check {
    my ($tag, $log, $tc, $in_flight) = @_;

    # with "allow" the request goes on to the upstream (the demo upstream,
    # answering in 500 ms) while the child's write lands: nothing else
    # would give its consumption back

    $r = req();
    is($r->{status}, 200, "$tag: the parent call could not start: served "
                          . '(allow)');
    is($r->{headers}{'x-status'}, 'UNAVAILABLE_ALLOWED',
       "$tag: as unavailable, consuming nothing");

    waitpid($gdb, 0);
    $gdb = undef;
    like(`cat $log`, qr/zae-test: refused: .*BUCKET#orphan-proj#.*\n/,
         "$tag: it was the parent's call that was refused")
        or diag(`cat $log`);
    like(`cat $log`, qr/zae-test: child in flight: $in_flight\n/,
         "$tag: the child's call " . ($in_flight ? 'was' : 'was not')
         . ' in flight');

    ok(wait_for(sub { (get_bucket($ddb, $nsid, 'orphan-1', 'orphan')
                       ->{b_rpm_tc} // 0) == $tc }, 5),
       "$tag: the child's consumption of the refused request was given back")
        or diag(explain(get_bucket($ddb, $nsid, 'orphan-1', 'orphan')));
}

# the entity cache does not know the parent yet: the child's write
# first, then the parent's

check('sequential', refuse_parent('sequential'), 1000, 0);

is(req()->{status}, 200, 'a request that passes: the cascade is cached');
is(req()->{status}, 200, 'and another');
ok(wait_for(sub { (get_bucket($ddb, $nsid, 'orphan-1', 'orphan')
                   ->{b_rpm_tc} // 0) == 3000 }, 5), 'child charged 3 times');

# now both writes start together

check('concurrent', refuse_parent('concurrent'), 3000, 1);

like($n->error_log, qr/dynamodb unavailable: could not start a call/,
     'the failure is logged');

is(req()->{status}, 200, 'the next request is admitted');

$n->stop;

END { kill 'KILL', $gdb if $gdb }

done_testing();
