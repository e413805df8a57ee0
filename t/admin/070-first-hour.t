#!/usr/bin/perl
#
# zae-admin as a new user meets it (issue 16): the endpoint variables
# that deploy honours, error messages that name their cause, the
# credential chain explained, entity delete of a parent, available with
# a cascade.  Against a real DynamoDB Local; the unreachable endpoints
# are closed loopback ports.
#
# Needs TEST_NGINX_DDB_ENDPOINT and TEST_NGINX_ZAE_ADMIN.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Test::Zae::Admin;
use JSON::PP;
use IO::Socket::INET;
use File::Temp qw(tempfile tempdir);

my $ep = admin_setup(qw(AWS_ENDPOINT_URL_CLOUDFORMATION AWS_PROFILE
                         AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
                         AWS_CONTAINER_CREDENTIALS_FULL_URI
                         AWS_EC2_METADATA_DISABLED
                         AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE));

my $table = "zae-admin-t070-$$";

# run zae-admin with extra environment; no --endpoint-url unless given
sub run { zae_admin({ env => shift }, @_) }

sub admin { run({}, '--endpoint-url', $ep, '-n', $table, @_) }

# the same with a text on stdin
sub admin_in {
    zae_admin({ stdin => shift }, '--endpoint-url', $ep, '-n', $table, @_);
}

# a loopback port nothing listens on
sub closed_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "listen: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

my $closed = 'http://127.0.0.1:' . closed_port();
my ($rc, $out, $err);

# 16.3: deploy honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB as
# --endpoint-url: the table is created in DynamoDB Local, no
# CloudFormation is asked
for my $var (qw(AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB)) {
    my $t = "$table-" . lc(substr($var, -8));
    $t =~ s/_/-/g;
    ($rc, $out, $err) = run({ $var => $ep }, '-n', $t, 'deploy');
    is($rc, 0, "deploy with \$$var") or diag $err;
    like($out, qr/^table "\Q$t\E" created\nttl enabled on "ttl"\n/,
         "\$$var: the table is created directly");
    ($rc, $out, $err) = run({ $var => $ep }, '-n', $t, 'status');
    like($out, qr/table status:\s+ACTIVE/, "\$$var: status reads it");
    ($rc, $out, $err) = run({ $var => $ep }, '-n', $t, 'delete', '--yes');
    is($rc, 0, "delete with \$$var") or diag $err;
}

# every network error names its cause
($rc, $out, $err) = run({ AWS_ENDPOINT_URL_CLOUDFORMATION => $closed },
                        '-n', $table, 'deploy');
is($rc, 1, 'CloudFormation unreachable: exit 1');
like($err, qr/cannot reach "\Q$closed\E": \S.*connect/i,
     'unreachable CloudFormation: libcurl\'s reason');

($rc, $out, $err) = run({ AWS_ENDPOINT_URL_CLOUDFORMATION => $ep },
                        '-n', $table, 'deploy');
is($rc, 1, 'not a CloudFormation: exit 1');
like($err, qr/DescribeStacks failed after retries: HTTP500: HTTP status 500 from "\Q$ep\E" \(not a CloudFormation answer\)/,
     'an answer without an error code names the HTTP status (a 500 is '
     . 'retried first)');
unlike($err, qr/failed: : /, 'no empty reason');

($rc, $out, $err) = run({}, '--endpoint-url', $closed, '-n', $table,
                        'status');
like($err, qr/cannot reach "\Q$closed\E": \S/, 'DynamoDB unreachable: '
     . 'the reason');

# 16.4: without credentials the chain is listed, each provider with
# what it lacked
my $home = tempdir(CLEANUP => 1);
($rc, $out, $err) = run({ AWS_ACCESS_KEY_ID => undef,
                          AWS_SECRET_ACCESS_KEY => undef, HOME => $home,
                          AWS_EC2_METADATA_SERVICE_ENDPOINT => $closed },
                        '--endpoint-url', $ep, '-n', $table, 'status');
is($rc, 1, 'no credentials: exit 1');
like($err, qr/no AWS credentials; the chain tried, in order:\n/,
     'the chain is announced');
like($err, qr/^  environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set$/m,
     'environment: what it lacked');
like($err, qr/^  shared files: no keys for profile "default" in "\Q$home\E\/\.aws\/credentials" or "\Q$home\E\/\.aws\/config"$/m,
     'shared files: which profile and files');
like($err, qr/^  container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set$/m,
     'container: what it lacked');
like($err, qr/^  instance metadata: cannot reach "\Q$closed\E\/latest\/api\/token": \S/m,
     'instance metadata: the reason, from libcurl');
like($err, qr/set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
     'and how to fix it');

($rc, $out, $err) = run({ AWS_ACCESS_KEY_ID => undef,
                          AWS_SECRET_ACCESS_KEY => undef, HOME => $home,
                          AWS_EC2_METADATA_DISABLED => 'true' },
                        '--endpoint-url', $ep, '-n', $table, 'status');
like($err, qr/^  instance metadata: disabled by AWS_EC2_METADATA_DISABLED$/m,
     'disabled instance metadata said so');

# 16.15: a parent with children is not deleted silently
($rc, $out, $err) = admin('deploy');
is($rc, 0, 'deploy') or diag $err;
admin('entity', 'create', 'proj-1');
admin('entity', 'create', 'key-1', '--parent', 'proj-1', '--cascade');
admin('entity', 'create', 'key-2', '--parent', 'proj-1');
($rc, $out, $err) = admin('entity', 'delete', 'proj-1', '--yes');
is($rc, 1, 'delete of a parent: refused');
like($err, qr/entity "proj-1" is the parent of 2 entities: key-1, key-2\n/,
     'the children are listed');
like($err, qr/--force/, 'the way out is named');
($rc, $out, $err) = admin('entity', 'show', 'proj-1');
is($rc, 0, 'the parent is still there');

# 16.16: available with cascade shows the parent's limits, which binds
admin('resource', 'set-defaults', 'gpt-4', '-l', 'rpm:100', '-l',
      'tpm:5000');
admin('entity', 'set-limits', 'proj-1', '-r', 'gpt-4', '-l', 'rpm:3');
admin('entity', 'set-limits', 'key-1', '-r', 'gpt-4', '-l', 'rpm:10',
      '-l', 'tpm:900');
($rc, $out, $err) = admin('available', 'key-1', 'gpt-4', '--output',
                          'json');
is($rc, 0, 'available with cascade') or diag $err;
my $av = decode_json($out);
is_deeply($av->{available}, { rpm => 10, tpm => 900 }, 'the child\'s own');
is_deeply($av->{parent}, { entity_id => 'proj-1', source => 'entity',
                           available => { rpm => 3 } },
          'the parent\'s limits');
is_deeply($av->{binding}, { rpm => 'proj-1', tpm => 'key-1' },
          'which one binds per limit');
($rc, $out, $err) = admin('available', 'key-1', 'gpt-4');
like($out, qr/^proj-1\s+rpm\s+3\s+3\s+\*$/m, 'table: the parent row binds');
like($out, qr/^key-1\s+rpm\s+10\s+10\s*$/m, 'table: the child row does not');
($rc, $out, $err) = admin('available', 'key-2', 'gpt-4', '--output',
                          'json');
ok(!exists decode_json($out)->{parent}, 'no cascade: no parent');

($rc, $out, $err) = admin('entity', 'delete', 'proj-1', '--yes', '--force',
                          '--output', 'json');
is($rc, 0, 'delete --force') or diag $err;
is_deeply(decode_json($out)->{orphaned_children}, [ 'key-1', 'key-2' ],
          '--force names the children it leaves');

# 16.17: an entity id from an API key and a secret file, the key never
# on the command line; the vector is t/unit/test_keyhash.c's (Python's
# hmac + urlsafe_b64encode), so module and zae-admin agree
my $dir = tempdir(CLEANUP => 1);
open(my $sf, '>', "$dir/secret") or die;
print $sf "0123456789abcdef-secret\n";
close $sf;
my $kh = 'kh_01z8EvssPENC-UhCKZxYzdZ2FL-OxmeMmR83ZE3JIIs';

($rc, $out, $err) = admin_in("sk-test-key-1\n", 'entity', 'key-hash',
                             '--key-hash-secret-file', "$dir/secret");
is($rc, 0, 'entity key-hash') or diag $err;
is($out, "$kh\n", 'the id of the key read from stdin');
($rc, $out, $err) = run({ MY_KEY => 'sk-test-key-1' }, 'entity', 'key-hash',
                        '--key-hash-secret-file', "$dir/secret",
                        '--api-key-env', 'MY_KEY');
is($out, "$kh\n", 'the same from --api-key-env');

($rc, $out, $err) = admin_in("sk-test-key-1\n", 'entity', 'create',
                             '--key-hash-secret-file', "$dir/secret",
                             '--display-name', 'team a key');
is($rc, 0, 'entity create by key hash') or diag $err;
($rc, $out, $err) = admin_in("sk-test-key-1\n", 'entity', 'set-limits',
                             '--key-hash-secret-file', "$dir/secret",
                             '-r', 'gpt-4', '-l', 'rpm:7');
is($rc, 0, 'entity set-limits by key hash') or diag $err;
($rc, $out, $err) = admin('entity', 'get-limits', $kh, '-r', 'gpt-4',
                          '--output', 'json');
is(decode_json($out)->{limits}[0]{capacity}, 7,
   'stored under the hashed id');
($rc, $out, $err) = admin_in("sk-test-key-1\n", 'available',
                             '--key-hash-secret-file', "$dir/secret",
                             'gpt-4', '--output', 'json');
is(decode_json($out)->{entity_id}, $kh, 'available ENTITY from the key');
($rc, $out, $err) = admin('audit', 'list', '-e', $kh, '--output', 'json');
unlike($out, qr/sk-test-key-1/, 'the key is not in the audit trail');

open(my $short, '>', "$dir/short") or die;
print $short "too-short\n";
close $short;
($rc, $out, $err) = admin_in("sk-test-key-1\n", 'entity', 'show',
                             '--key-hash-secret-file', "$dir/short");
is($rc, 2, 'a short secret: exit 2');
like($err, qr/key hash secret is 9 bytes, at least 16 are needed/,
     'the rule is named');
($rc, $out, $err) = admin_in('', 'entity', 'show',
                             '--key-hash-secret-file', "$dir/secret");
is($rc, 2, 'no key on stdin: exit 2');
like($err, qr/no API key given/, 'said so');
($rc, $out, $err) = admin('entity', 'list', '--key-hash-secret-file',
                          "$dir/secret");
is($rc, 2, 'not an entity command: refused');

admin('delete', '--yes');

done_testing();
