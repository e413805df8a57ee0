#!/usr/bin/perl
# usage: util/demo-setup.pl ENDPOINT TABLE
#
# The fallback `make run` uses while zae-admin cannot deploy yet: creates
# the zae-limiter table the way `zae-limiter deploy` does (schema, TTL,
# version record, "default" namespace) and writes the demo limits:
# system defaults rpm:5/min and tpm:10000/min, a project "proj-demo" and
# an API key "key-demo" under it (cascade on).  Prints the nsid.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";
use POSIX qw(strftime);
use Test::Zae::DDB qw(S N BOOL NUL M);

my ($endpoint, $table) = @ARGV;
die "usage: demo-setup.pl ENDPOINT TABLE\n" unless $endpoint && $table;

my $ddb = Test::Zae::DDB->new(endpoint => $endpoint, table => $table);
my $ns = $ddb->create_zae_table;
my $now = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime);

my %limits = (rpm => [5, 5, 60], tpm => [10000, 10000, 60]);
my %l;

for my $name (keys %limits) {
    my ($cp, $ra, $rp) = @{ $limits{$name} };
    $l{"l_${name}_cp"} = N($cp);
    $l{"l_${name}_ra"} = N($ra);
    $l{"l_${name}_rp"} = N($rp);
}

$ddb->put_item({
    PK             => S("$ns/SYSTEM#"),
    SK             => S('#CONFIG'),
    config_version => N(1),
    on_unavailable => S('block'),
    %l,
    GSI4PK         => S($ns),
    GSI4SK         => S("$ns/SYSTEM#"),
});

$ddb->put_item({
    PK         => S("$ns/ENTITY#proj-demo"),
    SK         => S('#META'),
    entity_id  => S('proj-demo'),
    name       => S('proj-demo'),
    parent_id  => NUL(),
    cascade    => BOOL(0),
    metadata   => M(),
    created_at => S($now),
    GSI4PK     => S($ns),
    GSI4SK     => S("$ns/ENTITY#proj-demo"),
});

$ddb->put_item({
    PK         => S("$ns/ENTITY#key-demo"),
    SK         => S('#META'),
    entity_id  => S('key-demo'),
    name       => S('key-demo'),
    parent_id  => S('proj-demo'),
    cascade    => BOOL(1),
    metadata   => M(),
    created_at => S($now),
    GSI1PK     => S("$ns/PARENT#proj-demo"),
    GSI1SK     => S('CHILD#key-demo'),
    GSI4PK     => S($ns),
    GSI4SK     => S("$ns/ENTITY#key-demo"),
});

print "$ns\n";
