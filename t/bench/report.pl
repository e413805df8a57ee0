#!/usr/bin/perl
# usage: t/bench/report.pl SUMMARY.json DOC.md CHART.png
#
# From the summary of t/bench/run.pl: draws latency vs concurrency
# (gnuplot) into CHART and rewrites the part of DOC between the lines
# "<!-- bench:results:begin -->" and "<!-- bench:results:end -->".

use strict;
use warnings;

use File::Basename qw(dirname basename);
use JSON::PP;

my ($sum_file, $doc, $chart) = @ARGV;

die "usage: report.pl SUMMARY.json DOC.md CHART.png\n" unless $chart;

my $s = do {
    open my $fh, '<', $sum_file or die "report: $sum_file: $!\n";
    local $/;
    JSON::PP->new->decode(<$fh>);
};

my %by = map { $_->{name} => $_ } @{ $s->{scenarios} };


# the chart ------------------------------------------------------------

sub chart {
    my ($dir, $data, $gp, @series);

    $dir = dirname($sum_file);
    $data = "$dir/latency-vs-concurrency.dat";

    @series = (['raw_updateitem', 'raw UpdateItem (DynamoDB Local)'],
               ['proxy', 'nginx proxy, no module'],
               ['zae_one_limit', 'zae_limit, one limit']);

    open my $fh, '>', $data or die "report: $data: $!\n";
    print $fh "# connections", map({ " $_->[0]_p50 $_->[0]_p99" } @series),
              "\n";

    for my $c (1, 16, 64, 256) {
        print $fh $c;
        for my $se (@series) {
            my $r = $by{"$se->[0]_c$c"};
            print $fh $r ? " $r->{p50_ms} $r->{p99_ms}" : ' NaN NaN';
        }
        print $fh "\n";
    }

    close $fh;

    if (!grep { /^zae_one_limit_c/ } keys %by) {
        print STDERR "report: no latency data, chart not drawn\n";
        return;
    }

    $gp = "$dir/latency-vs-concurrency.gp";
    open $fh, '>', $gp or die "report: $gp: $!\n";
    print $fh <<"EOF";
set terminal pngcairo size 900,560 font "sans,10"
set output "$chart"
set title "Latency vs concurrency ($s->{machine}{nproc} cores, $s->{date})"
set xlabel "concurrent connections (wrk)"
set ylabel "latency, ms"
set logscale xy
set xtics (1, 16, 64, 256)
set grid
set termoption noenhanced
set xrange [0.8:320]
set key top left
plot \\
EOF

    my @plots;
    my $i = 0;

    for my $se (@series) {
        my $col = 2 + 2 * $i;
        my $lt = $i + 1;
        push @plots,
            "  \"$data\" using 1:$col with linespoints lt $lt pt 7 "
            . "title \"$se->[1], p50\"",
            "  \"$data\" using 1:" . ($col + 1) . " with linespoints lt $lt "
            . "dt 2 pt 6 title \"$se->[1], p99\"";
        $i++;
    }

    print $fh join(", \\\n", @plots), "\n";
    close $fh;

    system('gnuplot', $gp) == 0 or die "report: gnuplot failed\n";
}


# the results section ----------------------------------------------------

sub fmt {
    my ($v, $d) = @_;

    return '—' unless defined $v;
    return sprintf("%.${d}f", $v);
}


sub results {
    my (@o, $r, $cpu, $m);

    $m = $s->{machine};

    push @o, "Measured $s->{date} by `make bench` on $m->{nproc} cores "
             . "($m->{cpu}), nginx with $m->{nginx_workers} worker, wrk "
             . "$s->{seconds_per_run} s per run, everything on 127.0.0.1; "
             . "the whole run took $s->{total_seconds} s"
             . ($s->{source} && $s->{source}{commit}
                ? "; module built from commit $s->{source}{commit}"
                  . ($s->{source}{src_modified}
                     ? ' with local changes under src/' : '')
                : '')
             . (defined $m->{loadavg_start}
                ? "; load average $m->{loadavg_start} at the start, "
                  . "$m->{loadavg_end} at the end (other work on the "
                  . 'machine shows here)'
                : '')
             . '.',
             '';

    push @o, '| scenario | connections | rps | p50 ms | p99 ms '
             . '| DynamoDB calls / request | unexpected answers |',
             '| --- | ---: | ---: | ---: | ---: | ---: | ---: |';

    for $r (@{ $s->{scenarios} }) {
        push @o, sprintf('| %s%s | %d | %s | %s | %s | %s | %d |',
                         $r->{name},
                         ($r->{rounds} // 1) > 1
                         ? " (median of $r->{rounds})" : '',
                         $r->{connections}, fmt($r->{rps}, 0),
                         fmt($r->{p50_ms}, 3), fmt($r->{p99_ms}, 3),
                         fmt($r->{ddb_calls_per_request}, 3),
                         $r->{unexpected});
    }

    push @o, '', 'Each ratio of two wrk scenarios is the median of the '
             . 'ratios of the rounds (both scenarios of a ratio run in '
             . 'the same round), not the ratio of their medians; the '
             . 'rounds\' ratios are in parentheses.', '',
             '| ratio | measured | goal | met |',
             '| --- | ---: | --- | --- |';

    my %label = (
        added_latency_over_rtt =>
            'added p50 latency at 1 connection / raw UpdateItem p50',
        admitted_rps_over_raw_update_rps =>
            'admitted rps / raw UpdateItem rps, 100 entities / 100 items, '
            . "$s->{comparison_connections} connections",
        module_p50_over_nginx_floor_p50 =>
            'p50 at 1 connection / the same UpdateItem through nginx '
            . '`proxy_pass` (`raw_via_nginx_c1`), the floor of the '
            . 'module\'s path',
        admitted_rps_over_nginx_floor_rps =>
            'admitted rps / the nginx floor\'s rps, 100 entities / 100 '
            . "items, $s->{comparison_connections} connections",
        reject_instructions_over_return429 =>
            'instructions of a cached rejection / of a `return 429` '
            . '(callgrind)',
        lease_hot_bucket_rps_over_proxy_rps =>
            'one hot bucket with `zae_limit_lease size=auto` rps / '
            . "`proxy_pass` rps, $s->{comparison_connections} connections",
        reject_rps_over_return429_rps =>
            "rejection rps / `return 429` rps, $s->{comparison_connections}"
            . ' connections (no goal: wrk shares the two cores with nginx '
            . 'and bounds both)',
    );

    for my $k (qw(added_latency_over_rtt admitted_rps_over_raw_update_rps
                  module_p50_over_nginx_floor_p50
                  admitted_rps_over_nginx_floor_rps
                  lease_hot_bucket_rps_over_proxy_rps
                  reject_instructions_over_return429
                  reject_rps_over_return429_rps))
    {
        my ($v, $g, $met) = ($s->{ratios}{$k}, $s->{goals}{$k}, '—');
        my $rounds = ($s->{ratio_rounds} // {})->{$k};

        if (defined $g) {
            my ($op, $lim) = $g =~ /^([<>]=)\s*([\d.]+)$/;

            $met = 'no';
            if (defined $v) {
                $met = ($op eq '<=' ? $v <= $lim : $v >= $lim) ? 'yes'
                                                                : 'no';
            }

            $g =~ s/<=/≤/;
            $g =~ s/>=/≥/;

        } else {
            $g = '—';
        }

        push @o, "| $label{$k} (`$k`) | " . fmt($v, 3)
                 . ($rounds && @$rounds > 1
                    ? ' (' . join(', ', map { fmt($_, 3) } @$rounds) . ')'
                    : '')
                 . " | $g | $met |";
    }

    if (my $wu = $s->{write_units_per_million_admitted}) {
        my %wl = (
            no_lease              => 'no lease (`zae_one_limit`)',
            reconcile_no_lease    => 'no lease, reconciled '
                                     . '(`zae_reconcile`)',
            lease                 => 'lease (`zae_lease`)',
            lease_reconcile       => 'lease, reconciled '
                                     . '(`zae_lease_reconcile`)',
            python_acquire_adjust => 'zae-limiter acquire + adjust '
                                     . '(2 writes a request, computed)',
        );

        push @o, '', 'DynamoDB write units per million admitted requests, '
                 . "one hot bucket, $s->{comparison_connections} "
                 . 'connections (one unit per write of an item under '
                 . '1 KB; the flush\'s writes included):', '',
                 '| case | write units / 10^6 admitted |', '| --- | ---: |';

        for my $k (qw(no_lease reconcile_no_lease lease lease_reconcile
                      python_acquire_adjust))
        {
            next unless defined $wu->{$k};
            push @o, "| $wl{$k} | $wu->{$k} |";
        }
    }

    my %by = map { $_->{name} => $_ } @{ $s->{scenarios} };
    my ($ent, $raw) = map { $by{$_ . $s->{comparison_connections}} }
                          qw(zae_entities_100_c raw_updateitem_100_c);

    if ($ent && $raw && $ent->{rps_rounds} && $raw->{rps_rounds}) {
        my @r = map {
                    sprintf('%.0f / %.0f = %.3f', $ent->{rps_rounds}[$_],
                            $raw->{rps_rounds}[$_],
                            $ent->{rps_rounds}[$_] / $raw->{rps_rounds}[$_])
                } 0 .. $#{ $ent->{rps_rounds} };

        push @o, '', 'The admitted-throughput pair round by round '
                 . '(module / raw): ' . join('; ', @r) . '.';
    }

    my $via = $by{'raw_via_nginx_100_c' . $s->{comparison_connections}};

    if ($ent && $via && $ent->{rps_rounds} && $via->{rps_rounds}) {
        my @r = map {
                    sprintf('%.0f / %.0f = %.3f', $ent->{rps_rounds}[$_],
                            $via->{rps_rounds}[$_],
                            $ent->{rps_rounds}[$_] / $via->{rps_rounds}[$_])
                } 0 .. $#{ $ent->{rps_rounds} };

        push @o, '', 'The same against the nginx floor (module / raw '
                 . 'through nginx): ' . join('; ', @r) . '.';
    }

    my $hot = $s->{ratios}{hot_bucket_admitted_rps_over_raw_update_rps};

    if (defined $hot) {
        push @o, '', 'One hot bucket (no goal: above 1,000 writes/s a '
                 . 'bucket runs out of its hidden `wcu` budget, see below): '
                 . "admitted rps / raw UpdateItem rps on one item, "
                 . "$s->{comparison_connections} connections "
                 . '(`hot_bucket_admitted_rps_over_raw_update_rps`): '
                 . fmt($hot, 3) . '.';
    }

    $cpu = $s->{cpu};

    if ($cpu) {
        push @o, '', 'CPU per request (valgrind callgrind: instructions, '
                 . "the difference of a $cpu->{requests_counted}-request "
                 . 'run and a shorter one on one keepalive connection, '
                 . '`master_process off`, so start-up and shutdown cancel '
                 . 'out; "in" columns: self cost in that object):', '',
                 '| case | instructions / request | in the module .so '
                 . '| in libcrypto | in libyajl |',
                 '| --- | ---: | ---: | ---: | ---: |';

        for my $k (['proxy_without_module',
                    '`/proxy/`, module not loaded'],
                   ['raw_via_nginx', 'the raw UpdateItem through nginx '
                    . '`proxy_pass` (floor), module not loaded'],
                   ['zae_one_limit', '`/one/`: zae_limit, one limit'],
                   ['return_429', '`return 429` (module loaded)'],
                   ['zae_reject', '`/rej/`: zae_limit rejection, cached'])
        {
            my $c = $cpu->{cases}{$k->[0]} // {};
            push @o, "| $k->[1] | " . ($c->{instructions_per_request} // '—')
                     . ' | ' . ($c->{in_module_so} // '—')
                     . ' | ' . ($c->{in_libcrypto} // '—')
                     . ' | ' . ($c->{in_libyajl} // '—') . ' |';
        }

        push @o, '', "Added by the module per admitted request: "
                 . "$cpu->{instructions_added_by_module} instructions"
                 . (defined $cpu->{instructions_over_nginx_floor}
                    ? ' over `/proxy/`; the module\'s path costs '
                      . "$cpu->{instructions_over_nginx_floor} more than "
                      . 'the floor (which has no upstream of its own)'
                    : '')
                 . '; '
                 . 'a cached rejection costs '
                 . "$cpu->{reject_over_return429} × a `return 429` "
                 . '(goal ≤ 2.0).';
    }

    if ($s->{syscalls}) {
        push @o, '', syscalls_table($s->{syscalls});
    }

    if ($s->{entity_warmup} && %{ $s->{entity_warmup} }) {
        push @o, '', 'First requests of new entities (the warm-up of the '
                 . 'entity scenarios, 64 connections, each key once; '
                 . '"sent again": first requests that failed, a call timed '
                 . 'out, and were retried, their calls counted too):', '',
                 '| entities | requests | sent again | seconds '
                 . '| DynamoDB calls / request |',
                 '| ---: | ---: | ---: | ---: | ---: |';

        for my $n (sort { $a <=> $b } keys %{ $s->{entity_warmup} }) {
            my $w = $s->{entity_warmup}{$n};
            push @o, "| $n | $w->{first_requests} | "
                     . ($w->{retried} // 0) . " | $w->{seconds} | "
                     . "$w->{calls_per_request} |";
        }
    }

    push @o, '', '![latency vs concurrency](' . basename($chart) . ')';

    return join("\n", @o) . "\n";
}


# syscalls per request, one column per case, one row per syscall

sub syscalls_table {
    my ($sys) = @_;
    my (@o, @cases, %names, $first);

    @cases = (['zae_one_limit', '`/one/`: zae_limit, one limit'],
              ['raw_via_nginx', 'UpdateItem through nginx (floor)'],
              ['proxy', '`/proxy/`, no limiter'],
              ['return_429', '`return 429`']);
    @cases = grep { $sys->{$_->[0]} } @cases;

    for my $c (@cases) {
        $names{$_} = 1 for keys %{ $sys->{$c->[0]}{per_request} };
    }

    $first = $sys->{$cases[0][0]}{per_request};

    push @o, 'Syscalls per request (`strace -f -c` attached to the worker '
             . 'while wrk sends requests on one connection for 5 s, each '
             . 'count divided by the requests completed; errors: the calls '
             . 'that failed, EAGAIN; the same worker also serves the '
             . 'upstream of `/one/` and `/proxy/`, so both ends of that hop '
             . 'count):', '',
             '| syscall | ' . join(' | ', map { $_->[1] } @cases) . ' |',
             '| --- |' . (' ---: |' x @cases);

    for my $n (sort { ($first->{$b} // 0) <=> ($first->{$a} // 0)
                      || $a cmp $b } keys %names)
    {
        my @v = map { $sys->{$_->[0]}{per_request}{$n} // 0 } @cases;
        next unless grep { $_ >= 0.05 } @v;

        push @o, "| $n | " . join(' | ', map {
                     my $e = $sys->{$_->[0]}{errors_per_request}{$n};
                     fmt($sys->{$_->[0]}{per_request}{$n} // 0, 2)
                     . ($e && $e >= 0.05 ? ' (' . fmt($e, 2) . ' errors)'
                                         : '')
                 } @cases) . ' |';
    }

    push @o, '| all | ' . join(' | ', map { fmt($sys->{$_->[0]}{total}, 2) }
                                     @cases) . ' |',
             '| requests counted | ' . join(' | ', map {
                 $sys->{$_->[0]}{requests} } @cases) . ' |';

    return join("\n", @o);
}


chart();

{
    my ($text, $new);

    open my $fh, '<', $doc or die "report: $doc: $!\n";
    local $/;
    $text = <$fh>;
    close $fh;

    $new = results();

    $text =~ s{(<!-- bench:results:begin -->\n).*?(<!-- bench:results:end -->)}
              {$1\n$new\n$2}s
        or die "report: $doc has no bench:results markers\n";

    open $fh, '>', $doc or die "report: $doc: $!\n";
    print $fh $text;
    close $fh or die "report: $doc: $!\n";
}

print STDERR "report: wrote $chart and the results of $doc\n";
