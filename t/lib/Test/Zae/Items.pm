package Test::Zae::Items;

# zae-limiter items written the way the Python library writes them
# (docs/table-format.md 4.4), straight into DynamoDB Local: an
# independent oracle for the module's reads and for checking what it
# writes.

use strict;
use warnings;

use Exporter qw(import);
use POSIX qw(strftime);

use Test::Zae::DDB qw(S N BOOL NUL L M SS plain typed);

our @EXPORT = qw(set_system_limits set_resource_limits set_entity_limits
                 create_entity get_bucket bucket_items limit_attrs);


sub _now { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime) }


# limits: [ [name, capacity, refill_amount, period_s], ... ]

sub limit_attrs {
    my (@limits) = @_;
    my %a;

    for my $l (@limits) {
        my ($name, $cp, $ra, $per) = @$l;
        $a{"l_${name}_cp"} = N($cp);
        $a{"l_${name}_ra"} = N($ra);
        $a{"l_${name}_rp"} = N($per);
    }

    return %a;
}


sub set_system_limits {
    my ($ddb, $nsid, $limits, %args) = @_;

    $ddb->put_item({
        PK             => S("$nsid/SYSTEM#"),
        SK             => S('#CONFIG'),
        config_version => N(1),
        ($args{on_unavailable}
            ? (on_unavailable => S($args{on_unavailable})) : ()),
        limit_attrs(@$limits),
        GSI4PK         => S($nsid),
        GSI4SK         => S("$nsid/SYSTEM#"),
    });
}


sub set_resource_limits {
    my ($ddb, $nsid, $resource, $limits) = @_;

    $ddb->put_item({
        PK             => S("$nsid/RESOURCE#$resource"),
        SK             => S('#CONFIG'),
        resource       => S($resource),
        config_version => N(1),
        limit_attrs(@$limits),
        GSI4PK         => S($nsid),
        GSI4SK         => S("$nsid/RESOURCE#$resource"),
    });
}


sub set_entity_limits {
    my ($ddb, $nsid, $entity, $resource, $limits) = @_;

    $ddb->put_item({
        PK             => S("$nsid/ENTITY#$entity"),
        SK             => S("#CONFIG#$resource"),
        entity_id      => S($entity),
        resource       => S($resource),
        config_version => N(1),
        limit_attrs(@$limits),
        GSI3PK         => S("$nsid/ENTITY_CONFIG#$resource"),
        GSI3SK         => S($entity),
        GSI4PK         => S($nsid),
        GSI4SK         => S("$nsid/ENTITY#$entity"),
    });
}


sub create_entity {
    my ($ddb, $nsid, $entity, %args) = @_;
    my $parent = $args{parent};

    $ddb->put_item({
        PK         => S("$nsid/ENTITY#$entity"),
        SK         => S('#META'),
        entity_id  => S($entity),
        name       => S($args{name} // $entity),
        parent_id  => defined $parent ? S($parent) : NUL(),
        cascade    => BOOL($args{cascade} ? 1 : 0),
        metadata   => M(),
        created_at => S(_now()),
        (defined $parent
            ? (GSI1PK => S("$nsid/PARENT#$parent"),
               GSI1SK => S("CHILD#$entity"))
            : ()),
        GSI4PK     => S($nsid),
        GSI4SK     => S("$nsid/ENTITY#$entity"),
    });
}


# the bucket item as a plain hash (numbers as numbers), or undef

sub get_bucket {
    my ($ddb, $nsid, $entity, $resource, $shard) = @_;
    my $item;

    $item = $ddb->get_item({
        PK => S("$nsid/BUCKET#$entity#$resource#" . ($shard // 0)),
        SK => S('#STATE'),
    });

    return $item ? plain($item) : undef;
}


# every bucket item of the table (typed)

sub bucket_items {
    my ($ddb) = @_;

    return grep { ($_->{SK}{S} // "") eq "#STATE" } @{ $ddb->scan() };
}


1;
