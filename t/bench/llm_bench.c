
/*
 * Copyright (C) zae-limit authors
 *
 * llm_bench: the LLM readers on generated bodies, for callgrind:
 *
 *   llm_bench request|request-cjk|usage|usage-anthropic|usage-json
 *             [ROUNDS] [PIECE]
 *
 * "request" reads a 1 MB Chat Completions body (200 messages of English
 * text with escapes, code and a few non-ASCII characters), "request-cjk"
 * the same size of Chinese text, "usage" a 64 KB OpenAI SSE stream (one
 * chunk per 3-5 characters of text, as OpenAI sends them, then the
 * usage chunk and [DONE]), "usage-anthropic" a 64 KB Anthropic stream,
 * "usage-json" a 64 KB Chat Completions answer (not streamed).
 * The body is fed in PIECE-byte pieces (default 8192, an nginx buffer)
 * ROUNDS times (default 10).  It prints the bytes read; count the
 * instructions of the readers alone with t/bench/llm_callgrind.sh.
 */


#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>

#include "zae_core.h"
#include "zae_llm.h"


static const char  *words[] = {
    "the ", "limit ", "of ", "tokens ", "per ", "minute ", "is ",
    "shared ", "by ", "every ", "key ", "in ", "a ", "project, ",
    "and ", "each ", "request ", "reserves ", "its ", "estimate ",
    "before ", "it ", "is ", "sent.\\n", "\\\"quoted\\\" ", "x = f(y); ",
    "caf\xc3\xa9 ", "na\xc3\xafve ", "2025-03-14 ", "12,845.50 ",
};

static const char  *cjk[] = {
    "\xe9\x99\x90\xe6\xb5\x81", "\xe7\x9a\x84", "\xe7\x9b\xae\xe7\x9a\x84",
    "\xe4\xb8\x8d\xe6\x98\xaf", "\xe6\x8b\x92\xe7\xbb\x9d",
    "\xe7\x94\xa8\xe6\x88\xb7\xef\xbc\x8c", "\xe8\x80\x8c\xe6\x98\xaf",
    "\xe5\x85\xac\xe5\xb9\xb3", "\xe5\x9c\xb0", "\xe4\xbd\xbf\xe7\x94\xa8",
    "\xe8\xb5\x84\xe6\xba\x90\xe3\x80\x82",
};


static void
add(zae_buf_t *b, const char *s)
{
    (void) zae_buf_add(b, s, strlen(s));
}


static void
build_request(zae_buf_t *b, size_t size, int chinese)
{
    size_t  i, m, w;

    add(b, "{\"model\":\"gpt-4o\",\"stream\":true,\"max_tokens\":4096,"
           "\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
           "helpful assistant.\"}");

    w = 0;

    for (m = 0; b->len < size - 6000; m++) {
        add(b, m % 2 ? ",{\"role\":\"assistant\",\"content\":\""
                     : ",{\"role\":\"user\",\"content\":\"");

        for (i = 0; i < 5000; ) {
            const char  *s = chinese ? cjk[w % 11] : words[w % 30];

            add(b, s);
            i += strlen(s);
            w += 7;
        }

        add(b, "\"}");
    }

    add(b, "],\"stream_options\":{\"include_usage\":true}}");
}


static void
build_openai_stream(zae_buf_t *b, size_t size)
{
    size_t  i;

    for (i = 0; b->len < size - 600; i++) {
        add(b, "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
               "\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
               "\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","
               "\"system_fingerprint\":\"fp_f9f4fb6dbf\",\"choices\":[{"
               "\"index\":0,\"delta\":{\"content\":\"");
        add(b, words[i % 30]);
        add(b, "\"},\"logprobs\":null,\"finish_reason\":null}],"
               "\"usage\":null}\n\n");
    }

    add(b, "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
           "\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
           "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{"
           "\"prompt_tokens\":1117,\"completion_tokens\":3046,"
           "\"total_tokens\":4163,\"prompt_tokens_details\":{"
           "\"cached_tokens\":0,\"audio_tokens\":0},"
           "\"completion_tokens_details\":{\"reasoning_tokens\":0,"
           "\"audio_tokens\":0}}}\n\ndata: [DONE]\n\n");
}


static void
build_anthropic_stream(zae_buf_t *b, size_t size)
{
    size_t  i;

    add(b, "event: message_start\ndata: {\"type\":\"message_start\","
           "\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":"
           "\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\","
           "\"usage\":{\"input_tokens\":1117,\"output_tokens\":1}}}\n\n");

    for (i = 0; b->len < size - 300; i++) {
        add(b, "event: content_block_delta\ndata: {\"type\":"
               "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
               "\"text_delta\",\"text\":\"");
        add(b, words[i % 30]);
        add(b, "\"}}\n\n");
    }

    add(b, "event: message_delta\ndata: {\"type\":\"message_delta\","
           "\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{"
           "\"output_tokens\":3046}}\n\nevent: message_stop\ndata: {"
           "\"type\":\"message_stop\"}\n\n");
}


static void
build_openai_json(zae_buf_t *b, size_t size)
{
    size_t  i;

    add(b, "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":"
           "\"chat.completion\",\"created\":1741569952,\"model\":"
           "\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":"
           "{\"role\":\"assistant\",\"content\":\"");

    for (i = 0; b->len < size - 400; i++) {
        add(b, words[i % 30]);
    }

    add(b, "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
           "\"stop\"}],\"usage\":{\"prompt_tokens\":1117,"
           "\"completion_tokens\":3046,\"total_tokens\":4163,"
           "\"prompt_tokens_details\":{\"cached_tokens\":0},"
           "\"completion_tokens_details\":{\"reasoning_tokens\":0}},"
           "\"service_tier\":\"default\",\"system_fingerprint\":"
           "\"fp_f9f4fb6dbf\"}");
}


int
main(int argc, char **argv)
{
    int                 rounds, r, request;
    size_t              piece, i, n;
    zae_buf_t           b;
    zae_mem_t           mem;
    zae_arena_t         arena;
    zae_llm_usage_t     u;
    zae_llm_answer_t    a;
    zae_llm_request_t   req;

    if (argc < 2) {
        fprintf(stderr, "usage: llm_bench request|request-cjk|usage|"
                "usage-anthropic|usage-json [ROUNDS] [PIECE]\n");
        return 2;
    }

    rounds = argc > 2 ? atoi(argv[2]) : 10;
    piece = argc > 3 ? (size_t) atol(argv[3]) : 8192;
    piece = piece ? piece : 8192;

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);
    zae_buf_init(&b, &mem, 0);

    request = 1;

    if (strcmp(argv[1], "request") == 0) {
        build_request(&b, 1024 * 1024, 0);

    } else if (strcmp(argv[1], "request-cjk") == 0) {
        build_request(&b, 1024 * 1024, 1);

    } else if (strcmp(argv[1], "usage") == 0) {
        build_openai_stream(&b, 64 * 1024);
        request = 0;

    } else if (strcmp(argv[1], "usage-json") == 0) {
        build_openai_json(&b, 64 * 1024);
        request = 0;

    } else if (strcmp(argv[1], "usage-anthropic") == 0) {
        build_anthropic_stream(&b, 64 * 1024);
        request = 0;

    } else {
        fprintf(stderr, "llm_bench: unknown \"%s\"\n", argv[1]);
        return 2;
    }

    if (b.failed) {
        return 1;
    }

    for (r = 0; r < rounds; r++) {
        if (request) {
            zae_llm_request_init(&req);

            for (i = 0; i < b.len; i += n) {
                n = (b.len - i < piece) ? b.len - i : piece;
                (void) zae_llm_request_feed(&req, b.data + i, n);
            }

            if (zae_llm_request_finish(&req) != ZAE_OK) {
                fprintf(stderr, "llm_bench: the body is invalid\n");
                return 1;
            }

            continue;
        }

        zae_llm_answer_init(&a, 1);

        for (i = 0; i < b.len; i += n) {
            n = (b.len - i < piece) ? b.len - i : piece;
            zae_llm_answer_feed(&a, b.data + i, n);
        }

        zae_llm_answer_finish(&a);
        zae_llm_answer_usage(&a, &u);

        if (!u.found || !u.complete) {
            fprintf(stderr, "llm_bench: no usage read\n");
            return 1;
        }
    }

    printf("%s: %zu bytes x %d rounds, pieces of %zu\n", argv[1], b.len,
           rounds, piece);

    if (request) {
        printf("request: %" PRIu64 " characters, %" PRIu64 " messages, "
               "estimate %" PRId64 ", reader %zu bytes\n", req.chars,
               req.messages, zae_llm_request_input_estimate(&req),
               sizeof(zae_llm_request_t));

    } else {
        printf("usage: input %" PRId64 " output %" PRId64 ", %" PRIu64
               " characters, reader %zu bytes\n", u.input, u.output,
               u.output_chars, sizeof(zae_llm_answer_t));
    }

    zae_arena_free(&arena);

    return 0;
}
