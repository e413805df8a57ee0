package Test::Zae::FakeLLM;

# A fake LLM provider (none can be reached from the test machine) for
# the tests of zae_limit_llm (t/090-llm.t, t/092-llm-sdk.t): it
# answers in the shapes of OpenAI (Chat Completions, Responses,
# Embeddings), Anthropic Messages, Gemini and Bedrock Converse, as JSON
# or as an event stream (chunked), with the usage the query string
# asks for; it can gzip, pause, cut the stream, or answer an error.  It
# is a real HTTP/1.1 server; what is fake is the provider behind it
# (the answers follow the providers' documented shapes, nothing more).
# Each request body it receives is kept in a file (named after
# X-API-Key) so that tests see what nginx sent upstream.
#
# Query parameters: p (input tokens), c (output tokens), r (reasoning),
# cached, chunks (text chunks of 4 characters), delay (ms between
# chunks), pause_after + pause (ms), cut (close after that many chunks,
# no end of stream), status (answer that code with an error body),
# gzip=1, enc=NAME (a Content-Encoding label on a plain body).

use strict;
use warnings;

use IO::Socket::INET;
use IO::Compress::Gzip qw(gzip $GzipError);
use Compress::Raw::Zlib;
use JSON::PP;
use POSIX qw(_exit);
use Time::HiRes qw(sleep);

use Exporter 'import';
our @EXPORT_OK = qw(start_backend);


sub start_backend {
    my (%args) = @_;
    my ($port, $dir, $srv, $pid);

    $port = $args{port};
    $dir = $args{dir};

    $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                 LocalPort => $port, Listen => 128,
                                 ReuseAddr => 1, Proto => 'tcp')
        or die "llm backend: listen $port: $!\n";

    $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid) {
        close $srv;
        return $pid;
    }

    $SIG{CHLD} = 'IGNORE';
    $SIG{PIPE} = 'IGNORE';

    while (1) {
        my $c = $srv->accept or next;
        my $child = fork;

        if (defined $child && $child == 0) {
            close $srv;
            eval { serve($c, $dir) };
            _exit(0);
        }

        close $c;
    }
}


sub serve {
    my ($c, $dir) = @_;
    my ($head, $body, $buf, %h, $method, $uri, $path, %q, $key);

    $buf = '';

    while ($buf !~ /\r\n\r\n/) {
        my $n = sysread($c, $buf, 65536, length $buf);
        return unless $n;
    }

    ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my @lines = split /\r\n/, $head;
    ($method, $uri) = split / /, shift @lines;

    for my $l (@lines) {
        my ($k, $v) = $l =~ /^([^:]+):\s*(.*)$/ or next;
        $h{lc $k} = $v;
    }

    my $len = $h{'content-length'} // 0;

    while (length $body < $len) {
        my $n = sysread($c, $body, 65536, length $body);
        last unless $n;
    }

    ($path, my $qs) = split /\?/, $uri, 2;

    for my $kv (split /&/, $qs // '') {
        my ($k, $v) = split /=/, $kv, 2;
        $q{$k} = $v;
    }

    $key = $h{'x-api-key'} // 'none';
    $key =~ s/[^A-Za-z0-9_.-]//g;

    if (open my $fh, '>', "$dir/body-$key") {
        print $fh "content-length: $len\nreceived: " . length($body)
                  . "\n\n$body";
        close $fh;
    }

    my $req = eval { decode_json($body) } // {};

    answer($c, $path, \%q, $req);
}


sub chunk {
    my ($c, $data) = @_;
    syswrite($c, sprintf("%x\r\n%s\r\n", length $data, $data));
}


sub answer {
    my ($c, $path, $q, $req) = @_;
    my ($p, $out, $r, $cached, $n, $json, $type, @events, $usage);

    # numbers, not strings, in the JSON

    $p = 0 + ($q->{p} // 10);
    $out = 0 + ($q->{c} // 5);
    $r = 0 + ($q->{r} // 0);
    $cached = 0 + ($q->{cached} // 0);
    $n = $q->{chunks} // 3;
    $type = 'application/json';

    if ($q->{status}) {
        my $b = '{"error":{"message":"backend says ' . $q->{status}
                . '","type":"invalid_request_error"}}';
        syswrite($c, "HTTP/1.1 $q->{status} Error\r\n"
                     . "Content-Type: application/json\r\n"
                     . 'Content-Length: ' . length($b) . "\r\n"
                     . "Connection: close\r\n\r\n$b");
        return;
    }

    my $stream = $req->{stream} || $path =~ /streamGenerateContent/
                 || $q->{sse};

    if ($path =~ m{/chat/completions$}) {
        $usage = { prompt_tokens => $p, completion_tokens => $out,
                   total_tokens => $p + $out,
                   prompt_tokens_details => { cached_tokens => $cached },
                   completion_tokens_details =>
                       { reasoning_tokens => $r } };

        if (!$stream) {
            $json = { id => 'c1', object => 'chat.completion',
                      model => $req->{model} // 'x',
                      choices => [ { index => 0, message =>
                          { role => 'assistant', content => 'abcd' x $n },
                          finish_reason => 'stop' } ],
                      usage => $usage };

        } else {
            for (1 .. $n) {
                push @events, 'data: ' . encode_json({ id => 'c1',
                    object => 'chat.completion.chunk',
                    choices => [ { index => 0,
                                   delta => { content => 'abcd' },
                                   finish_reason => undef } ] }) . "\n\n";
            }

            push @events, 'data: ' . encode_json({ id => 'c1',
                object => 'chat.completion.chunk',
                choices => [ { index => 0, delta => {},
                               finish_reason => 'stop' } ] }) . "\n\n";

            if ($req->{stream_options}
                && $req->{stream_options}{include_usage})
            {
                push @events, 'data: ' . encode_json({ id => 'c1',
                    object => 'chat.completion.chunk', choices => [],
                    usage => $usage }) . "\n\n";
            }

            push @events, "data: [DONE]\n\n";
        }

    } elsif ($path =~ m{/embeddings$}) {
        $json = { object => 'list', model => $req->{model} // 'x',
                  data => [ { object => 'embedding', index => 0,
                              embedding => [0.1, 0.2] } ],
                  usage => { prompt_tokens => $p, total_tokens => $p } };

    } elsif ($path =~ m{/responses$}) {
        $usage = { input_tokens => $p, output_tokens => $out,
                   total_tokens => $p + $out,
                   input_tokens_details => { cached_tokens => $cached },
                   output_tokens_details => { reasoning_tokens => $r } };

        if (!$stream) {
            $json = { id => 'r1', object => 'response',
                      status => 'completed', usage => $usage };

        } else {
            push @events, "event: response.created\ndata: "
                . encode_json({ type => 'response.created',
                                response => { id => 'r1',
                                              usage => undef } })
                . "\n\n";

            for (1 .. $n) {
                push @events, "event: response.output_text.delta\ndata: "
                    . encode_json({ type => 'response.output_text.delta',
                                    delta => 'abcd' }) . "\n\n";
            }

            push @events, "event: response.completed\ndata: "
                . encode_json({ type => 'response.completed',
                                response => { id => 'r1',
                                              status => 'completed',
                                              usage => $usage } })
                . "\n\n";
        }

    } elsif ($path =~ m{/messages$}) {
        my $cc = 0 + ($q->{cache_creation} // 0);

        if (!$stream) {
            $json = { id => 'm1', type => 'message', role => 'assistant',
                      content => [ { type => 'text',
                                     text => 'abcd' x $n } ],
                      usage => { input_tokens => $p,
                                 cache_creation_input_tokens => $cc,
                                 cache_read_input_tokens => $cached,
                                 output_tokens => $out } };

        } else {
            push @events, "event: message_start\ndata: "
                . encode_json({ type => 'message_start',
                    message => { id => 'm1', type => 'message',
                                 content => [],
                                 usage => { input_tokens => $p,
                                     cache_creation_input_tokens => $cc,
                                     cache_read_input_tokens => $cached,
                                     output_tokens => 1 } } }) . "\n\n";

            for (1 .. $n) {
                push @events, "event: content_block_delta\ndata: "
                    . encode_json({ type => 'content_block_delta',
                                    index => 0,
                                    delta => { type => 'text_delta',
                                               text => 'abcd' } })
                    . "\n\n";
            }

            push @events, "event: message_delta\ndata: "
                . encode_json({ type => 'message_delta',
                                delta => { stop_reason => 'end_turn' },
                                usage => { output_tokens => $out } })
                . "\n\n";
            push @events, "event: message_stop\ndata: "
                . encode_json({ type => 'message_stop' }) . "\n\n";
        }

    } elsif ($path =~ m{/models/[^/:]+:(\w+)$}) {
        my $um = { promptTokenCount => $p, candidatesTokenCount => $out,
                   totalTokenCount => $p + $out };

        if (!$stream) {
            $json = { candidates => [ { content => { parts =>
                          [ { text => 'abcd' x $n } ] } } ],
                      usageMetadata => $um };

        } else {
            for my $i (1 .. $n) {
                my $last = $i == $n;
                push @events, 'data: ' . encode_json({
                    candidates => [ { content => { parts =>
                        [ { text => 'abcd' } ] } } ],
                    usageMetadata => {
                        promptTokenCount => $p,
                        candidatesTokenCount => $last ? $out : $i,
                        totalTokenCount => $p + ($last ? $out : $i) } })
                    . "\r\n\r\n";
            }
        }

    } elsif ($path =~ m{/converse$}) {
        $json = { output => { message => { role => 'assistant',
                      content => [ { text => 'abcd' x $n } ] } },
                  stopReason => 'end_turn',
                  usage => { inputTokens => $p, outputTokens => $out,
                             totalTokens => $p + $out } };

    } else {
        $json = { ok => JSON::PP::true };
    }

    if ($json) {
        my $b = encode_json($json);
        my $enc = '';

        if ($q->{gzip}) {
            my $z;
            gzip(\$b => \$z) or die $GzipError;
            $b = $z;
            $enc = "Content-Encoding: gzip\r\n";

        } elsif ($q->{enc}) {
            # labelled only: what matters is a coding the module cannot read
            $enc = "Content-Encoding: $q->{enc}\r\n";
        }

        syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: $type\r\n$enc"
                     . 'Content-Length: ' . length($b) . "\r\n"
                     . "Connection: close\r\n\r\n$b");
        return;
    }

    # a gzip stream flushed after each event, as a compressing server
    # that streams sends it

    my $z;

    if ($q->{gzip}) {
        ($z) = Compress::Raw::Zlib::Deflate->new(
                   -WindowBits => WANT_GZIP, -AppendOutput => 1);
    }

    syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 . ($z ? "Content-Encoding: gzip\r\n" : '')
                 . "Transfer-Encoding: chunked\r\n"
                 . "Connection: close\r\n\r\n");

    my $i = 0;

    for my $e (@events) {
        if (defined $q->{cut} && $i == $q->{cut}) {
            close $c;
            return;
        }

        if (defined $q->{pause_after} && $i == $q->{pause_after}) {
            sleep(($q->{pause} // 2000) / 1000);
        }

        if ($z) {
            my $out = '';
            $z->deflate($e, $out);
            $z->flush($out, Z_SYNC_FLUSH);
            $e = $out;
        }

        chunk($c, $e) or return;
        $i++;

        sleep($q->{delay} / 1000) if $q->{delay};
    }

    if ($z) {
        my $out = '';
        $z->flush($out);
        chunk($c, $out) if length $out;
    }

    syswrite($c, "0\r\n\r\n");
}


1;
