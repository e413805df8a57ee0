#!/usr/bin/perl
#
# zae-admin aggregate on synthetic bucket traffic against DynamoDB
# Local: the usage snapshot item compared with the example of facts
# 1.3, floor division of negative deltas, total_events per limit delta,
# monthly windows, the proactive refill, proactive sharding and
# shard_count propagation (facts 3.7 and 7.2), usage list/summary/plot.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Test::Zae::Admin;
use JSON::PP;
use IPC::Open3;
use File::Temp qw(tempfile);
use IO::Socket::INET;

my $ep = admin_setup();
my $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

my $table = "zae-admin-t030-$$";

sub admin { zae_admin({}, '--endpoint-url', $ep, '-n', $table, @_) }

sub ddb { admin_ddb(@_) }

sub item { admin_item($table, @_) }

sub add {
    my ($pk, %adds) = @_;
    my (@parts, %vals);
    my $i = 0;
    for my $attr (sort keys %adds) {
        push @parts, "$attr :v$i";
        $vals{":v$i"} = { N => "$adds{$attr}" };
        $i++;
    }
    ddb('UpdateItem', { TableName => $table,
        Key => { PK => { S => $pk }, SK => { S => '#STATE' } },
        UpdateExpression => 'ADD ' . join(', ', @parts),
        ExpressionAttributeValues => \%vals });
}

sub bucket {
    my ($ns, $e, $r, %f) = @_;
    my $shard = $f{shard} // 0;
    my %item = (
        PK => { S => "$ns/BUCKET#$e#$r#$shard" }, SK => { S => '#STATE' },
        entity_id => { S => $e }, resource => { S => $r },
        rf => { N => $f{rf} }, cascade => { BOOL => \0 },
        shard_count => { N => $f{shard_count} // 1 },
        GSI2PK => { S => "$ns/RESOURCE#$r" },
        GSI2SK => { S => "BUCKET#$e#$shard" },
        GSI3PK => { S => "$ns/ENTITY#$e" },
        GSI3SK => { S => "BUCKET#$r#$shard" },
        GSI4PK => { S => $ns }, GSI4SK => { S => "BUCKET#$e#$r#$shard" },
    );
    for my $l (@{ $f{limits} }) {
        my ($name, $tk, $cp, $ra, $rp) = @$l;
        $item{"b_${name}_tk"} = { N => $tk };
        $item{"b_${name}_cp"} = { N => $cp };
        $item{"b_${name}_ra"} = { N => $ra };
        $item{"b_${name}_rp"} = { N => $rp };
        $item{"b_${name}_tc"} = { N => 0 };
    }
    ddb('PutItem', { TableName => $table, Item => \%item });
}

my ($rc, $out, $err);

($rc, $out, $err) = admin('deploy');
is($rc, 0, 'deploy') or diag $err;
my $ns = item('_/SYSTEM#', '#NAMESPACE#default')->{namespace_id}{S};

my $wcu = [ 'wcu', 1000000, 1000000, 1000000, 1000 ];

# 2026-11-23T14:37:30Z: the facts' usage example
my $rf = 1795444650000;

bucket($ns, 'solo', 'api', rf => $rf,
       limits => [ [ 'rpm', 5000, 5000, 5000, 60000 ],
                   [ 'tpm', 100000, 100000, 100000, 60000 ], $wcu ]);
add("$ns/BUCKET#solo#api#0", b_rpm_tk => -1000, b_rpm_tc => 1000,
    b_tpm_tk => -7000, b_tpm_tc => 7000);

($rc, $out, $err) = admin('aggregate', '--snapshot-windows',
                          'hourly,daily,monthly');
is($rc, 0, 'aggregate') or diag $err;
like($out, qr/aggregated \d+ stream records: 6 snapshot writes/,
     '2 limit deltas x 3 windows');

my $snap = item("$ns/ENTITY#solo", '#USAGE#api#2026-11-23T14:00:00Z');
my $ttl = delete $snap->{ttl};
ok($ttl->{N} > time + 89 * 86400 && $ttl->{N} <= time + 90 * 86400 + 5,
   'snapshot ttl = now + 90 days');
is_deeply($snap,
          { PK => { S => "$ns/ENTITY#solo" },
            SK => { S => '#USAGE#api#2026-11-23T14:00:00Z' },
            entity_id => { S => 'solo' }, resource => { S => 'api' },
            window => { S => 'hourly' },
            window_start => { S => '2026-11-23T14:00:00Z' },
            rpm => { N => '1' }, tpm => { N => '7' },
            total_events => { N => '2' },
            GSI2PK => { S => "$ns/RESOURCE#api" },
            GSI2SK => { S => 'USAGE#2026-11-23T14:00:00Z#solo' },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/ENTITY#solo" } },
          'hourly snapshot as facts 1.3 (rpm 1, tpm 7, total_events 2)');

ok(item("$ns/ENTITY#solo", '#USAGE#api#2026-11-23T00:00:00Z'),
   'daily snapshot');
is(item("$ns/ENTITY#solo", '#USAGE#api#2026-11-01T00:00:00Z')->{window}{S},
   'monthly', 'monthly snapshot');

# a refund: tc goes down by 2.5 tokens, the counter by floor(-2.5) = -3
add("$ns/BUCKET#solo#api#0", b_tpm_tk => 2500, b_tpm_tc => -2500);
($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'aggregate again');
$snap = item("$ns/ENTITY#solo", '#USAGE#api#2026-11-23T14:00:00Z');
is($snap->{tpm}{N}, '4', 'negative delta uses floor division: 7 - 3');
is($snap->{total_events}{N}, '3', 'one more event');
is($snap->{ttl}{N}, $ttl->{N}, 'ttl set once');

($rc, $out, $err) = admin('aggregate');
is(item("$ns/ENTITY#solo", '#USAGE#api#2026-11-23T14:00:00Z')->{tpm}{N},
   '4', 'nothing counted twice');

($rc, $out, $err) = admin('usage', 'list', '-e', 'solo', '-w', 'hourly');
is($rc, 0, 'usage list');
like($out, qr/2026-11-23T14:00:00Z\s+hourly\s+solo\s+api\s+3\s+rpm=1 tpm=4/,
     'usage list table');

($rc, $out, $err) = admin('usage', 'list', '-r', 'api', '--output', 'json');
is($rc, 0, 'usage list by resource (GSI2)');
is(scalar @{ decode_json($out) }, 3, 'the three windows written');

($rc, $out, $err) = admin('usage', 'list', '-e', 'solo', '--start',
                          '2026-11-23T12:00:00Z', '--end',
                          '2026-11-23T15:00:00Z', '--output', 'json');
is_deeply([ map { $_->{window_start} } @{ decode_json($out) } ],
          [ '2026-11-23T14:00:00Z' ], '--start/--end filter');

($rc, $out, $err) = admin('usage', 'summary', '-e', 'solo', '-w', 'daily',
                          '--output', 'json');
is($rc, 0, 'usage summary');
is_deeply(decode_json($out),
          { window => 'daily', snapshots => 1, total_events => 3,
            limits => { rpm => { total => 1, average => 1, min => 1,
                                 max => 1 },
                        tpm => { total => 4, average => 4, min => 4,
                                 max => 4 } } },
          'summary numbers');

# issue 16.14: without -w one window is summed, never the three windows
# of the same events together (that gave rpm 3 for 1 request)
($rc, $out, $err) = admin('usage', 'summary', '-e', 'solo');
is($rc, 0, 'usage summary without -w') or diag $err;
like($out, qr/^hourly window \(the finest present; -w to choose\): 1 snapshot, 3 events\n/,
     'the finest window, "1 snapshot" in the singular');
like($out, qr/^rpm\s+1\s+1\s+1\s+1\s*$/m, 'rpm counted once, not 3 times');
($rc, $out, $err) = admin('usage', 'summary', '--help');
unlike($out, qr/--limit/, 'summary help has no --limit');
like($out, qr/usage summary \{-e ENTITY \| -r RESOURCE\}/,
     'the synopsis shows that -e or -r is required');
($rc, $out, $err) = admin('usage', 'summary', '-e', 'solo', '-l', '5');
is($rc, 2, 'summary refuses -l');

($rc, $out, $err) = admin('usage', 'list', '-e', 'solo', '-w', 'hourly',
                          '--plot');
is($rc, 0, 'usage list --plot');
like($out, qr/^2026-11-23T14:00:00Z tpm\s+\|#{50} 4$/m,
     'the largest value is a full bar');

($rc, $out, $err) = admin('usage', 'list');
is($rc, 2, 'usage list needs -e or -r');
($rc, $out, $err) = admin('usage', 'list', '-e', 'solo', '-w', 'weekly');
is($rc, 2, 'bad window: exit 2');
($rc, $out, $err) = admin('aggregate', '--snapshot-windows', 'yearly');
is($rc, 2, 'bad --snapshot-windows: exit 2');

# proactive refill: consumption above what the bucket holds
my $now = time * 1000;
bucket($ns, 'hot', 'api', rf => $now - 30000,
       limits => [ [ 'rpm', 1000, 10000, 10000, 60000 ], $wcu ]);
add("$ns/BUCKET#hot#api#0", b_rpm_tk => -900, b_rpm_tc => 9000);
($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'aggregate hot bucket');
like($out, qr/1 bucket refills/, 'one refill');
my $hot = item("$ns/BUCKET#hot#api#0", '#STATE');
ok($hot->{b_rpm_tk}{N} >= 100 + 5000 && $hot->{b_rpm_tk}{N} <= 10000,
   "tokens refilled by ~30 s of rate ($hot->{b_rpm_tk}{N})");
ok($hot->{rf}{N} >= $now, 'rf moved to the refill time');
is($hot->{b_rpm_tc}{N}, '9000', 'tc untouched by the refill');

# proactive sharding: wcu below 20% on shard 0
bucket($ns, 'busy', 'api', rf => $now, shard_count => 1,
       limits => [ [ 'rpm', 100000, 100000, 100000, 60000 ],
                   [ 'wcu', 150000, 1000000, 1000000, 1000 ] ]);
add("$ns/BUCKET#busy#api#0", b_rpm_tk => -1000, b_rpm_tc => 1000,
    b_wcu_tk => -1000, b_wcu_tc => 1000);
($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'aggregate busy bucket');
is(item("$ns/BUCKET#busy#api#0", '#STATE')->{shard_count}{N}, '2',
   'shard_count doubled on shard 0');

# the doubling comes back through the stream: shard 1 is created
($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'aggregate propagates');
my $s1 = item("$ns/BUCKET#busy#api#1", '#STATE');
ok($s1, 'shard 1 created');
is($s1->{shard_count}{N}, '2', 'shard 1 shard_count');
is($s1->{b_rpm_tk}{N}, '50000', 'shard 1 holds cp / shard_count');
is($s1->{b_rpm_cp}{N}, '100000', 'cp itself is not divided');
is($s1->{b_wcu_tk}{N}, '1000000', 'wcu is not divided');
is($s1->{b_rpm_tc}{N}, '0', 'tc starts at 0');
is($s1->{GSI2SK}{S}, 'BUCKET#busy#1', 'GSI2SK of shard 1');
is($s1->{GSI3SK}{S}, 'BUCKET#api#1', 'GSI3SK of shard 1');
is($s1->{GSI4SK}{S}, 'BUCKET#busy#api#1', 'GSI4SK of shard 1');

($rc, $out, $err) = admin('--output', 'json', 'aggregate');
is($rc, 0, 'aggregate json');
ok(exists decode_json($out)->{records}, 'json counters');

# --follow keeps reading until SIGTERM
bucket($ns, 'live', 'api', rf => 1795444650000,
       limits => [ [ 'rpm', 5000, 5000, 5000, 60000 ], $wcu ]);
my ($fh) = tempfile(UNLINK => 1);
my $fpid = open3(my $fin, my $fout, '>&' . fileno($fh), $bin,
                 '--endpoint-url', $ep, '-n', $table, 'aggregate',
                 '--follow');
close $fin;
sleep 2;
add("$ns/BUCKET#live#api#0", b_rpm_tk => -2000, b_rpm_tc => 2000);
my $live;
for (1 .. 40) {
    $live = item("$ns/ENTITY#live", '#USAGE#api#2026-11-23T14:00:00Z');
    last if $live;
    select(undef, undef, undef, 0.25);
}
is($live && $live->{rpm}{N}, '2', '--follow picks up new traffic');
kill 'TERM', $fpid;
waitpid $fpid, 0;
is($? >> 8, 0, '--follow exits 0 on SIGTERM');

# SIGTERM inside a batch: zae-admin finishes the batch, writes its
# checkpoint and exits 0, so the next run neither counts the batch again
# nor skips any of it.  DynamoDB answers go through
# util/fake-fault-proxy.pl (a fake: it holds each answer 40 ms) so that
# the batch's 60 snapshot writes take seconds and the signal lands
# among them.
($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'caught up before the SIGTERM test') or diag $err;

my @term = map { "term$_" } 0 .. 29;
for my $e (@term) {
    bucket($ns, $e, 'api', rf => 1795444650000,
           limits => [ [ 'rpm', 5000, 5000, 5000, 60000 ], $wcu ]);
    add("$ns/BUCKET#$e#api#0", b_rpm_tk => -1000, b_rpm_tc => 1000)
        for 1 .. 2;
}

chomp(my $pport = `util/free-port 1`);
my ($mfh, $mode_file) = tempfile(UNLINK => 1);
print $mfh "delay=40\n";
close $mfh;
my ($ddb_port) = $ep =~ /:(\d+)/;
my $ppid = fork // die "fork: $!\n";
if ($ppid == 0) {
    exec $^X, 'util/fake-fault-proxy.pl', '--listen', $pport,
         '--to', "127.0.0.1:$ddb_port", '--mode-file', $mode_file;
    die "exec: $!\n";
}
END { local $?; if ($ppid) { kill 'TERM', $ppid; waitpid $ppid, 0 } }
for (1 .. 100) {
    last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$pport");
    select(undef, undef, undef, 0.05);
}

my $hourly = '#USAGE#api#2026-11-23T14:00:00Z';
my $written = sub {
    scalar grep { item("$ns/ENTITY#$_", $hourly) } @term;
};
($fh) = tempfile(UNLINK => 1);
$fpid = open3($fin, $fout, '>&' . fileno($fh), $bin, '--endpoint-url',
              "http://127.0.0.1:$pport", '-n', $table, 'aggregate',
              '--follow');
close $fin;
my $seen = 0;
for (1 .. 1000) {
    last if ($seen = $written->()) > 0;
    select(undef, undef, undef, 0.02);
}
kill 'TERM', $fpid;
ok($seen > 0 && $seen < @term,
   "SIGTERM sent inside the batch ($seen of " . @term . ' entities written)');
my $tout = do { local $/; <$fout> };
waitpid $fpid, 0;
is($?, 0, 'aggregate --follow exits 0 on SIGTERM inside a batch');
like($tout, qr/aggregated \d+ stream records: \d+ snapshot writes/,
     'and prints its summary');
is($written->(), scalar @term, 'the batch in hand was finished');

($rc, $out, $err) = admin('aggregate');
is($rc, 0, 'the next run') or diag $err;
my @wrong = grep {
    my $i = item("$ns/ENTITY#$_", $hourly);
    !($i && $i->{rpm}{N} eq '2' && $i->{total_events}{N} eq '2')
} @term;
is("@wrong", '', 'every entity counted once: rpm 2, total_events 2 '
                 . '(the checkpoint of the batch was kept)');

admin('delete', '--yes');

done_testing();
