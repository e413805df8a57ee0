package Test::Zae::DDB;

# A small DynamoDB JSON client for the tests, on Perl core modules only.
#
#   my $ddb = Test::Zae::DDB->new(endpoint => 'http://127.0.0.1:PORT',
#                                 table => 'zt_...');
#   $ddb->put_item({ PK => S('a'), SK => S('#META'), n => N(5) });
#   my $item = $ddb->get_item({ PK => S('a'), SK => S('#META') });
#   my $p = plain($item);                   # { PK => 'a', n => '5', ... }
#   $ddb->update_item(Key => {...}, UpdateExpression => '...', ...);
#   my $items = $ddb->query(KeyConditionExpression => ..., ...);
#   my $res = $ddb->call('DescribeTable', { TableName => $ddb->table });
#   my ($status, $res) = $ddb->try_call('GetItem', {...});
#
# Items are DynamoDB JSON (attribute => { S => ... }).  S(), N(), B(),
# BOOL(), NUL(), L(), M(), SS() build typed values; plain() and typed()
# convert whole items.  DynamoDB Local does not check signatures, so the
# Authorization header is well formed but its signature is a dummy.

use strict;
use warnings;

use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(strftime);

our @EXPORT_OK = qw(S N BOOL NUL L M SS plain typed zae_schema);

my $json = JSON::PP->new->utf8->canonical;


sub new {
    my ($class, %args) = @_;

    die "Test::Zae::DDB->new: endpoint missing\n" unless $args{endpoint};

    my $self = bless {
        endpoint => $args{endpoint},
        table    => $args{table},
        region   => $args{region} // 'us-east-1',
        http     => HTTP::Tiny->new(timeout => $args{timeout} // 30,
                                    keep_alive => 1),
    }, $class;

    $self->{endpoint} =~ s{/+$}{};

    return $self;
}


sub table {
    my ($self, $table) = @_;

    $self->{table} = $table if defined $table;

    return $self->{table};
}


sub endpoint { $_[0]->{endpoint} }


sub try_call {
    my ($self, $op, $body) = @_;
    my ($date, $day, $auth, $res, $data);

    $date = strftime('%Y%m%dT%H%M%SZ', gmtime);
    $day = substr($date, 0, 8);

    $auth = "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/$day/$self->{region}"
            . '/dynamodb/aws4_request, '
            . 'SignedHeaders=content-type;host;x-amz-date;x-amz-target, '
            . 'Signature=' . ('0' x 64);

    $res = $self->{http}->post("$self->{endpoint}/", {
        headers => {
            'Content-Type'  => 'application/x-amz-json-1.0',
            'X-Amz-Target'  => "DynamoDB_20120810.$op",
            'X-Amz-Date'    => $date,
            'Authorization' => $auth,
        },
        content => $json->encode($body // {}),
    });

    if ($res->{status} == 599) {
        die "ddb $op: no answer from $self->{endpoint}: $res->{content}";
    }

    $data = eval { $json->decode($res->{content}) }
            // { __type => 'NotJson', Message => $res->{content} };

    return ($res->{status}, $data);
}


sub call {
    my ($self, $op, $body) = @_;
    my ($status, $data) = $self->try_call($op, $body);

    if ($status != 200) {
        my $type = $data->{__type} // '?';
        $type =~ s/.*#//;
        die "ddb $op failed: $status $type: "
            . ($data->{Message} // $data->{message} // '') . "\n";
    }

    return $data;
}


sub _with_table {
    my ($self, %body) = @_;

    $body{TableName} //= $self->{table};

    return \%body;
}


sub put_item {
    my ($self, $item, %extra) = @_;

    return $self->call('PutItem', $self->_with_table(Item => $item, %extra));
}


sub get_item {
    my ($self, $key, %extra) = @_;
    my $res;

    $res = $self->call('GetItem', $self->_with_table(Key => $key,
                                                     ConsistentRead => \1,
                                                     %extra));
    return $res->{Item};
}


sub update_item {
    my ($self, %body) = @_;

    return $self->call('UpdateItem', $self->_with_table(%body));
}


sub delete_item {
    my ($self, $key, %extra) = @_;

    return $self->call('DeleteItem', $self->_with_table(Key => $key,
                                                        %extra));
}


sub _paged {
    my ($self, $op, %body) = @_;
    my (@items, $res, $pages);

    $pages = 0;

    do {
        $res = $self->call($op, $self->_with_table(%body));
        push @items, @{ $res->{Items} // [] };
        $body{ExclusiveStartKey} = $res->{LastEvaluatedKey};
        die "ddb $op: more than 1000 pages\n" if ++$pages > 1000;
    } while ($res->{LastEvaluatedKey});

    return \@items;
}


sub query { my ($self, %body) = @_; $self->_paged('Query', %body) }


sub scan { my ($self, %body) = @_; $self->_paged('Scan', %body) }


sub transact_write {
    my ($self, $items, %extra) = @_;

    return $self->call('TransactWriteItems',
                       { TransactItems => $items, %extra });
}


sub describe_table {
    my ($self, $table) = @_;

    return $self->call('DescribeTable',
                       { TableName => $table // $self->{table} })->{Table};
}


sub delete_table {
    my ($self, $table) = @_;

    return $self->call('DeleteTable',
                       { TableName => $table // $self->{table} });
}


# the zae-limiter table (docs/table-format.md 1): keys, GSI1..4, LSI1..5, stream

sub zae_schema {
    my ($name) = @_;
    my (@attrs, @gsi, @lsi);

    @attrs = map { { AttributeName => $_, AttributeType => 'S' } }
             qw(PK SK GSI1PK GSI1SK GSI2PK GSI2SK GSI3PK GSI3SK GSI4PK GSI4SK
                LSI1SK LSI2SK LSI3SK LSI4SK LSI5SK);

    my %gsi_proj = (1 => 'ALL', 2 => 'ALL', 3 => 'KEYS_ONLY',
                    4 => 'KEYS_ONLY');

    for my $i (1 .. 4) {
        push @gsi, {
            IndexName  => "GSI$i",
            KeySchema  => [
                { AttributeName => "GSI${i}PK", KeyType => 'HASH' },
                { AttributeName => "GSI${i}SK", KeyType => 'RANGE' },
            ],
            Projection => { ProjectionType => $gsi_proj{$i} },
        };
    }

    for my $i (1 .. 5) {
        push @lsi, {
            IndexName  => "LSI$i",
            KeySchema  => [
                { AttributeName => 'PK', KeyType => 'HASH' },
                { AttributeName => "LSI${i}SK", KeyType => 'RANGE' },
            ],
            Projection => { ProjectionType => $i % 2 ? 'ALL' : 'KEYS_ONLY' },
        };
    }

    return {
        TableName              => $name,
        AttributeDefinitions   => \@attrs,
        KeySchema              => [
            { AttributeName => 'PK', KeyType => 'HASH' },
            { AttributeName => 'SK', KeyType => 'RANGE' },
        ],
        GlobalSecondaryIndexes => \@gsi,
        LocalSecondaryIndexes  => \@lsi,
        BillingMode            => 'PAY_PER_REQUEST',
        StreamSpecification    => {
            StreamEnabled  => \1,
            StreamViewType => 'NEW_AND_OLD_IMAGES',
        },
    };
}


sub _now { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime) }


sub _nsid {
    my ($raw, $id);

    for (1 .. 100) {
        open my $fh, '<:raw', '/dev/urandom' or die "/dev/urandom: $!\n";
        read($fh, $raw, 8) == 8 or die "/dev/urandom: short read\n";
        close $fh;

        require MIME::Base64;
        $id = MIME::Base64::encode_base64($raw, '');
        $id =~ tr{+/}{-_};
        $id =~ s/=+$//;

        return $id if $id !~ /^-/;
    }

    die "could not generate a namespace id\n";
}


# Creates the zae table the way zae-limiter does (docs/table-format.md 1
# and 2): the schema, TTL on "ttl", the version record, and the
# namespace registered with two conditional Puts in one
# TransactWriteItems.  Returns the nsid.

sub create_zae_table {
    my ($self, %args) = @_;
    my ($table, $ns, $nsid, $now, %fwd, %rev);

    $table = $args{table} // $self->{table};
    $ns = $args{namespace} // 'default';

    $self->call('CreateTable', zae_schema($table));

    $self->call('UpdateTimeToLive', {
        TableName               => $table,
        TimeToLiveSpecification => { Enabled => \1, AttributeName => 'ttl' },
    });

    $now = _now();

    $self->call('PutItem', { TableName => $table, Item => {
        PK                 => S('_/SYSTEM#'),
        SK                 => S('#VERSION'),
        schema_version     => S('0.10.0'),
        lambda_version     => NUL(),
        client_min_version => S('0.0.0'),
        updated_at         => S($now),
        updated_by         => S('client:0.10.3'),
        GSI4PK             => S('_'),
        GSI4SK             => S('_/SYSTEM#'),
    } });

    $nsid = $self->register_namespace($ns, table => $table);

    return $nsid;
}


sub register_namespace {
    my ($self, $name, %args) = @_;
    my ($table, $nsid, $now, %item, $status, $res);

    $table = $args{table} // $self->{table};
    $nsid = $args{nsid} // _nsid();
    $now = _now();

    %item = (
        PK             => S('_/SYSTEM#'),
        SK             => S("#NAMESPACE#$name"),
        namespace_id   => S($nsid),
        namespace_name => S($name),
        status         => S('active'),
        created_at     => S($now),
        GSI4PK         => S('_'),
        GSI4SK         => S('_/SYSTEM#'),
    );

    ($status, $res) = $self->try_call('TransactWriteItems', {
        TransactItems => [
            { Put => { TableName => $table, Item => { %item },
                       ConditionExpression => 'attribute_not_exists(PK)' } },
            { Put => { TableName => $table,
                       Item => { %item, SK => S("#NSID#$nsid") },
                       ConditionExpression => 'attribute_not_exists(PK)' } },
        ],
    });

    if ($status == 200) {
        return $nsid;
    }

    if (($res->{__type} // '') =~ /TransactionCanceled/) {
        my $cur = $self->get_item({ PK => S('_/SYSTEM#'),
                                    SK => S("#NAMESPACE#$name") },
                                  TableName => $table);
        return $cur->{namespace_id}{S} if $cur;
    }

    die "ddb register namespace \"$name\": $status "
        . ($res->{__type} // '') . ': ' . ($res->{Message} // '') . "\n";
}


# typed values

sub S    { { S => "$_[0]" } }
sub N    { { N => "$_[0]" } }
sub BOOL { { BOOL => $_[0] ? JSON::PP::true : JSON::PP::false } }
sub NUL  { { NULL => JSON::PP::true } }
sub L    { { L => [@_] } }
sub M    { { M => { @_ } } }
sub SS   { { SS => [map {"$_"} @_] } }


sub _plain_value {
    my ($v) = @_;
    my ($t) = keys %$v;

    return $v->{S} if $t eq 'S';
    return $v->{N} if $t eq 'N';
    return $v->{BOOL} ? 1 : 0 if $t eq 'BOOL';
    return undef if $t eq 'NULL';
    return [map { _plain_value($_) } @{ $v->{L} }] if $t eq 'L';
    return { map { $_ => _plain_value($v->{M}{$_}) } keys %{ $v->{M} } }
        if $t eq 'M';
    return [sort @{ $v->{$t} }] if $t =~ /^(SS|NS|BS)$/;
    return $v->{$t};
}


# DynamoDB JSON item -> plain hash (numbers stay decimal strings)

sub plain {
    my ($item) = @_;

    return undef unless $item;
    return { map { $_ => _plain_value($item->{$_}) } keys %$item };
}


sub _typed_value {
    my ($v) = @_;

    return NUL() unless defined $v;
    return L(map { _typed_value($_) } @$v) if ref $v eq 'ARRAY';
    return { M => { map { $_ => _typed_value($v->{$_}) } keys %$v } }
        if ref $v eq 'HASH';
    return BOOL($$v) if ref $v eq 'SCALAR';
    return BOOL($v) if JSON::PP::is_bool($v);
    return N($v) if $v =~ /^-?(?:0|[1-9][0-9]*)$/;
    return S($v);
}


# plain hash -> DynamoDB JSON item: integers become N, \1/\0 BOOL,
# undef NULL, array refs L, hash refs M, everything else S

sub typed {
    my ($h) = @_;

    return { map { $_ => _typed_value($h->{$_}) } keys %$h };
}


1;
