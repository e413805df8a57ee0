#!/usr/bin/perl
#
# Turns a text file into a C source file defining it as a string:
#
#   util/embed-text.pl NAME FILE > out.c
#
# gives "const char NAME[] = ...;" (NUL terminated) and
# "const size_t NAME_len", the length without the NUL.  Used at build
# time for admin/zae-limiter.cfn.json, so that the template is kept,
# diffed and linted as JSON and still built into zae-admin.

use strict;
use warnings;

die "usage: $0 NAME FILE\n" unless @ARGV == 2 && $ARGV[0] =~ /^\w+$/;
my ($name, $file) = @ARGV;

open(my $fh, '<:raw', $file) or die "$0: $file: $!\n";
my $text = do { local $/; <$fh> };
close $fh;

print "/* generated from $file by util/embed-text.pl: do not edit */\n\n"
    . "#include <stddef.h>\n\n"
    . "const char  $name\[\] =\n";

for my $line ($text =~ /([^\n]*\n|[^\n]+$)/g) {
    (my $c = $line) =~ s/([\\"])/\\$1/g;
    $c =~ s/\n/\\n/g;
    $c =~ s/([^\x20-\x7e])/sprintf('\\%03o', ord $1)/ge;
    print "    \"$c\"\n";
}

print "    \"\";\n\nconst size_t  ${name}_len = " . length($text) . ";\n";
