# Credentials from the shared credentials file are read again when the
# file changes (issue 10 point 12): an external refresher rewrites
# temporary credentials under a running nginx.  The worker looks at the
# file every 10 s (ZAE_CREDS_FILES_CHECK), re-reads it when it changed,
# and keeps the previous credentials when the new file is broken.

use strict;
use warnings;

use lib 't/lib';
use Test::Zae;
use Time::HiRes qw(sleep time);

my ($env, $n, $r, $file, $from);

$env = zae_env();
$file = "$env->{TEST_NGINX_SERVROOT}-aws-credentials";

sub write_file {
    open my $fh, '>', $file or die "$file: $!\n";
    print $fh $_[0];
    close $fh;
}

sub wait_log {
    my ($re, $from) = @_;
    my $deadline = time + 25;

    while (time < $deadline) {
        return 1 if $n->error_log($from) =~ $re;
        sleep 0.2;
    }

    return 0;
}

write_file("[default]\naws_access_key_id=AKIDFILE1\n"
           . "aws_secret_access_key=secret1\naws_session_token=token1\n");

workers(1);

$n = nginx(conf => <<"EOF");
env AWS_SHARED_CREDENTIALS_FILE=$file;
env AWS_CONFIG_FILE=/nonexistent/config;
events { }
http {
    zae_limit_dynamodb table=\$TEST_NGINX_TABLE region=us-east-1
                       endpoint=\$TEST_NGINX_DDB_ENDPOINT timeout=2s;

    server {
        listen 127.0.0.1:\$TEST_NGINX_SERVER_PORT;

        location / {
            zae_limit entity=files resource=gpt-4
                      consume=rpm:1 limits=rpm:1000/min;
            zae_limit_on_unavailable block;
        }
    }
}
EOF

open my $fh, '>', $n->prefix . '/html/ok.txt' or die "ok.txt: $!\n";
print $fh "ok\n";
close $fh;

$n->start;

$r = http_req('GET /ok.txt');
is($r->{status}, 200, 'credentials from the shared file: served');

# the refresher writes new temporary credentials

$from = $n->log_size;
write_file("[default]\naws_access_key_id=AKIDFILE22\n"
           . "aws_secret_access_key=secret22\naws_session_token=token22\n");

ok(wait_log(qr/AWS credentials read again from the shared files/, $from),
   'the changed file is read again');

$r = http_req('GET /ok.txt');
is($r->{status}, 200, 'served with the new credentials');

# a broken rewrite: the previous credentials stay

$from = $n->log_size;
write_file("[default]\naws_access_key_id=AKIDHALF\n");

ok(wait_log(qr/\[error\].*AWS credentials: .*partial credentials; the previous ones are kept/, $from),
   'a broken file is reported');

$r = http_req('GET /ok.txt');
is($r->{status}, 200, 'still served with the previous credentials');

unlike($n->error_log(), qr/secret22|token22|secret1\b|token1\b/,
       'no secret in the log');

done_testing();
