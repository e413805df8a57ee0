#!/usr/bin/perl
#
# The commands of zae-admin, docs/admin.md and the man page zae-admin(1)
# cannot drift apart: the man page is generated from the binary's help
# (util/pkg/zae-admin-man.pl, run by `make deb`), and this test checks
# that the generated page, the "### command" headings of docs/admin.md
# ("### namespace list / show" counts for both) and "zae-admin --help"
# name the same commands, and that each man entry carries the usage
# line of "zae-admin help COMMAND".

use strict;
use warnings;

use Test::More;

my $bin = $ENV{TEST_NGINX_ZAE_ADMIN} || 'build/zae-admin';
die "zae-admin binary $bin missing\n" unless -x $bin;

my $help = `$bin --help`;
is($? >> 8, 0, 'zae-admin --help');
my ($list) = $help =~ /^commands:\n(.*?)\n\n/ms;
my @help = ($list // '') =~ /^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?= |$)/mg;
ok(@help > 30, scalar(@help) . ' commands in --help');

open my $fh, '<', 'docs/admin.md' or die "docs/admin.md: $!\n";
my @doc;
while (<$fh>) {
    next unless /^### (.*)$/;
    my ($first, @alts) = split m{ / }, $1;
    my ($group) = $first =~ /^(\S+) \S/;
    push @doc, $first, map { $group ? "$group $_" : $_ } @alts;
}
close $fh;

my $man = `$^X util/pkg/zae-admin-man.pl $bin`;
is($? >> 8, 0, 'util/pkg/zae-admin-man.pl');
my %known = map { $_ => 1 } @help;
my @man;
for my $u ($man =~ /^\.SS "(.*)"$/mg) {
    (my $plain = $u) =~ s/\\-/-/g;
    my ($w1, $w2) = $plain =~ /^([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/;
    push @man, defined $w2 && $known{"$w1 $w2"} ? "$w1 $w2" : $w1;
}

my $sorted = sub { join ', ', sort @_ };
is($sorted->(@doc), $sorted->(@help),
   'docs/admin.md has a heading for every command of --help, and no other');
is($sorted->(@man), $sorted->(@help),
   'the man page has every command of --help, and no other');

# each entry is the usage of "zae-admin help COMMAND"
my @bad;
for my $c (@help) {
    my ($usage) = `$bin help $c` =~ /^usage: zae-admin (.*)$/m;
    (my $roff = $usage // '') =~ s/-/\\-/g;
    push @bad, $c unless $usage && index($man, ".SS \"$roff\"\n") >= 0;
}
is("@bad", '', 'every man entry is the usage line of its command');

like($man, qr/^\.TH ZAE\\-ADMIN 1 /m, 'a section 1 page');
like($man, qr/^\.SH EXIT STATUS$/m, 'exit status');
like($man, qr/^\.SH ENVIRONMENT$/m, 'environment');

done_testing();
