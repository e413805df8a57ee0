#!/usr/bin/perl
#
# zae-admin against a real DynamoDB Local: every command, its exit code
# and output, and the items it writes compared field by field with the
# example items of the zae-limiter fact sheet (section 1.3).
#
# Needs TEST_NGINX_DDB_ENDPOINT (make test starts DynamoDB Local) and
# TEST_NGINX_ZAE_ADMIN (default build/zae-admin).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Test::Zae::Admin;
use JSON::PP;
use Symbol qw(gensym);
use POSIX ();

my $ep = admin_setup();
my $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

my $table = "zae-admin-t010-$$";

sub admin { zae_admin({}, '--endpoint-url', $ep, '-n', $table, @_) }

sub ddb { admin_ddb(@_) }

sub item { admin_item($table, @_) }

sub query_pk {
    my ($pk, $prefix) = @_;
    my $r = ddb('Query', {
        TableName => $table, ConsistentRead => \1,
        KeyConditionExpression => 'PK = :p AND begins_with(SK, :s)',
        ExpressionAttributeValues => { ':p' => { S => $pk },
                                       ':s' => { S => $prefix } } });
    return @{ $r->{Items} };
}

# replaces the attributes that vary between runs after checking them
sub strip {
    my ($item, %re) = @_;
    my %copy = %$item;
    for my $k (sort keys %re) {
        my $v = delete $copy{$k};
        my ($type, $val) = $v ? %$v : ('', '');
        like("$type:$val", $re{$k}, "$k matches $re{$k}");
    }
    return \%copy;
}

my $TS = qr/^S:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

my ($rc, $out, $err);


# --- usage errors, before any call -------------------------------------

($rc, $out, $err) = admin('--help');
is($rc, 0, '--help exits 0');
like($out, qr/entity set-limits ENTITY/, 'help lists commands');
like($out, qr/Exit codes: 0 ok, 1 operation failed, 2 usage error/,
     'help documents exit codes');

($rc, $out, $err) = admin('entity', 'create', '--help');
is($rc, 0, 'command --help exits 0');
like($out, qr/--display-name/, 'command help lists its options');

($rc, $out, $err) = admin('help', 'namespace');
is($rc, 0, 'help COMMAND');
like($out, qr/namespace purge NSID/, 'group help lists subcommands');

(undef, my $help) = admin('--help');
my @cmds = map { /^  ([a-z-]+(?: [a-z-]+)?)(?: |$)/ ? $1 : () }
           grep { /^  [a-z]/ } split /\n/, $help;
ok(@cmds >= 35, scalar(@cmds) . ' commands listed');
for my $c (grep { $_ ne 'help' } @cmds) {
    my @w = split / /, $c;
    @w = ($w[0]) if $w[0] =~ /^(status|deploy|delete|check|version|help|aggregate|available|time-until-available|cfn-template)$/;
    ($rc, $out, $err) = admin(@w, '--help');
    ok($rc == 0 && $out =~ /^usage: zae-admin \Q@w\E/,
       "help of \"@w\"") or diag $err;
}

{
    my $pid = fork;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/full' or POSIX::_exit(99);
        open STDERR, '>', '/dev/null';
        { no warnings 'exec'; exec $bin, 'cfn-template'; }
        POSIX::_exit(98);
    }
    waitpid $pid, 0;
    is($? >> 8, 1, 'a write failure on stdout is exit 1');
}

($rc, $out, $err) = admin();
is($rc, 2, 'no command is a usage error');

($rc, $out, $err) = admin('frobnicate');
is($rc, 2, 'unknown command: exit 2');
like($err, qr/unknown command "frobnicate"/, 'unknown command message');

($rc, $out, $err) = admin('entity');
is($rc, 2, 'group without a command: exit 2');

($rc, $out, $err) = admin('entity', 'show');
is($rc, 2, 'missing argument: exit 2');
like($err, qr/missing argument/, 'missing argument message');

($rc, $out, $err) = admin('entity', 'show', 'a', 'b');
is($rc, 2, 'extra argument: exit 2');

($rc, $out, $err) = admin('entity', 'show', 'a', '--parent', 'x');
is($rc, 2, 'option of another command: exit 2');
like($err, qr/option "--parent" is not valid here/, 'foreign option message');

($rc, $out, $err) = admin('--output', 'xml', 'status');
is($rc, 2, 'bad --output: exit 2');

($rc, $out, $err) = admin('-n', 'bad_name', 'status');
is($rc, 2, 'bad table name: exit 2');
like($err, qr/invalid table name "bad_name"/, 'table name message');

($rc, $out, $err) = admin('status');
is($rc, 1, 'status before deploy: exit 1');
like($err, qr/table "\Q$table\E" not found/, 'missing table is named');

($rc, $out, $err) = admin('entity', 'show', 'key-1');
is($rc, 1, 'data command before deploy: exit 1');


# --- deploy, status, version, check --------------------------------------

($rc, $out, $err) = admin('deploy');
is($rc, 0, 'deploy') or diag $err;
like($out, qr/table "\Q$table\E" created/, 'deploy creates the table');
like($out, qr/namespace "default" registered: ([A-Za-z0-9_-]{11})/,
     'deploy registers default');

my $d = ddb('DescribeTable', { TableName => $table })->{Table};
is_deeply([ map { "$_->{AttributeName}:$_->{KeyType}" }
            @{ $d->{KeySchema} } ], [ 'PK:HASH', 'SK:RANGE' ], 'key schema');
is_deeply([ sort map { $_->{AttributeName} }
            @{ $d->{AttributeDefinitions} } ],
          [ sort qw(PK SK GSI1PK GSI1SK GSI2PK GSI2SK GSI3PK GSI3SK GSI4PK
                    GSI4SK LSI1SK LSI2SK LSI3SK LSI4SK LSI5SK) ],
          'attribute definitions');
is(scalar(grep { $_->{AttributeType} ne 'S' }
          @{ $d->{AttributeDefinitions} }), 0, 'all attributes are S');
my %gsi = map { $_->{IndexName} => $_ } @{ $d->{GlobalSecondaryIndexes} };
is_deeply([ sort keys %gsi ], [ qw(GSI1 GSI2 GSI3 GSI4) ], 'four GSIs');
is($gsi{"GSI$_->[0]"}{Projection}{ProjectionType}, $_->[1],
   "GSI$_->[0] projection $_->[1]")
    for [1, 'ALL'], [2, 'ALL'], [3, 'KEYS_ONLY'], [4, 'KEYS_ONLY'];
is_deeply([ map { $_->{AttributeName} } @{ $gsi{GSI2}{KeySchema} } ],
          [ 'GSI2PK', 'GSI2SK' ], 'GSI2 keys');
my %lsi = map { $_->{IndexName} => $_ } @{ $d->{LocalSecondaryIndexes} };
is_deeply([ sort keys %lsi ], [ map { "LSI$_" } 1 .. 5 ], 'five LSIs');
is($lsi{"LSI$_->[0]"}{Projection}{ProjectionType}, $_->[1],
   "LSI$_->[0] projection $_->[1]")
    for [1, 'ALL'], [2, 'KEYS_ONLY'], [3, 'ALL'], [4, 'KEYS_ONLY'],
        [5, 'ALL'];
is($d->{BillingModeSummary}{BillingMode}, 'PAY_PER_REQUEST', 'on demand');
is($d->{StreamSpecification}{StreamViewType}, 'NEW_AND_OLD_IMAGES',
   'stream with both images');

my $ttl = ddb('DescribeTimeToLive', { TableName => $table });
is($ttl->{TimeToLiveDescription}{AttributeName}, 'ttl', 'ttl attribute');
is($ttl->{TimeToLiveDescription}{TimeToLiveStatus}, 'ENABLED',
   'ttl enabled');

my $ver = item('_/SYSTEM#', '#VERSION');
is_deeply(strip($ver, updated_at => $TS),
          { PK => { S => '_/SYSTEM#' }, SK => { S => '#VERSION' },
            schema_version => { S => '0.10.0' },
            lambda_version => { NULL => \1 },
            client_min_version => { S => '0.0.0' },
            updated_by => { S => 'cli:0.1.0' },
            GSI4PK => { S => '_' }, GSI4SK => { S => '_/SYSTEM#' } },
          'version record as facts 1.3, lambda_version NULL');

my $fwd = item('_/SYSTEM#', '#NAMESPACE#default');
my $ns = $fwd->{namespace_id}{S};
like($ns, qr/^[A-Za-z0-9_][A-Za-z0-9_-]{10}$/, 'nsid is 11 base64url chars');
is_deeply(strip($fwd, created_at => $TS),
          { PK => { S => '_/SYSTEM#' }, SK => { S => '#NAMESPACE#default' },
            namespace_id => { S => $ns },
            namespace_name => { S => 'default' },
            status => { S => 'active' },
            GSI4PK => { S => '_' }, GSI4SK => { S => '_/SYSTEM#' } },
          'namespace forward record as facts 1.3');
is_deeply(strip(item('_/SYSTEM#', "#NSID#$ns"), created_at => $TS),
          { PK => { S => '_/SYSTEM#' }, SK => { S => "#NSID#$ns" },
            namespace_id => { S => $ns },
            namespace_name => { S => 'default' },
            status => { S => 'active' },
            GSI4PK => { S => '_' }, GSI4SK => { S => '_/SYSTEM#' } },
          'namespace reverse record as facts 1.3');

($rc, $out, $err) = admin('deploy');
is($rc, 0, 'deploy again is idempotent');
like($out, qr/already exists.*already registered: \Q$ns\E/s,
     'second deploy keeps the namespace id');

($rc, $out, $err) = admin('status');
is($rc, 0, 'status');
like($out, qr/table status:\s+ACTIVE/, 'status shows ACTIVE');
like($out, qr/ttl:\s+ENABLED on ttl/, 'status shows ttl');
like($out, qr/schema version:\s+0\.10\.0/, 'status shows the schema');

($rc, $out, $err) = admin('--output', 'json', 'status');
is($rc, 0, 'status json');
my $st = decode_json($out);
is($st->{table_status}, 'ACTIVE', 'json table_status');
is($st->{version}{lambda_version}, undef, 'json lambda_version null');
like($st->{stream_arn}, qr/stream/, 'json stream arn');

($rc, $out, $err) = admin('version', '--output', 'json');
is($rc, 0, 'version');
is(decode_json($out)->{deployed}{schema_version}, '0.10.0',
   'version shows the deployed schema');

($rc, $out, $err) = admin('check');
is($rc, 0, 'check passes on our own version record');
like($out, qr/compatible/, 'check says compatible');

ddb('UpdateItem', { TableName => $table,
    Key => { PK => { S => '_/SYSTEM#' }, SK => { S => '#VERSION' } },
    UpdateExpression => 'SET schema_version = :v',
    ExpressionAttributeValues => { ':v' => { S => '1.0.0' } } });
($rc, $out, $err) = admin('check');
is($rc, 1, 'check fails on a major schema change');
like($err, qr/schema version "1\.0\.0" is incompatible/,
     'check names the versions');
ddb('UpdateItem', { TableName => $table,
    Key => { PK => { S => '_/SYSTEM#' }, SK => { S => '#VERSION' } },
    UpdateExpression => 'SET schema_version = :v',
    ExpressionAttributeValues => { ':v' => { S => '0.10.0' } } });


# --- system defaults -------------------------------------------------------

($rc, $out, $err) = admin('system', 'set-defaults', '-l', 'rpm:abc');
is($rc, 2, 'malformed limit: exit 2');
like($err, qr/invalid limit "rpm:abc"/, 'malformed limit message');

($rc, $out, $err) = admin('system', 'set-defaults', '-l', 'wcu:5');
is($rc, 2, 'reserved limit name wcu: exit 2');

($rc, $out, $err) = admin('system', 'set-defaults', '-l', 'rpm:100',
                          '--on-unavailable', 'maybe');
is($rc, 2, 'bad --on-unavailable: exit 2');

($rc, $out, $err) = admin('system', 'set-defaults');
is($rc, 2, 'set-defaults without -l: exit 2');

is(item("$ns/SYSTEM#", '#CONFIG'), undef, 'refused input wrote nothing');

($rc, $out, $err) = admin('system', 'set-defaults', '-l', 'rpm:100',
                          '-l', 'tpm:10000', '--on-unavailable', 'block');
is($rc, 0, 'system set-defaults') or diag $err;
like($out, qr/rpm: 100\/min\n\s+tpm: 10,000\/min/, 'display form');

is_deeply(item("$ns/SYSTEM#", '#CONFIG'),
          { PK => { S => "$ns/SYSTEM#" }, SK => { S => '#CONFIG' },
            config_version => { N => '1' },
            on_unavailable => { S => 'block' },
            l_rpm_cp => { N => '100' }, l_rpm_ra => { N => '100' },
            l_rpm_rp => { N => '60' },
            l_tpm_cp => { N => '10000' }, l_tpm_ra => { N => '10000' },
            l_tpm_rp => { N => '60' },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/SYSTEM#" } },
          'system config as facts 1.3');

my @audit = query_pk("$ns/AUDIT#\$SYSTEM", '#AUDIT#');
is(scalar @audit, 1, 'one system audit event');
my $ev = $audit[0];
my $id = $ev->{event_id}{S};
like($id, qr/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/, 'event id is a ULID');
my $evttl = $ev->{ttl}{N};
ok($evttl > time + 89 * 86400 && $evttl <= time + 90 * 86400 + 5,
   'audit ttl is now + 90 days');
is_deeply(strip($ev, timestamp => $TS, ttl => qr/^N:\d+$/),
          { PK => { S => "$ns/AUDIT#\$SYSTEM" },
            SK => { S => "#AUDIT#$id" },
            entity_id => { S => '$SYSTEM' }, event_id => { S => $id },
            action => { S => 'limits_set' },
            principal => { NULL => \1 }, resource => { NULL => \1 },
            details => { M => {
                limits => { L => [
                    { M => { name => { S => 'rpm' },
                             capacity => { N => '100' },
                             refill_amount => { N => '100' },
                             refill_period_seconds => { N => '60' } } },
                    { M => { name => { S => 'tpm' },
                             capacity => { N => '10000' },
                             refill_amount => { N => '10000' },
                             refill_period_seconds => { N => '60' } } } ] },
                on_unavailable => { S => 'block' } } },
            GSI4PK => { S => $ns },
            GSI4SK => { S => "$ns/AUDIT#\$SYSTEM" } },
          'system audit event as facts 1.3');

($rc, $out, $err) = admin('system', 'get-defaults', '--output', 'json');
is($rc, 0, 'system get-defaults');
is_deeply(decode_json($out),
          { namespace => 'default', level => 'system',
            on_unavailable => 'block',
            limits => [
                { name => 'rpm', capacity => 100, refill_amount => 100,
                  refill_period_seconds => 60 },
                { name => 'tpm', capacity => 10000, refill_amount => 10000,
                  refill_period_seconds => 60 } ] },
          'system get-defaults json');


# --- resource defaults -----------------------------------------------------

($rc, $out, $err) = admin('resource', 'set-defaults', '9bad', '-l',
                          'rpm:5');
is($rc, 2, 'invalid resource: exit 2');

($rc, $out, $err) = admin('resource', 'set-defaults', 'gpt-4', '-l',
                          'rpm:50', '-l', 'tpm:5000/min:8000');
is($rc, 0, 'resource set-defaults') or diag $err;

is_deeply(item("$ns/RESOURCE#gpt-4", '#CONFIG'),
          { PK => { S => "$ns/RESOURCE#gpt-4" }, SK => { S => '#CONFIG' },
            resource => { S => 'gpt-4' }, config_version => { N => '1' },
            l_rpm_cp => { N => '50' }, l_rpm_ra => { N => '50' },
            l_rpm_rp => { N => '60' },
            l_tpm_cp => { N => '8000' }, l_tpm_ra => { N => '5000' },
            l_tpm_rp => { N => '60' },
            GSI4PK => { S => $ns },
            GSI4SK => { S => "$ns/RESOURCE#gpt-4" } },
          'resource config as facts 1.3');

is_deeply(item("$ns/SYSTEM#", '#RESOURCES'),
          { PK => { S => "$ns/SYSTEM#" }, SK => { S => '#RESOURCES' },
            resources => { SS => [ 'gpt-4' ] },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/SYSTEM#" } },
          'resource registry as facts 1.3');

@audit = query_pk("$ns/AUDIT#\$RESOURCE:gpt-4", '#AUDIT#');
is(scalar @audit, 1, 'resource audit event');
is($audit[0]{resource}{S}, 'gpt-4', 'resource audit names the resource');

admin('resource', 'set-defaults', 'claude', '-l', 'rpm:7');
($rc, $out, $err) = admin('resource', 'list');
is($rc, 0, 'resource list');
is($out, "claude\ngpt-4\n", 'resource list is sorted');

($rc, $out, $err) = admin('resource', 'get-defaults', 'gpt-4');
is($rc, 0, 'resource get-defaults');
like($out, qr/tpm: 5,000\/min \(burst: 8,000\)/, 'burst display');

($rc, $out, $err) = admin('resource', 'delete-defaults', 'claude');
is($rc, 2, 'delete-defaults without --yes and no terminal: exit 2');
like($err, qr/pass --yes/, 'confirmation message');
ok(item("$ns/RESOURCE#claude", '#CONFIG'), 'nothing deleted');

($rc, $out, $err) = admin('resource', 'delete-defaults', 'claude', '--yes');
is($rc, 0, 'resource delete-defaults --yes');
is(item("$ns/RESOURCE#claude", '#CONFIG'), undef, 'config deleted');
is_deeply(item("$ns/SYSTEM#", '#RESOURCES')->{resources}{SS}, [ 'gpt-4' ],
          'registry updated');

($rc, $out, $err) = admin('resource', 'delete-defaults', 'claude', '--yes');
is($rc, 1, 'deleting absent defaults: exit 1');
like($err, qr/resource "claude" has no defaults in namespace "default"/,
     'absent defaults message');


# --- entities --------------------------------------------------------------

($rc, $out, $err) = admin('entity', 'create', 'bad#id');
is($rc, 2, 'invalid entity id: exit 2');
like($err, qr/invalid entity id "bad#id": /, 'invalid entity id message');

# a long or hostile value is quoted as zae-limiter quotes it: 50
# characters, then "..."; control bytes as text
($rc, $out, $err) = admin('entity', 'create', "x\x01#" . ('y' x 300));
is($rc, 2, 'long invalid entity id: exit 2');
like($err, qr/invalid entity id "x\\x01#y{47}\.\.\.": /,
     'long invalid entity id: cut at 50 characters, control byte shown');
unlike($err, qr/\x01|y{48}/, 'no raw control byte, no full value');

# characters, not bytes: 80 two-byte characters (UTF-8 "\xc3\xa9")
($rc, $out, $err) = admin('entity', 'create',
                          "\xc3\xa9#" x 10 . "\xc3\xa9" x 60);
is($rc, 2, 'non-ASCII invalid entity id: exit 2');
like($err, qr/invalid entity id "(?:\xc3\xa9#){10}(?:\xc3\xa9){30}\.\.\.": /,
     'non-ASCII invalid entity id: cut at 50 characters');

($rc, $out, $err) = admin('entity', 'create', 'key-1', '--parent',
                          'proj-1');
is($rc, 1, 'unknown parent: exit 1');
like($err, qr/parent entity "proj-1" not found in namespace "default"/,
     'unknown parent message');

($rc, $out, $err) = admin('entity', 'create', 'proj-1');
is($rc, 0, 'create root entity');

my $root = item("$ns/ENTITY#proj-1", '#META');
is_deeply(strip($root, created_at => $TS),
          { PK => { S => "$ns/ENTITY#proj-1" }, SK => { S => '#META' },
            entity_id => { S => 'proj-1' }, name => { S => 'proj-1' },
            parent_id => { NULL => \1 }, cascade => { BOOL => \0 },
            metadata => { M => {} },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/ENTITY#proj-1" } },
          'root entity meta: NULL parent, no GSI1');

($rc, $out, $err) = admin('entity', 'create', 'key-1', '--parent',
                          'proj-1', '--cascade', '--principal', 'ops@corp');
is($rc, 0, 'create child entity') or diag $err;

is_deeply(strip(item("$ns/ENTITY#key-1", '#META'), created_at => $TS),
          { PK => { S => "$ns/ENTITY#key-1" }, SK => { S => '#META' },
            entity_id => { S => 'key-1' }, name => { S => 'key-1' },
            parent_id => { S => 'proj-1' }, cascade => { BOOL => \1 },
            metadata => { M => {} },
            GSI1PK => { S => "$ns/PARENT#proj-1" },
            GSI1SK => { S => 'CHILD#key-1' },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/ENTITY#key-1" } },
          'child entity meta as facts 1.3');

@audit = query_pk("$ns/AUDIT#key-1", '#AUDIT#');
is(scalar @audit, 1, 'entity_created audit event');
is($audit[0]{action}{S}, 'entity_created', 'action entity_created');
is($audit[0]{principal}{S}, 'ops@corp', 'principal from --principal');
is_deeply($audit[0]{details}{M},
          { name => { S => 'key-1' }, parent_id => { S => 'proj-1' },
            cascade => { BOOL => \1 }, metadata => { M => {} } },
          'entity_created details');

($rc, $out, $err) = admin('entity', 'create', 'key-1');
is($rc, 1, 'duplicate entity: exit 1');
like($err, qr/entity "key-1" already exists in namespace "default"/,
     'duplicate entity message');

($rc, $out, $err) = admin('entity', 'show', 'key-1', '--output', 'json');
is($rc, 0, 'entity show');
my $show = decode_json($out);
is($show->{parent_id}, 'proj-1', 'show parent');
ok($show->{cascade}, 'show cascade');

($rc, $out, $err) = admin('entity', 'show', 'key-9');
is($rc, 1, 'unknown entity: exit 1');
like($err, qr/entity "key-9" not found in namespace "default"/,
     'not found message names the item and namespace');

# a bucket as the module writes it, with rpm only and a ttl, to check
# the parameter sync and the initialisation of a new limit
ddb('PutItem', { TableName => $table, Item => {
    PK => { S => "$ns/BUCKET#key-1#gpt-4#0" }, SK => { S => '#STATE' },
    entity_id => { S => 'key-1' }, resource => { S => 'gpt-4' },
    rf => { N => '1795444651132' }, cascade => { BOOL => \1 },
    parent_id => { S => 'proj-1' }, shard_count => { N => '1' },
    b_rpm_tk => { N => '18000' }, b_rpm_cp => { N => '50000' },
    b_rpm_ra => { N => '50000' }, b_rpm_rp => { N => '60000' },
    b_rpm_tc => { N => '2000' },
    b_wcu_tk => { N => '999000' }, b_wcu_cp => { N => '1000000' },
    b_wcu_ra => { N => '1000000' }, b_wcu_rp => { N => '1000' },
    b_wcu_tc => { N => '1000' }, ttl => { N => '1795445323' },
    GSI2PK => { S => "$ns/RESOURCE#gpt-4" },
    GSI2SK => { S => 'BUCKET#key-1#0' },
    GSI3PK => { S => "$ns/ENTITY#key-1" },
    GSI3SK => { S => 'BUCKET#gpt-4#0' },
    GSI4PK => { S => $ns }, GSI4SK => { S => 'BUCKET#key-1#gpt-4#0' } } });

($rc, $out, $err) = admin('entity', 'set-limits', 'key-1', '-r', 'gpt-4',
                          '-l', 'rpm:20', '-l', 'tpm:3000/hour');
is($rc, 0, 'entity set-limits') or diag $err;

is_deeply(item("$ns/ENTITY#key-1", '#CONFIG#gpt-4'),
          { PK => { S => "$ns/ENTITY#key-1" }, SK => { S => '#CONFIG#gpt-4' },
            entity_id => { S => 'key-1' }, resource => { S => 'gpt-4' },
            config_version => { N => '1' },
            l_rpm_cp => { N => '20' }, l_rpm_ra => { N => '20' },
            l_rpm_rp => { N => '60' },
            l_tpm_cp => { N => '3000' }, l_tpm_ra => { N => '3000' },
            l_tpm_rp => { N => '3600' },
            GSI3PK => { S => "$ns/ENTITY_CONFIG#gpt-4" },
            GSI3SK => { S => 'key-1' },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/ENTITY#key-1" } },
          'entity config as facts 1.3');

is_deeply(item("$ns/SYSTEM#", '#ENTITY_CONFIG_RESOURCES'),
          { PK => { S => "$ns/SYSTEM#" },
            SK => { S => '#ENTITY_CONFIG_RESOURCES' },
            'gpt-4' => { N => '1' },
            GSI4PK => { S => $ns }, GSI4SK => { S => "$ns/SYSTEM#" } },
          'entity-config registry as facts 1.3');

my $bk = item("$ns/BUCKET#key-1#gpt-4#0", '#STATE');
is($bk->{b_rpm_cp}{N}, '20000', 'bucket rpm capacity synced');
is($bk->{b_rpm_ra}{N}, '20000', 'bucket rpm refill synced');
is($bk->{b_rpm_rp}{N}, '60000', 'bucket rpm period synced');
is($bk->{b_rpm_tk}{N}, '18000', 'bucket rpm tokens untouched');
is($bk->{b_rpm_tc}{N}, '2000', 'bucket rpm counter untouched');
is($bk->{b_tpm_cp}{N}, '3000000', 'new limit tpm: capacity');
is($bk->{b_tpm_ra}{N}, '3000000', 'new limit tpm: refill');
is($bk->{b_tpm_rp}{N}, '3600000', 'new limit tpm: period in ms');
is($bk->{b_tpm_tk}{N}, '3000000', 'new limit tpm: initialised full');
is($bk->{b_tpm_tc}{N}, '0', 'new limit tpm: counter initialised');
is($bk->{b_wcu_tk}{N}, '999000', 'wcu untouched');
ok(!exists $bk->{ttl}, 'ttl removed: entity-specific limits');

($rc, $out, $err) = admin('entity', 'set-limits', 'key-1', '-r', 'gpt-4',
                          '-l', 'rpm:20', '-l', 'tpm:3000/hour', '-l',
                          'rpd:1000/day');
is($rc, 0, 'set-limits again overwrites');
is(item("$ns/ENTITY#key-1", '#CONFIG#gpt-4')->{l_rpd_rp}{N}, '86400',
   'overwritten config has the third limit');
is(item("$ns/BUCKET#key-1#gpt-4#0", '#STATE')->{b_rpd_tk}{N}, '1000000',
   'third limit initialised in the bucket');
is(item("$ns/SYSTEM#", '#ENTITY_CONFIG_RESOURCES')->{'gpt-4'}{N}, '1',
   'overwrite does not count twice');

@audit = query_pk("$ns/AUDIT#key-1", '#AUDIT#');
is(scalar @audit, 3, 'two limits_set events more');
is($audit[1]{action}{S}, 'limits_set', 'limits_set action');
is($audit[1]{resource}{S}, 'gpt-4', 'limits_set resource');
is_deeply($audit[1]{details}{M}{limits}{L}[1]{M},
          { name => { S => 'tpm' }, capacity => { N => '3000' },
            refill_amount => { N => '3000' },
            refill_period_seconds => { N => '3600' } },
          'limits_set details');
ok($audit[0]{event_id}{S} lt $audit[1]{event_id}{S},
   'ULIDs sort chronologically');

($rc, $out, $err) = admin('entity', 'get-limits', 'key-1', '-r', 'gpt-4');
is($rc, 0, 'entity get-limits');
like($out, qr/rpm: 20\/min\n\s+tpm: 3,000\/hour/, 'entity limits shown');

($rc, $out, $err) = admin('entity', 'get-limits', 'key-1');
is($rc, 0, 'get-limits on _default_');
like($out, qr/no limits of entity "key-1" on "_default_"/,
     'no _default_ limits');

($rc, $out, $err) = admin('entity', 'set-limits', 'ghost', '-l', 'rpm:1');
is($rc, 0, 'set-limits on an entity without meta is allowed');
like($err, qr/warning: entity "ghost" has no record/, 'with a warning');
is(item("$ns/SYSTEM#", '#ENTITY_CONFIG_RESOURCES')->{'_default_'}{N}, '1',
   '_default_ counted in the registry');

($rc, $out, $err) = admin('entity', 'list', '--output', 'json');
is($rc, 0, 'entity list');
is_deeply([ sort @{ decode_json($out) } ], [ 'key-1', 'proj-1' ],
          'entity list shows entities with a meta record');

($rc, $out, $err) = admin('entity', 'list', '--parent', 'proj-1');
is($rc, 0, 'entity list --parent');
is($out, "ENTITY\nkey-1\n", 'children of proj-1');

($rc, $out, $err) = admin('entity', 'list', '--with-custom-limits',
                          'gpt-4', '--output', 'json');
is($rc, 0, 'entity list --with-custom-limits');
is_deeply(decode_json($out), [ 'key-1' ], 'entities with gpt-4 limits');

($rc, $out, $err) = admin('entity', 'list', '--parent', 'a',
                          '--with-custom-limits', 'b');
is($rc, 2, '--parent with --with-custom-limits: exit 2');

($rc, $out, $err) = admin('entity', 'list-resources', 'key-1');
is($rc, 0, 'entity list-resources');
is($out, "gpt-4\n", 'resources of key-1');


# --- capacity ---------------------------------------------------------------

($rc, $out, $err) = admin('available', 'key-1', 'gpt-4', '--output', 'json');
is($rc, 0, 'available') or diag $err;
my $av = decode_json($out);
is($av->{source}, 'entity', 'available: entity level');
ok($av->{available}{rpm} >= 18 && $av->{available}{rpm} <= 20,
   'available rpm refilled from the stored bucket');
is($av->{available}{tpm}, 3000, 'available tpm (initialised)');

($rc, $out, $err) = admin('available', 'proj-1', 'gpt-4', '--output',
                          'json');
is($rc, 0, 'available without a bucket');
is_deeply(decode_json($out)->{available}, { rpm => 50, tpm => 8000 },
          'missing bucket: resource defaults at capacity');

($rc, $out, $err) = admin('time-until-available', 'proj-1', 'gpt-4',
                          '--needed', 'rpm:60');
is($rc, 0, 'time-until-available');
is($out, "12.001\n", '10 tokens short at 50/min: 12.001 s');

($rc, $out, $err) = admin('time-until-available', 'proj-1', 'gpt-4',
                          '--needed', 'rpm:5', '--output', 'json');
is(decode_json($out)->{retry_after_ms}, 0, 'available now: 0');

($rc, $out, $err) = admin('time-until-available', 'proj-1', 'gpt-4',
                          '--needed', 'xyz:5');
is($rc, 1, 'unknown limit: exit 1');
like($err, qr/limit "xyz" does not apply/, 'unknown limit message');

($rc, $out, $err) = admin('time-until-available', 'proj-1', 'gpt-4',
                          '--needed', 'rpm');
is($rc, 2, 'malformed --needed: exit 2');


# --- audit list ---------------------------------------------------------------

($rc, $out, $err) = admin('audit', 'list', '-e', 'key-1', '-l', '2',
                          '--output', 'json');
is($rc, 0, 'audit list');
my $al = decode_json($out);
is(scalar @$al, 2, 'audit list --limit');
ok($al->[0]{event_id} gt $al->[1]{event_id}, 'newest first');
is($al->[0]{action}, 'limits_set', 'audit list action');

($rc, $out, $err) = admin('audit', 'list', '-e', 'key-1',
                          '--start-event-id', $al->[1]{event_id},
                          '--output', 'json');
is($rc, 0, 'audit list --start-event-id');
is(scalar @{ decode_json($out) }, 1, 'older events only');

($rc, $out, $err) = admin('audit', 'list');
is($rc, 0, 'audit list of $SYSTEM');
like($out, qr/limits_set\s+\$SYSTEM/, 'system event listed');

($rc, $out, $err) = admin('audit', 'list', '-l', '0');
is($rc, 2, 'bad --limit: exit 2');


# --- deletes ------------------------------------------------------------------

my $t0 = time;
($rc, $out, $err) = admin('entity', 'delete-limits', 'key-1', '-r',
                          'gpt-4', '--yes');
is($rc, 0, 'entity delete-limits');
is(item("$ns/ENTITY#key-1", '#CONFIG#gpt-4'), undef, 'config deleted');
ok(!exists item("$ns/SYSTEM#", '#ENTITY_CONFIG_RESOURCES')->{'gpt-4'},
   'registry attribute removed at 0');
$bk = item("$ns/BUCKET#key-1#gpt-4#0", '#STATE');
is($bk->{b_rpm_cp}{N}, '50000', 'bucket back on resource defaults: rpm');
is($bk->{b_tpm_cp}{N}, '8000000', 'bucket back on resource defaults: tpm cp');
is($bk->{b_tpm_ra}{N}, '5000000', 'bucket back on resource defaults: tpm ra');
is($bk->{b_tpm_rp}{N}, '60000', 'bucket back on resource defaults: tpm rp');
ok(!grep(/^b_rpd_/, keys %$bk), 'stale limit rpd removed from the bucket');
ok($bk->{ttl}{N} >= $t0 + 672 && $bk->{ttl}{N} <= time + 672,
   'bucket ttl = now + 672 (facts 2.3 vector)');
is($bk->{rf}{N}, '1795444651132', 'rf kept');
is($bk->{b_wcu_cp}{N}, '1000000', 'wcu kept');

@audit = query_pk("$ns/AUDIT#key-1", '#AUDIT#');
is($audit[-1]{action}{S}, 'limits_deleted', 'limits_deleted event');
is_deeply($audit[-1]{details}{M}, {}, 'entity limits_deleted: no details');

($rc, $out, $err) = admin('entity', 'delete-limits', 'key-1', '-r',
                          'gpt-4', '--yes');
is($rc, 0, 'delete-limits of absent limits is a no-op');
like($out, qr/nothing to delete/, 'no-op message');

($rc, $out, $err) = admin('system', 'delete-defaults', '--yes');
is($rc, 0, 'system delete-defaults');
is(item("$ns/SYSTEM#", '#CONFIG'), undef, 'system config deleted');
@audit = query_pk("$ns/AUDIT#\$SYSTEM", '#AUDIT#');
is_deeply($audit[-1]{details}{M},
          { limits => { L => [ { S => 'rpm' }, { S => 'tpm' } ] },
            on_unavailable => { S => 'block' } },
          'system limits_deleted details');

($rc, $out, $err) = admin('entity', 'delete', 'key-1');
is($rc, 2, 'entity delete needs --yes');
($rc, $out, $err) = admin('entity', 'delete', 'key-1', '--yes');
is($rc, 0, 'entity delete') or diag $err;
like($out, qr/entity "key-1" deleted: 2 records/, 'meta and bucket deleted');
is(item("$ns/ENTITY#key-1", '#META'), undef, 'meta gone');
is(item("$ns/BUCKET#key-1#gpt-4#0", '#STATE'), undef, 'bucket gone');
@audit = query_pk("$ns/AUDIT#key-1", '#AUDIT#');
is($audit[-1]{action}{S}, 'entity_deleted', 'entity_deleted event');
is($audit[-1]{details}{M}{records_deleted}{N}, '2', 'records_deleted');

($rc, $out, $err) = admin('entity', 'delete', 'key-1', '--yes');
is($rc, 1, 'deleting an absent entity: exit 1');


# --- namespaces ------------------------------------------------------------------

($rc, $out, $err) = admin('-N', 'tenant-a', 'entity', 'show', 'x');
is($rc, 1, 'unknown namespace: exit 1');
like($err, qr/namespace "tenant-a" not found/, 'unknown namespace message');

($rc, $out, $err) = admin('namespace', 'register', '_');
is($rc, 2, 'reserved namespace _: exit 2');

($rc, $out, $err) = admin('namespace', 'register', 'tenant-a', 'tenant-b',
                          '--output', 'json');
is($rc, 0, 'namespace register');
my $reg = decode_json($out);
my $nsa = $reg->[0]{namespace_id};
ok($reg->[0]{created} && $reg->[1]{created}, 'both registered');

($rc, $out, $err) = admin('namespace', 'register', 'tenant-a', '--output',
                          'json');
is(decode_json($out)->[0]{namespace_id}, $nsa, 'register is idempotent');
ok(!decode_json($out)->[0]{created}, 'not created twice');

($rc, $out, $err) = admin('-N', 'tenant-a', 'entity', 'create', 'x1');
is($rc, 0, 'entity in another namespace');
ok(item("$nsa/ENTITY#x1", '#META'), 'stored under the namespace id');

($rc, $out, $err) = admin('namespace', 'list', '--output', 'json');
is_deeply([ sort map { $_->{namespace} } @{ decode_json($out) } ],
          [ qw(default tenant-a tenant-b) ], 'namespace list');

($rc, $out, $err) = admin('namespace', 'show', 'tenant-a', '--output',
                          'json');
is(decode_json($out)->{namespace_id}, $nsa, 'namespace show');

($rc, $out, $err) = admin('namespace', 'delete', 'tenant-a', '--yes');
is($rc, 0, 'namespace delete');
is(item('_/SYSTEM#', '#NAMESPACE#tenant-a'), undef, 'forward removed');
my $rev = item('_/SYSTEM#', "#NSID#$nsa");
is($rev->{status}{S}, 'deleted', 'reverse marked deleted');
like("S:$rev->{deleted_at}{S}", $TS, 'deleted_at set');
ok(item("$nsa/ENTITY#x1", '#META'), 'data kept after soft delete');

($rc, $out, $err) = admin('namespace', 'orphans', '--output', 'json');
is_deeply([ map { $_->{namespace_id} } @{ decode_json($out) } ], [ $nsa ],
          'orphans lists the deleted namespace');

($rc, $out, $err) = admin('namespace', 'recover', $nsa);
is($rc, 0, 'namespace recover');
is(item('_/SYSTEM#', "#NSID#$nsa")->{status}{S}, 'active', 'active again');
ok(!exists item('_/SYSTEM#', "#NSID#$nsa")->{deleted_at},
   'deleted_at removed');
($rc, $out, $err) = admin('-N', 'tenant-a', 'entity', 'show', 'x1');
is($rc, 0, 'data reachable after recover');

($rc, $out, $err) = admin('namespace', 'purge', $nsa, '--yes');
is($rc, 1, 'purging an active namespace: exit 1');
like($err, qr/is active/, 'purge refusal message');

admin('namespace', 'delete', 'tenant-a', '--yes');
($rc, $out, $err) = admin('namespace', 'purge', $nsa);
is($rc, 2, 'purge needs --yes');
($rc, $out, $err) = admin('namespace', 'purge', $nsa, '--yes');
is($rc, 0, 'namespace purge');
is(item("$nsa/ENTITY#x1", '#META'), undef, 'namespace data purged');
is(item('_/SYSTEM#', "#NSID#$nsa"), undef, 'reverse record removed');

($rc, $out, $err) = admin('namespace', 'recover', $nsa);
is($rc, 1, 'recover of a purged id: exit 1');


# --- delete the table ---------------------------------------------------------------

($rc, $out, $err) = admin('delete');
is($rc, 2, 'delete needs --yes');
($rc, $out, $err) = admin('delete', '--yes');
is($rc, 0, 'delete --yes');
($rc, $out, $err) = admin('status');
is($rc, 1, 'status after delete: exit 1');

done_testing();
