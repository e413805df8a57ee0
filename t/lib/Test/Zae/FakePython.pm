package Test::Zae::FakePython;

# A FAKE of the Python library zae-limiter's client side, for the tests
# that share a bucket with it: the real library cannot be installed on
# the project's machines (it is on no registry they reach, and it needs
# aiobotocore and python-ulid, which Debian does not have; facts 14).
# It sends the library's own requests, as the fact sheet captured them
# from the unmodified library against DynamoDB Local, and reads the
# answers with its formulas:
#   fake_py_available  - available(): GetItem of shard 0, lazy refill,
#                        tk // 1000 (facts 2.2, 2.3)
#   fake_py_acquire    - acquire()'s fast path: the speculative
#                        UpdateItem, and on a refused write the fast
#                        reject when refill would not help (facts 3.2)
#   fake_py_decode     - the bucket item as the library decodes it: the
#                        limits found by their b_{L}_tk attributes, each
#                        with its five fields (facts 1.2, 2.1)
# A path the fake does not replay (a missing bucket, the wcu limit
# exhausted, refill would help: the slow path) dies, it is never guessed.

use strict;
use warnings;

use Exporter 'import';
use POSIX qw(floor);
use Time::HiRes ();
use Test::Zae::DDB qw(S N plain);

our @EXPORT = qw(fake_py_available fake_py_acquire fake_py_decode);


sub _key {
    my ($nsid, $entity, $resource) = @_;

    return { PK => S("$nsid/BUCKET#$entity#$resource#0"),
             SK => S('#STATE') };
}


sub _now_ms { int(Time::HiRes::time() * 1000) }


# refill_bucket (facts 2.2): the refilled tk only

sub _refill {
    my ($tk, $last, $now, $cp, $ra, $rp) = @_;
    my ($elapsed, $add);

    $elapsed = $now - $last;
    return $tk if $elapsed <= 0;

    $add = floor($elapsed * $ra / $rp);
    return $tk if $add == 0;

    return $tk + $add < $cp ? $tk + $add : $cp;
}


# the attributes a bucket item may have (facts 1.2), and the module's
# own write ids (zl_w_<writer>, zl_a_<writer>: S attributes the library
# ignores, docs/design.md); anything else is not zae-limiter's format

my %bucket_attr = map { $_ => 1 }
    qw(PK SK entity_id resource rf cascade parent_id shard_count ttl
       GSI2PK GSI2SK GSI3PK GSI3SK GSI4PK GSI4SK);

# { rf, limits => { limit => { tk, cp, ra, rp, tc } } }, or dies naming
# what the library could not read; stricter than the library, which
# skips what does not start with b_, in that it names any attribute
# outside the format

sub fake_py_decode {
    my ($item) = @_;
    my (%limits, $p);

    $p = plain($item);

    for my $a (sort keys %$p) {
        next if $bucket_attr{$a};

        if ($a =~ /^zl_[wa]_[0-9a-f]{12}$/ && defined $item->{$a}{S}) {
            next;
        }

        my ($l, $f) = $a =~ /^b_([A-Za-z][A-Za-z0-9_]*)_(tk|cp|ra|rp|tc)$/
            or die "bucket attribute \"$a\" is not zae-limiter's\n";

        if (($item->{$a}{N} // '') !~ /^-?[0-9]+$/) {
            die "bucket attribute \"$a\" is not an integer N\n";
        }

        $limits{$l}{$f} = $p->{$a};
    }

    for my $l (sort keys %limits) {
        for my $f (qw(tk cp ra rp tc)) {
            die "limit \"$l\" has no b_${l}_$f\n"
                unless defined $limits{$l}{$f};
        }
    }

    die "bucket has no rf\n" unless defined $p->{rf};
    die "bucket has no wcu limit\n" unless $limits{wcu};

    return { rf => $p->{rf}, limits => \%limits };
}


# available(entity, resource): { limit => whole tokens, may be negative }

sub fake_py_available {
    my ($ddb, $nsid, $entity, $resource) = @_;
    my ($item, $b, %av, $now);

    $item = $ddb->get_item(_key($nsid, $entity, $resource));
    die "fake python: bucket missing (capacity from config not replayed)\n"
        unless $item;

    $b = fake_py_decode($item);
    $now = _now_ms();

    for my $l (keys %{ $b->{limits} }) {
        my $s = $b->{limits}{$l};
        $av{$l} = floor(_refill($s->{tk}, $b->{rf}, $now, $s->{cp},
                                $s->{ra}, $s->{rp}) / 1000);
    }

    return \%av;
}


# acquire(entity, resource, consume) on its fast path: 1 admitted, 0
# RateLimitExceeded (fast reject)

sub fake_py_acquire {
    my ($ddb, $nsid, $entity, $resource, $consume) = @_;
    my (@upd, @cond, %names, %values, $now, $status, $res, $old, $b);

    $now = _now_ms();

    for my $l (sort keys %$consume) {
        my $n = $consume->{$l} * 1000;

        push @upd, "#tk_$l :neg_$l", "#tc_$l :pos_$l";
        push @cond, "#tk_$l >= :thresh_$l";
        $names{"#tk_$l"} = "b_${l}_tk";
        $names{"#tc_$l"} = "b_${l}_tc";
        $values{":neg_$l"} = N(-$n);
        $values{":pos_$l"} = N($n);
        $values{":thresh_$l"} = N($n);
    }

    push @upd, '#wcu_tk :neg_wcu', '#wcu_tc :pos_wcu';
    push @cond, '#wcu_tk >= :thresh_wcu';
    $names{"#wcu_tk"} = "b_wcu_tk";
    $names{"#wcu_tc"} = "b_wcu_tc";
    $names{"#ttl"} = "ttl";
    $values{':neg_wcu'} = N(-1000);
    $values{':pos_wcu'} = N(1000);
    $values{':thresh_wcu'} = N(1000);
    $values{':now_epoch'} = N(int($now / 1000));

    ($status, $res) = $ddb->try_call('UpdateItem', {
        TableName => $ddb->table,
        Key => _key($nsid, $entity, $resource),
        UpdateExpression => 'ADD ' . join(', ', @upd),
        ConditionExpression => 'attribute_exists(PK) AND '
                               . join(' AND ', @cond)
                               . ' AND (attribute_not_exists(#ttl)'
                               . ' OR #ttl > :now_epoch)',
        ExpressionAttributeNames => \%names,
        ExpressionAttributeValues => \%values,
        ReturnValues => 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure => 'ALL_OLD',
    });

    if ($status == 200) {
        fake_py_decode($res->{Attributes});
        return 1;
    }

    if (($res->{__type} // '') !~ /ConditionalCheckFailed/) {
        die "fake python: UpdateItem failed: $status "
            . ($res->{__type} // '?') . "\n";
    }

    $old = $res->{Item}
        or die "fake python: bucket missing (slow path not replayed)\n";

    $b = fake_py_decode($old);

    die "fake python: wcu exhausted (slow path not replayed)\n"
        if $b->{limits}{wcu}{tk} < 1000;

    for my $l (sort keys %$consume) {
        my $s = $b->{limits}{$l}
            or die "fake python: limit $l absent (slow path not replayed)\n";

        if (_refill($s->{tk}, $b->{rf}, $now, $s->{cp}, $s->{ra}, $s->{rp})
            < $consume->{$l} * 1000)
        {
            return 0;
        }
    }

    die "fake python: refill would help (slow path not replayed)\n";
}


1;
