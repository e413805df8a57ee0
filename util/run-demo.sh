#!/usr/bin/env bash
# usage: util/run-demo.sh          (what `make run` calls)
#
# Starts DynamoDB Local, creates the "zae-limiter" table with demo limits,
# starts the demo LLM upstream and nginx with the module in front of it,
# prints curl commands to try, and stays in the foreground until Ctrl-C;
# then stops everything it started, by pid.
#
# Ports: ZAE_RUN_PORT (8080), ZAE_RUN_DDB_PORT (8000) and
# ZAE_RUN_UPSTREAM_PORT (8081), each replaced by a free port when taken.
# The nginx config is conf-examples/llm-gateway.conf when it exists and
# passes nginx -t, util/run.conf otherwise; in it 127.0.0.1:8000 /
# localhost:8000, 127.0.0.1:8081 and 127.0.0.1:8080 / "listen 8080" are
# rewritten to the ports in use.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

run=$top/build/run
module=${TEST_NGINX_MODULE:-$top/build/modules/ngx_http_zae_limit_module.so}
admin=$top/build/zae-admin
table=${ZAE_RUN_TABLE:-zae-limiter}
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}

pick_port() {
    if perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(
            LocalAddr => "0.0.0.0", LocalPort => $ARGV[0], Listen => 1,
            Proto => "tcp") ? 0 : 1)' "$1"
    then
        echo "$1"
    else
        util/free-port
    fi
}

port=$(pick_port "${ZAE_RUN_PORT:-8080}")
ddb_port=$(pick_port "${ZAE_RUN_DDB_PORT:-8000}")
up_port=$(pick_port "${ZAE_RUN_UPSTREAM_PORT:-8081}")
[ "$up_port" != "$ddb_port" ] || up_port=$(util/free-port)

ngx_pid=
up_pid=
export P=$port D=$ddb_port U=$up_port

# the module signs its DynamoDB requests; DynamoDB Local accepts any key
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-demo}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-demo}
export AWS_REGION=${AWS_REGION:-us-east-1}

cleanup() {
    trap - EXIT INT TERM
    echo
    echo "run: stopping"
    if [ -n "$ngx_pid" ]; then
        kill -QUIT "$ngx_pid" 2>/dev/null || true
        wait "$ngx_pid" 2>/dev/null || true
    fi
    if [ -n "$up_pid" ]; then
        kill "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    util/ddb-local.sh stop "$run/ddb" || true
    echo "run: stopped; logs in $run"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# a previous run killed hard may have left its servers behind
if [ -f "$run/nginx/logs/nginx.pid" ]; then
    kill -QUIT "$(cat "$run/nginx/logs/nginx.pid")" 2>/dev/null || true
fi
util/ddb-local.sh stop "$run/ddb" 2>/dev/null || true
rm -rf "$run"
mkdir -p "$run/nginx/conf" "$run/nginx/logs" "$run/nginx/tmp"

endpoint=$(util/ddb-local.sh start "$run/ddb" "$ddb_port")
echo "run: DynamoDB Local at $endpoint (in memory)"

# The table and the demo limits.  zae-admin is used as soon as it can
# deploy; until then the Perl helper writes the same items.
za() {
    "$admin" --name "$table" --endpoint-url "$endpoint" "$@" \
        >> "$run/admin.log" 2>&1
}
if [ -x "$admin" ] && "$admin" --help 2>&1 | grep -q deploy \
   && za deploy \
   && za system set-defaults -l rpm:5/min -l tpm:10000/min \
   && za entity create proj-demo \
   && za entity create key-demo --parent proj-demo --cascade
then
    echo "run: table \"$table\" and demo limits created with zae-admin"
else
    if [ -x "$admin" ]; then
        echo "run: zae-admin could not set up the demo (see" \
             "$run/admin.log), using util/demo-setup.pl"
        util/ddb-local.sh stop "$run/ddb"
        endpoint=$(util/ddb-local.sh start "$run/ddb" "$ddb_port")
    fi
    nsid=$(util/demo-setup.pl "$endpoint" "$table")
    echo "run: table \"$table\" created by util/demo-setup.pl," \
         "namespace default = $nsid"
fi
echo "run: limits: system defaults rpm:5/min, tpm:10000/min;" \
     "entities proj-demo > key-demo"

node util/fake-llm-upstream.js --port "$up_port" \
    > "$run/demo-upstream.log" 2>&1 &
up_pid=$!

# the run config: a full nginx.conf (conf-examples/llm-gateway.conf) gets
# our module path, daemon off, pid, error_log and the temp paths; an
# http{}-level snippet (util/run.conf) is wrapped into a full config.
# Run as root, the workers run as root too ("user root root;", replacing
# the config's own user): the stock "nobody" cannot enter a checkout in
# a private folder (/root is 0700) to write client_body temp files.
user=
if [ "$(id -u)" = 0 ]; then
    user="$(id -un) $(id -gn)"
fi
make_conf() {
    local src=$1
    perl -e '
        my ($src, $module, $ddb, $up, $port, $user) = @ARGV;
        local $/;
        open my $fh, "<", $src or die "$src: $!\n";
        my $c = <$fh>;
        $c =~ s/(?:127\.0\.0\.1|localhost):8000\b/127.0.0.1:$ddb/g;
        $c =~ s/127\.0\.0\.1:(?:8081|9000)\b/127.0.0.1:$up/g;
        $c =~ s/127\.0\.0\.1:8080\b/127.0.0.1:$port/g;
        $c =~ s/\blisten\s+8080\b/listen 127.0.0.1:$port/g;
        my $temp = join "", map { "    ${_}_temp_path tmp/$_;\n" }
                   qw(client_body proxy fastcgi uwsgi scgi);
        if ($c !~ /^\s*http\s*\{/m) {
            $c = "worker_processes 2;\nevents {\n    worker_connections"
                 . " 1024;\n}\nhttp {\n    access_log logs/access.log;\n"
                 . "    default_type application/octet-stream;\n"
                 . "    include gateway.conf;\n}\n";
        }
        $c =~ s/^\s*(?:daemon|pid|user)\s[^;]*;[^\n]*\n//mg;
        $c =~ s/^\s*load_module\s+\S*ngx_http_zae_limit_module\.so\s*;
                [^\n]*\n//mgx;
        $c =~ s/^(\s*http\s*\{[^\n]*\n)/$1$temp/m;
        $c = "load_module $module;\n" . ($user ? "user $user;\n" : "")
             . "daemon off;\npid logs/nginx.pid;\n"
             . "error_log logs/error.log info;\n\n$c";
        print $c;
    ' "$src" "$module" "$ddb_port" "$up_port" "$port" "$user" \
        > "$run/nginx/conf/nginx.conf" || return 1
    if ! grep -q '^\s*http\s*{' "$src"; then
        perl -pe '
            s/(?:127\.0\.0\.1|localhost):8000\b/127.0.0.1:$ENV{D}/g;
            s/127\.0\.0\.1:(?:8081|9000)\b/127.0.0.1:$ENV{U}/g;
            s/127\.0\.0\.1:8080\b/127.0.0.1:$ENV{P}/g;
        ' < "$src" > "$run/nginx/conf/gateway.conf"
    fi
    "$nginx_bin" -t -q -p "$run/nginx/" -c conf/nginx.conf \
        -e logs/error.log
}

src=util/run.conf
if [ -f conf-examples/llm-gateway.conf ]; then
    if make_conf conf-examples/llm-gateway.conf; then
        src=conf-examples/llm-gateway.conf
    else
        echo "run: conf-examples/llm-gateway.conf does not pass nginx -t" \
             "(above), falling back to util/run.conf"
    fi
fi
[ "$src" = util/run.conf ] && make_conf util/run.conf

"$nginx_bin" -p "$run/nginx/" -c conf/nginx.conf -e logs/error.log &
ngx_pid=$!

for i in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    kill -0 "$ngx_pid" 2>/dev/null || { cat "$run/nginx/logs/error.log";
                                        exit 1; }
    sleep 0.1
done

url=http://127.0.0.1:$port/v1/chat/completions
body='{"model":"gpt-4","max_tokens":50,'
body+='"messages":[{"role":"user","content":"hello"}]}'
sbody='{"model":"gpt-4","max_tokens":50,"stream":true,'
sbody+='"stream_options":{"include_usage":true},'
sbody+='"messages":[{"role":"user","content":"hello"}]}'

cat <<EOF

zae-limit demo is up:
  nginx        http://127.0.0.1:$port  (config: $src)
  DynamoDB     $endpoint  table "$table"
  LLM upstream http://127.0.0.1:$up_port  (util/fake-llm-upstream.js: OpenAI,
               Anthropic, Gemini, Bedrock shapes, JSON and SSE; its
               X-Demo-* headers are in docs/testing.md)
  logs         $run/nginx/logs/error.log

Try (as API key key-demo):

  # admitted: 200 with an OpenAI-style answer and X-Tokens-Used
  curl -si $url \\
      -H 'X-API-Key: key-demo' -H 'Content-Type: application/json' \\
      -d '$body'

  # streamed (SSE): 10 chunks 300 ms apart, the usage in the last one,
  # then data: [DONE]
  curl -N $url \\
      -H 'X-API-Key: key-demo' -H 'Content-Type: application/json' \\
      -H 'X-Demo-Stream-Chunks: 10' -H 'X-Demo-Chunk-Delay-Ms: 300' \\
      -d '$sbody'

  # rpm is 5/min: the 6th request in a minute gets 429 with Retry-After
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code}\\n' $url \\
      -H 'X-API-Key: key-demo' -H 'Content-Type: application/json' \\
      -d '$body'; done

EOF

if [ "$src" = util/run.conf ]; then
    echo "(util/run.conf only proxies: the module does not limit in this" \
         "config yet, so every request is admitted)"
    echo
fi

if grep -q '^# try:' "$src" 2>/dev/null; then
    echo "More from $src:"
    sed -n 's/^# try: \{0,1\}/  /p' "$src"
    echo
fi

echo "Press Ctrl-C to stop."
wait "$ngx_pid"
