#!/usr/bin/perl
#
# zae-admin limits plan|diff|apply -f FILE against DynamoDB Local: the
# YAML manifest of zae-limiter's provisioner (facts 10.2), the diff
# against #PROVISIONER, the items written, the state item with
# applied_hash = sha256(json.dumps(manifest, sort_keys=True)), deletes of
# items no longer declared, drift, and YAML errors with line numbers.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Test::Zae::Admin;
use JSON::PP;
use File::Temp qw(tempfile);
use Digest::SHA qw(sha256_hex);

my $ep = admin_setup();

my $table = "zae-admin-t040-$$";

sub admin { zae_admin({}, '--endpoint-url', $ep, '-n', $table, @_) }

sub item { admin_item($table, @_) }

sub manifest {
    my ($text) = @_;
    my ($fh, $name) = tempfile(SUFFIX => '.yaml', UNLINK => 1);
    print $fh $text;
    close $fh;
    return $name;
}

my ($rc, $out, $err);

($rc, $out, $err) = admin('deploy');
is($rc, 0, 'deploy') or diag $err;
my $ns = item('_/SYSTEM#', '#NAMESPACE#default')->{namespace_id}{S};

my $f1 = manifest(<<'EOF2');
namespace: default
system:
  on_unavailable: block
  limits:
    rpm: {capacity: 100}
    tpm: {capacity: 10000, refill_amount: 10000, refill_period: 60}
resources:
  gpt-4:
    limits:
      tpm: {capacity: 5000, burst: 8000}
      rpm: {capacity: 50}
  claude:
    limits:
      rpm: {capacity: 20}
entities:
  user-premium:
    resources:
      gpt-4:
        limits:
          rpm: {capacity: 500, refill_period: 3600}
EOF2

# json.dumps(manifest.to_dict(), sort_keys=True) as the provisioner
my $canon = '{"entities": {"user-premium": {"resources": {"gpt-4": '
    . '{"limits": {"rpm": {"capacity": 500, "refill_amount": 500, '
    . '"refill_period": 3600}}}}}}, "namespace": "default", "resources": '
    . '{"claude": {"limits": {"rpm": {"capacity": 20, "refill_amount": 20, '
    . '"refill_period": 60}}}, "gpt-4": {"limits": {"rpm": {"capacity": 50, '
    . '"refill_amount": 50, "refill_period": 60}, "tpm": {"capacity": 8000, '
    . '"refill_amount": 8000, "refill_period": 60}}}}, "system": {"limits": '
    . '{"rpm": {"capacity": 100, "refill_amount": 100, "refill_period": 60}, '
    . '"tpm": {"capacity": 10000, "refill_amount": 10000, "refill_period": '
    . '60}}, "on_unavailable": "block"}}';
my $hash = 'sha256:' . sha256_hex($canon);

($rc, $out, $err) = admin('limits', 'plan', '-f', $f1);
is($rc, 0, 'limits plan') or diag $err;
is($out, "Plan: 4 change(s)\n\n"
    . "  + create system: (system defaults)\n"
    . "  + create resource: claude\n"
    . "  + create resource: gpt-4\n"
    . "  + create entity: user-premium/gpt-4\n",
   'plan output as zae-limiter, resources sorted');
is(item("$ns/SYSTEM#", '#CONFIG'), undef, 'plan writes nothing');

($rc, $out, $err) = admin('limits', 'diff', '-f', $f1);
is($rc, 0, 'limits diff');
like($out, qr/^Drift detected: 4 difference\(s\)\n\n  \+ system/,
     'everything missing');

($rc, $out, $err) = admin('limits', 'apply', '-f', $f1, '--output', 'json');
is($rc, 0, 'limits apply') or diag $err;
my $res = decode_json($out);
is($res->{applied_hash}, $hash,
   'applied_hash equals sha256 of the sort_keys JSON dump');
is($res->{created}, 4, '4 created');

my $gpt = item("$ns/RESOURCE#gpt-4", '#CONFIG');
is($gpt->{l_tpm_cp}{N}, '8000', 'burst replaces capacity');
is($gpt->{l_tpm_ra}{N}, '8000', 'refill_amount defaults to that capacity');
is($gpt->{l_tpm_rp}{N}, '60', 'refill_period defaults to 60');
is($gpt->{config_version}{N}, '1', 'full config item (config_version)');
is(item("$ns/ENTITY#user-premium", '#CONFIG#gpt-4')->{l_rpm_rp}{N}, '3600',
   'entity config written');
is(item("$ns/SYSTEM#", '#CONFIG')->{on_unavailable}{S}, 'block',
   'system on_unavailable');
is_deeply([ sort @{ item("$ns/SYSTEM#", '#RESOURCES')->{resources}{SS} } ],
          [ 'claude', 'gpt-4' ], 'resource registry maintained');

my $st = item("$ns/SYSTEM#", '#PROVISIONER');
my $la = delete $st->{last_applied};
like($la->{S}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/,
     'last_applied in Python isoformat');
is_deeply($st,
          { PK => { S => "$ns/SYSTEM#" }, SK => { S => '#PROVISIONER' },
            GSI4PK => { S => $ns }, managed_system => { BOOL => \1 },
            managed_resources => { L => [ { S => 'claude' },
                                          { S => 'gpt-4' } ] },
            managed_entities => { M => { 'user-premium' =>
                                         { L => [ { S => 'gpt-4' } ] } } },
            applied_hash => { S => $hash } },
          'provisioner state as facts 1.3 (no GSI4SK)');

($rc, $out, $err) = admin('limits', 'diff', '-f', $f1);
is($out, "No drift detected. Live state matches YAML.\n", 'no drift');

admin('resource', 'set-defaults', 'claude', '-l', 'rpm:21');
($rc, $out, $err) = admin('limits', 'diff', '-f', $f1);
is($out, "Drift detected: 1 difference(s)\n\n  ~ resource: claude\n",
   'a manual change is drift');

($rc, $out, $err) = admin('limits', 'plan', '-f', $f1);
like($out, qr/~ update resource: claude/, 'second plan updates');

my $f2 = manifest(<<'EOF2');
namespace: default
resources:
  gpt-4:
    limits:
      rpm: {capacity: 60}
EOF2

($rc, $out, $err) = admin('limits', 'apply', '-f', $f2);
is($rc, 0, 'apply a smaller manifest') or diag $err;
is($out, "  - delete system: (system defaults)\n"
    . "  ~ update resource: gpt-4\n"
    . "  - delete resource: claude\n"
    . "  - delete entity: user-premium/gpt-4\n"
    . "\nApplied: 0 created, 1 updated, 3 deleted.\n",
   'apply output as zae-limiter');
is(item("$ns/SYSTEM#", '#CONFIG'), undef, 'system defaults deleted');
is(item("$ns/RESOURCE#claude", '#CONFIG'), undef, 'claude deleted');
is(item("$ns/ENTITY#user-premium", '#CONFIG#gpt-4'), undef,
   'entity config deleted');
is(item("$ns/RESOURCE#gpt-4", '#CONFIG')->{l_tpm_cp}, undef,
   'gpt-4 replaced: tpm gone');
$st = item("$ns/SYSTEM#", '#PROVISIONER');
ok(!$st->{managed_system}{BOOL}, 'system no longer managed');
is_deeply($st->{managed_entities}{M}, {}, 'no managed entities');

# YAML errors name the line
my $bad = manifest("namespace: default\nresources:\n  gpt-4:\n    limits:\n"
                   . "      rpm: {capacity: fast}\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $bad);
is($rc, 2, 'bad number: exit 2');
like($err, qr/:5: expected a positive integer for "capacity"/,
     'error names line 5');

$bad = manifest("namespace: default\nresources:\n  gpt-4:\n    limit:\n"
                . "      rpm: {capacity: 5}\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $bad);
is($rc, 2, 'unknown key: exit 2');
like($err, qr/:4: unknown key "limit"/, 'unknown key on line 4');

# one reader for both "resources" maps: an entity's refuses a duplicate
# resource too (only the top-level one did)
$bad = manifest("namespace: default\nentities:\n  e1:\n    resources:\n"
                . "      gpt-4: {limits: {rpm: {capacity: 5}}}\n"
                . "      gpt-4: {limits: {rpm: {capacity: 6}}}\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $bad);
is($rc, 2, 'duplicate resource of an entity: exit 2');
like($err, qr/:6: duplicate resource "gpt-4"/,
     'duplicate resource of an entity named with its line');

$bad = manifest("resources: {}\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $bad);
like($err, qr/'namespace' is required/, 'namespace required');

$bad = manifest("namespace: default\nsystem: [\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $bad);
is($rc, 2, 'invalid YAML: exit 2');
like($err, qr/:\d+: /, 'parser error with a line');

$bad = manifest("namespace: default\nresources:\n  gpt-4:\n    limits:\n"
                . "      wcu: {capacity: 5}\n");
($rc, $out, $err) = admin('limits', 'apply', '-f', $bad);
is($rc, 2, 'reserved limit name refused');
ok(item("$ns/RESOURCE#gpt-4", '#CONFIG')->{l_rpm_cp}, 'nothing written');

($rc, $out, $err) = admin('limits', 'plan', '-f', '/nonexistent.yaml');
is($rc, 2, 'missing file: exit 2');
($rc, $out, $err) = admin('limits', 'plan');
is($rc, 2, 'missing -f: exit 2');

my $other = manifest("namespace: nowhere\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $other);
is($rc, 1, 'unknown namespace: exit 1');

# issue 16.13: plan, diff and apply agree on what exists.  Items set
# earlier by the CLI are updates (or nothing) in the plan, not creates;
# apply counts what it really did; a plan after apply has no changes.
($rc, $out, $err) = admin('namespace', 'register', 'n16');
is($rc, 0, 'namespace n16') or diag $err;
($rc, $out, $err) = admin('-N', 'n16', 'resource', 'set-defaults', 'gpt-4',
                          '-l', 'rpm:50');
($rc, $out, $err) = admin('-N', 'n16', 'resource', 'set-defaults', 'claude',
                          '-l', 'rpm:7');
my $f16 = manifest(<<'EOF2');
namespace: n16
resources:
  gpt-4:
    limits:
      rpm: {capacity: 50}
  claude:
    limits:
      rpm: {capacity: 20}
  mistral:
    limits:
      rpm: {capacity: 5}
EOF2
($rc, $out, $err) = admin('limits', 'plan', '-f', $f16);
is($out, "Plan: 2 change(s)\n\n"
    . "  ~ update resource: claude\n"
    . "  + create resource: mistral\n",
   'plan: an existing item differing is an update, an equal one nothing')
    or diag $err;
($rc, $out, $err) = admin('limits', 'diff', '-f', $f16);
is($out, "Drift detected: 2 difference(s)\n\n"
    . "  ~ resource: claude\n  + resource: mistral\n",
   'diff lists the same items');
($rc, $out, $err) = admin('limits', 'apply', '-f', $f16);
is($out, "  ~ update resource: claude\n  + create resource: mistral\n"
    . "\nApplied: 1 created, 1 updated, 0 deleted.\n",
   'apply reports 1 created, 1 updated: what it did')
    or diag $err;
($rc, $out, $err) = admin('limits', 'plan', '-f', $f16);
is($out, "No changes. Infrastructure is up-to-date.\n",
   'plan after apply: no changes');
($rc, $out, $err) = admin('limits', 'apply', '-f', $f16, '--output', 'json');
is_deeply([ map { decode_json($out)->{$_} } qw(created updated deleted) ],
          [ 0, 0, 0 ], 'a second apply changes nothing');
($rc, $out, $err) = admin('-N', 'n16', 'resource', 'delete-defaults',
                          'mistral', '--yes');
($rc, $out, $err) = admin('limits', 'plan', '-f', $f16);
is($out, "Plan: 1 change(s)\n\n  + create resource: mistral\n",
   'a managed item deleted by hand is created again');
my $f16b = manifest("namespace: n16\nresources:\n  gpt-4:\n    limits:\n"
                    . "      rpm: {capacity: 50}\n");
($rc, $out, $err) = admin('limits', 'plan', '-f', $f16b);
is($out, "Plan: 1 change(s)\n\n  - delete resource: claude\n",
   'only a managed item that exists is deleted');

admin('delete', '--yes');

done_testing();
