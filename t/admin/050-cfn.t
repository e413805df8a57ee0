#!/usr/bin/perl
#
# zae-admin cfn-template: the CloudFormation template parses, declares
# the table exactly as "deploy" creates it (facts 1.1), and its IAM
# policies allow every DynamoDB call the module and zae-admin make.

use strict;
use warnings;

use Test::More;
use JSON::PP;

my $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

die "zae-admin binary $bin missing\n" unless -x $bin;

my $out = `$bin cfn-template`;
is($? >> 8, 0, 'cfn-template exits 0');

my $t = eval { decode_json($out) };
ok($t, 'the template is JSON') or diag $@;
is($t->{AWSTemplateFormatVersion}, '2010-09-09', 'format version');

my $r = $t->{Resources};
my $tbl = $r->{RateLimitsTable}{Properties};

is($r->{RateLimitsTable}{Type}, 'AWS::DynamoDB::Table', 'table resource');
is_deeply($tbl->{TableName}, { Ref => 'AWS::StackName' },
          'table name is the stack name');
is($tbl->{BillingMode}, 'PAY_PER_REQUEST', 'on demand');
is_deeply([ map { "$_->{AttributeName}:$_->{KeyType}" }
            @{ $tbl->{KeySchema} } ], [ 'PK:HASH', 'SK:RANGE' ], 'keys');
is_deeply([ sort map { $_->{AttributeName} }
            @{ $tbl->{AttributeDefinitions} } ],
          [ sort qw(PK SK GSI1PK GSI1SK GSI2PK GSI2SK GSI3PK GSI3SK GSI4PK
                    GSI4SK LSI1SK LSI2SK LSI3SK LSI4SK LSI5SK) ],
          'attribute definitions');
my %g = map { $_->{IndexName} => $_->{Projection}{ProjectionType} }
        @{ $tbl->{GlobalSecondaryIndexes} };
is_deeply(\%g, { GSI1 => 'ALL', GSI2 => 'ALL', GSI3 => 'KEYS_ONLY',
                 GSI4 => 'KEYS_ONLY' }, 'GSIs and projections');
my %l = map { $_->{IndexName} => $_->{Projection}{ProjectionType} }
        @{ $tbl->{LocalSecondaryIndexes} };
is_deeply(\%l, { LSI1 => 'ALL', LSI2 => 'KEYS_ONLY', LSI3 => 'ALL',
                 LSI4 => 'KEYS_ONLY', LSI5 => 'ALL' }, 'LSIs');
is($tbl->{StreamSpecification}{StreamViewType}, 'NEW_AND_OLD_IMAGES',
   'stream');
is_deeply($tbl->{TimeToLiveSpecification},
          { AttributeName => 'ttl', Enabled => JSON::PP::true }, 'TTL');
ok($tbl->{PointInTimeRecoverySpecification}, 'PITR option');
is_deeply($tbl->{DeletionProtectionEnabled},
          { 'Fn::If' => [ 'DeletionProtection', JSON::PP::true,
                          JSON::PP::false ] }, 'deletion protection');
ok($t->{Parameters}{$_}, "parameter $_")
    for qw(EnablePITR PITRRecoveryPeriodDays EnableDeletionProtection
           EnableAlarms AlarmSNSTopicArn);

sub actions {
    my ($name, $sid) = @_;
    my @st = @{ $r->{$name}{Properties}{PolicyDocument}{Statement} };
    @st = grep { $_->{Sid} eq $sid } @st if $sid;
    return { map { $_ => 1 } map { @{ $_->{Action} } } @st };
}

my @module = map { "dynamodb:$_" }
             qw(GetItem BatchGetItem PutItem UpdateItem TransactWriteItems);
my @admin = map { "dynamodb:$_" }
            qw(GetItem BatchGetItem Query PutItem UpdateItem DeleteItem
               BatchWriteItem TransactWriteItems DescribeTable
               DescribeTimeToLive DescribeStream GetRecords
               GetShardIterator);

for my $p (qw(AcquirePolicy NamespaceAcquirePolicy)) {
    my $acts = $p eq 'AcquirePolicy' ? actions($p)
                                     : actions($p, 'OwnNamespace');
    ok($acts->{$_}, "$p allows $_") for @module;
    ok(!$acts->{'dynamodb:DeleteItem'}, "$p does not allow DeleteItem");
}

my $full = actions('FullAccessPolicy');
ok($full->{$_}, "FullAccessPolicy allows $_") for @admin;

my $ro = actions('ReadOnlyPolicy');
ok(!$ro->{'dynamodb:PutItem'} && !$ro->{'dynamodb:UpdateItem'},
   'ReadOnlyPolicy has no writes');

for my $p (qw(NamespaceAcquirePolicy NamespaceFullAccessPolicy
              NamespaceReadOnlyPolicy)) {
    my $st = $r->{$p}{Properties}{PolicyDocument}{Statement}[0];
    my $keys = $st->{Condition}{'ForAllValues:StringLike'}
                  {'dynamodb:LeadingKeys'};
    ok(grep({ $_ eq '${aws:PrincipalTag/zael_namespace_id}/*' } @$keys),
       "$p scoped by the zael_namespace_id tag");
    ok(grep({ $_ eq '${aws:PrincipalTag/zael_namespace_id}' } @$keys),
       "$p covers GSI4PK (the bare namespace id)");
}

ok(actions('NamespaceFullAccessPolicy', 'OwnNamespace')
       ->{'dynamodb:BatchWriteItem'},
   'ns-full allows BatchWriteItem (purge, entity delete)');

for my $a (qw(ReadThrottleAlarm WriteThrottleAlarm)) {
    is($r->{$a}{Type}, 'AWS::CloudWatch::Alarm', "$a");
    is($r->{$a}{Condition}, 'AlarmsEnabled', "$a is optional");
}

is_deeply($r->{ReadThrottleAlarm}{Properties}{Dimensions},
          [ { Name => 'TableName', Value => { Ref => 'RateLimitsTable' } } ],
          'alarm on the table');

ok($t->{Outputs}{$_}{Export}, "output $_ exported")
    for qw(TableName TableArn StreamArn AcquirePolicyArn
           NamespaceAcquirePolicyArn);

done_testing();
