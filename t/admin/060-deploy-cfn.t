#!/usr/bin/perl
#
# zae-admin deploy / delete without --endpoint-url: the CloudFormation
# path.  AWS cannot be reached here, so CloudFormation is replaced by a
# FAKE: a local recorder (this file) that records every request, checks
# its SigV4 signature, answers like CloudFormation's Query API, and
# creates or deletes the table in DynamoDB Local from the template's
# RateLimitsTable properties.  The test checks the requests zae-admin
# sends (actions, parameters, template body, signature) and what it
# does with the answers (events shown, version record, namespace).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Test::Zae::Admin;
use HTTP::Tiny;
use JSON::PP;
use IO::Socket::INET;
use File::Temp qw(tempfile);
use Digest::SHA qw(sha256_hex hmac_sha256 hmac_sha256_hex);
use POSIX qw(strftime);

my $ep = $ENV{TEST_NGINX_DDB_ENDPOINT};
my $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';

plan skip_all => 'TEST_NGINX_DDB_ENDPOINT not set' unless $ep;
die "zae-admin binary $bin missing\n" unless -x $bin;

my $akid = 'AKIDCFNTEST';
my $secret = 'cfn-secret-key';
my $region = 'eu-west-1';
my $stack = "zae-admin-t060-$$";

my ($logfh, $log) = tempfile(UNLINK => 1);
close $logfh;

my $http = HTTP::Tiny->new(timeout => 10);

sub ddb {
    my ($op, $body) = @_;
    my $r = $http->post($ep, {
        headers => {
            'X-Amz-Target' => "DynamoDB_20120810.$op",
            'Content-Type' => 'application/x-amz-json-1.0',
            'Authorization' => "AWS4-HMAC-SHA256 Credential=$akid/20260101/"
                . "$region/dynamodb/aws4_request, SignedHeaders=host, "
                . 'Signature=00',
        },
        content => encode_json($body),
    });
    return ($r->{success}, eval { decode_json($r->{content}) } || {});
}

sub unescape {
    my ($s) = @_;
    $s =~ tr/+/ /;
    $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
    return $s;
}

# ---- the fake CloudFormation ------------------------------------------------

my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Listen => 10, ReuseAddr => 1)
    or die "listen: $!\n";
my $cfn = 'http://127.0.0.1:' . $srv->sockport . '/';

sub verify_sigv4 {
    my ($service, $body, %h) = @_;
    my ($cred, $signed, $sig) = ($h{authorization} // '')
        =~ /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/
        or return 'malformed Authorization';
    my ($key, $date, $reg, $svc, $term) = split m{/}, $cred;
    return "credential $cred" unless $key eq $akid && $reg eq $region
        && $svc eq $service && $term eq 'aws4_request';
    my $creq = "POST\n/\n\n";
    for my $name (split /;/, $signed) {
        my $v = $h{$name} // return "signed header $name missing";
        $v =~ s/^\s+|\s+$//g;
        $v =~ s/\s+/ /g;
        $creq .= "$name:$v\n";
    }
    $creq .= "\n$signed\n" . sha256_hex($body);
    my $sts = "AWS4-HMAC-SHA256\n$h{'x-amz-date'}\n$date/$reg/$svc/"
        . "aws4_request\n" . sha256_hex($creq);
    my $k = hmac_sha256($date, "AWS4$secret");
    $k = hmac_sha256($reg, $k);
    $k = hmac_sha256($svc, $k);
    $k = hmac_sha256('aws4_request', $k);
    return hmac_sha256_hex($sts, $k) eq $sig ? 'ok' : 'signature mismatch';
}

sub xml_ok {
    my ($action, $inner) = @_;
    return (200, "<${action}Response xmlns=\"http://cloudformation."
        . "amazonaws.com/doc/2010-05-15/\"><${action}Result>$inner"
        . "</${action}Result><ResponseMetadata><RequestId>r-1</RequestId>"
        . "</ResponseMetadata></${action}Response>");
}

sub xml_err {
    my ($code, $msg) = @_;
    return (400, "<ErrorResponse xmlns=\"http://cloudformation.amazonaws."
        . "com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>$code"
        . "</Code><Message>$msg</Message></Error><RequestId>r-2</RequestId>"
        . "</ErrorResponse>");
}

sub event {
    my ($n, $status, $type, $id, $reason) = @_;
    return "<member><EventId>ev-$n</EventId><StackName>$stack</StackName>"
        . "<Timestamp>2026-11-25T20:00:0${n}Z</Timestamp>"
        . "<ResourceStatus>$status</ResourceStatus>"
        . "<ResourceType>$type</ResourceType>"
        . "<LogicalResourceId>$id</LogicalResourceId>"
        . ($reason ? "<ResourceStatusReason>$reason</ResourceStatusReason>"
                   : '')
        . "</member>";
}

sub recorder {
    my %st = (status => '', polls => 0, events => []);

    while (my $c = $srv->accept) {
        my ($line, %h, $body);
        $line = <$c> // next;
        while (my $l = <$c>) {
            $l =~ s/\r?\n$//;
            last if $l eq '';
            my ($k, $v) = split /:\s*/, $l, 2;
            $h{lc $k} = $v;
        }
        read($c, $body, $h{'content-length'} // 0);
        my %p = map { my ($k, $v) = split /=/, $_, 2;
                      (unescape($k), unescape($v // '')) }
                split /&/, $body;
        my $a = $p{Action} // '';
        my $sig = verify_sigv4($a eq 'GetCallerIdentity' ? 'sts'
                                                          : 'cloudformation',
                               $body, %h);
        my ($code, $xml);
        my $t = 'AWS::CloudFormation::Stack';

        if ($a eq 'DescribeStacks') {
            if ($st{status} eq '') {
                ($code, $xml) = xml_err('ValidationError',
                                        "Stack with id $stack does not exist");
            } else {
                if ($st{status} =~ /_IN_PROGRESS$/ && $st{polls}++ >= 1) {
                    if ($st{status} eq 'CREATE_IN_PROGRESS') {
                        push @{ $st{events} },
                             event(3, 'CREATE_COMPLETE',
                                   'AWS::DynamoDB::Table', 'RateLimitsTable'),
                             event(4, 'CREATE_COMPLETE', $t, $stack);
                        $st{status} = 'CREATE_COMPLETE';
                    } elsif ($st{status} eq 'DELETE_IN_PROGRESS') {
                        $st{status} = '';
                        ($code, $xml) = xml_err('ValidationError',
                            "Stack with id $stack does not exist");
                    }
                }
                ($code, $xml) = xml_ok('DescribeStacks',
                    "<Stacks><member><StackName>$stack</StackName>"
                    . "<StackStatus>$st{status}</StackStatus></member>"
                    . '</Stacks>') unless $code;
            }
        } elsif ($a eq 'GetCallerIdentity') {
            ($code, $xml) = (200, '<GetCallerIdentityResponse xmlns="https:'
                . '//sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentity'
                . 'Result><Arn>arn:aws:iam::123456789012:user/ops</Arn>'
                . '<UserId>AIDA</UserId><Account>123456789012</Account>'
                . '</GetCallerIdentityResult></GetCallerIdentityResponse>');
        } elsif ($a eq 'DescribeStackEvents') {
            ($code, $xml) = xml_ok('DescribeStackEvents', '<StackEvents>'
                . join('', reverse @{ $st{events} }) . '</StackEvents>');
        } elsif ($a eq 'CreateStack') {
            my $tpl = decode_json($p{TemplateBody});
            my $tp = $tpl->{Resources}{RateLimitsTable}{Properties};
            my ($ok, $res) = ddb('CreateTable', {
                TableName => $stack,
                AttributeDefinitions => $tp->{AttributeDefinitions},
                KeySchema => $tp->{KeySchema},
                GlobalSecondaryIndexes => $tp->{GlobalSecondaryIndexes},
                LocalSecondaryIndexes => $tp->{LocalSecondaryIndexes},
                BillingMode => $tp->{BillingMode},
                StreamSpecification => { StreamEnabled => \1,
                    %{ $tp->{StreamSpecification} } } });
            $st{status} = 'CREATE_IN_PROGRESS';
            $st{polls} = 0;
            push @{ $st{events} },
                 event(1, 'CREATE_IN_PROGRESS', $t, $stack,
                       'User Initiated'),
                 event(2, 'CREATE_IN_PROGRESS', 'AWS::DynamoDB::Table',
                       'RateLimitsTable');
            ($code, $xml) = $ok
                ? xml_ok('CreateStack', "<StackId>arn:aws:cloudformation:"
                         . "$region:123456789012:stack/$stack/abc</StackId>")
                : xml_err('ValidationError', 'table: ' . encode_json($res));
        } elsif ($a eq 'UpdateStack') {
            ($code, $xml) = xml_err('ValidationError',
                                    'No updates are to be performed.');
        } elsif ($a eq 'DeleteStack') {
            ddb('DeleteTable', { TableName => $stack });
            push @{ $st{events} },
                 event(5, 'DELETE_IN_PROGRESS', $t, $stack,
                       'User Initiated');
            $st{status} = 'DELETE_IN_PROGRESS';
            $st{polls} = 0;
            ($code, $xml) = xml_ok('DeleteStack', '');
        } else {
            ($code, $xml) = xml_err('InvalidAction', "unknown action $a");
        }

        open my $lf, '>>', $log or die;
        print $lf encode_json({ action => $a, params => \%p, sigv4 => $sig,
                                content_type => $h{'content-type'},
                                security_token =>
                                    $h{'x-amz-security-token'} }), "\n";
        close $lf;

        print $c "HTTP/1.1 $code X\r\nContent-Type: text/xml\r\n"
            . 'Content-Length: ' . length($xml) . "\r\n"
            . "Connection: close\r\n\r\n$xml";
        close $c;
    }
}

my $pid = fork;
die "fork: $!\n" unless defined $pid;

if ($pid == 0) {
    recorder();
    POSIX::_exit(0);
}

close $srv;

END { local $?; kill "TERM", $pid if $pid; waitpid $pid, 0 if $pid; }

# ---- zae-admin against it ------------------------------------------------------

$ENV{AWS_ACCESS_KEY_ID} = $akid;
$ENV{AWS_SECRET_ACCESS_KEY} = $secret;
$ENV{AWS_SESSION_TOKEN} = 'session-token-xyz';
$ENV{AWS_REGION} = $region;
$ENV{AWS_ENDPOINT_URL_CLOUDFORMATION} = $cfn;
$ENV{AWS_ENDPOINT_URL_DYNAMODB} = $ep;
delete $ENV{$_} for qw(ZAEL_STACK ZAEL_NAMESPACE AWS_ENDPOINT_URL);

sub admin { zae_admin({}, '-n', $stack, @_) }

sub requests {
    open my $lf, '<', $log or return ();
    my @r = map { decode_json($_) } <$lf>;
    close $lf;
    truncate $log, 0;
    return @r;
}

my ($rc, $out, $err) = admin('deploy', '--enable-deletion-protection',
                             '--pitr-recovery-days', '7');
is($rc, 0, 'deploy through CloudFormation') or diag $err;

my @req = requests();
is_deeply([ map { $_->{action} } @req[0 .. 1] ],
          [ 'DescribeStacks', 'CreateStack' ],
          'DescribeStacks, then CreateStack for a new stack');
is(scalar(grep { $_->{sigv4} ne 'ok' } @req), 0,
   'every request carries a valid SigV4 signature for cloudformation')
    or diag explain [ map { $_->{sigv4} } @req ];
is(scalar(grep { ($_->{security_token} // '') ne 'session-token-xyz' }
          @req), 0, 'the session token is sent');
like($req[1]{content_type}, qr{^application/x-www-form-urlencoded},
     'Query API form body');

my $cp = $req[1]{params};
is($cp->{Version}, '2010-05-15', 'API version');
is($cp->{StackName}, $stack, 'StackName');
is($cp->{'Capabilities.member.1'}, 'CAPABILITY_NAMED_IAM',
   'CAPABILITY_NAMED_IAM for the named policies');
my %param;
for my $i (1 .. 9) {
    my $k = $cp->{"Parameters.member.$i.ParameterKey"} // next;
    $param{$k} = $cp->{"Parameters.member.$i.ParameterValue"};
}
is($param{EnableDeletionProtection}, 'true', 'deletion protection passed');
is($param{PITRRecoveryPeriodDays}, '7', 'PITR days passed');
is($param{EnableAlarms}, 'true', 'alarms on by default');
my %tags;
for my $i (1 .. 9) {
    my $k = $cp->{"Tags.member.$i.Key"} // next;
    $tags{$k} = $cp->{"Tags.member.$i.Value"};
}
is($tags{ManagedBy}, 'zae-limiter', 'stack tag ManagedBy');
is($tags{'zae-limiter:name'}, $stack, 'stack tag name');
is($tags{'zae-limiter:schema-version'}, '0.10.0', 'stack tag schema');
is($cp->{TemplateBody}, scalar `$bin cfn-template`,
   'the template body is cfn-template');

like($out, qr/creating stack "\Q$stack\E"/, 'progress: creating');
like($out, qr/CREATE_IN_PROGRESS\s+AWS::CloudFormation::Stack\s+\Q$stack\E\s+User Initiated/,
     'stack events are shown');
like($out, qr/CREATE_COMPLETE\s+AWS::DynamoDB::Table\s+RateLimitsTable/,
     'the table event is shown');
like($out, qr/stack "\Q$stack\E": CREATE_COMPLETE/, 'settled');
like($out, qr/namespace "default" registered/, 'default namespace');
ok(scalar(grep { $_->{action} eq 'DescribeStacks' } @req) >= 3,
   'polled DescribeStacks until the stack settled');

my (undef, $ver) = ddb('GetItem', { TableName => $stack,
    Key => { PK => { S => '_/SYSTEM#' }, SK => { S => '#VERSION' } } });
is($ver->{Item}{schema_version}{S}, '0.10.0',
   'version record written after the stack');
is($ver->{Item}{updated_by}{S}, 'cli:0.1.0', 'updated_by');

($rc, $out, $err) = admin('status');
is($rc, 0, 'status on the stack-created table');

# the audit principal comes from STS GetCallerIdentity (the fake answers)
{
    local $ENV{AWS_ENDPOINT_URL_STS} = $cfn;

    ($rc, $out, $err) = admin('entity', 'create', 'key-1');
    is($rc, 0, 'entity create on the stack table') or diag $err;
    my @sts = grep { $_->{action} eq 'GetCallerIdentity' } requests();
    is(scalar @sts, 1, 'one GetCallerIdentity call');
    is($sts[0]{sigv4}, 'ok', 'signed for sts') if @sts;
    my (undef, $fwd) = ddb('GetItem', { TableName => $stack, Key => {
        PK => { S => '_/SYSTEM#' }, SK => { S => '#NAMESPACE#default' } } });
    my $nsid = $fwd->{Item}{namespace_id}{S};
    my (undef, $q) = ddb('Query', { TableName => $stack,
        KeyConditionExpression => 'PK = :p',
        ExpressionAttributeValues => {
            ':p' => { S => "$nsid/AUDIT#key-1" } } });
    is($q->{Items}[0]{principal}{S}, 'arn:aws:iam::123456789012:user/ops',
       'audit principal is the caller ARN');
}

($rc, $out, $err) = admin('deploy');
is($rc, 0, 'deploy again');
@req = requests();
is_deeply([ map { $_->{action} } @req[0 .. 2] ],
          [ 'DescribeStacks', 'DescribeStackEvents', 'UpdateStack' ],
          'an existing stack is updated');
like($out, qr/is up to date/, '"No updates" is not an error');
like($out, qr/already registered/, 'namespace kept');

($rc, $out, $err) = admin('delete');
is($rc, 2, 'delete needs --yes');

($rc, $out, $err) = admin('delete', '--yes');
is($rc, 0, 'delete the stack') or diag $err;
@req = requests();
ok(grep({ $_->{action} eq 'DeleteStack' } @req), 'DeleteStack sent');
like($out, qr/DELETE_IN_PROGRESS/, 'delete events shown');
like($out, qr/stack "\Q$stack\E" deleted/, 'deleted');

($rc, $out, $err) = admin('delete', '--yes');
is($rc, 1, 'deleting a missing stack: exit 1');
like($err, qr/stack "\Q$stack\E" not found/, 'missing stack message');

done_testing();
