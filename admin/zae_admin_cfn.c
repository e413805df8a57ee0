
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin cfn-template: the CloudFormation template for a
 * zae-limit deployment without Lambdas: the table exactly as facts 1.1
 * (keys, GSIs, LSIs, stream, TTL), point-in-time recovery, deletion
 * protection, managed policies for acquire / full / read-only access
 * and their namespace-scoped variants, and throttling alarms.
 *
 * Unlike zae-limiter's template, the acquire policies allow every call
 * the module makes (PutItem and UpdateItem for buckets, and
 * TransactWriteItems for cascades in the namespace-scoped ones), and
 * the namespace-scoped keys cover GSI4PK, which is the bare namespace
 * id.  The table name is the stack name.
 *
 * The template is admin/zae-limiter.cfn.json, built in as the string
 * zae_admin_cfn_template (util/embed-text.pl, a Makefile rule).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zae_admin.h"


int
zae_admin_cmd_cfn_template(zae_admin_t *a)
{
    fwrite(zae_admin_cfn_template, 1, zae_admin_cfn_template_len, stdout);

    return ZAE_ADMIN_EXIT_OK;
}


/*
 * deploy and delete through CloudFormation (Query API, SigV4 service
 * "cloudformation"): CreateStack or UpdateStack with the template
 * above, then stack events as they come until the stack settles.  The
 * endpoint is $AWS_ENDPOINT_URL_CLOUDFORMATION, $AWS_ENDPOINT_URL, or
 * https://cloudformation.REGION.amazonaws.com/.
 */

#define ZAE_ADMIN_CFN_POLLS    1800
#define ZAE_ADMIN_CFN_POLL_MS  2000


static int
zae_admin_form_add(zae_buf_t *b, const char *key, const u_char *v,
    size_t len)
{
    size_t   i;
    u_char   c;

    if (zae_buf_printf(b, "&%s=", key) != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < len; i++) {
        c = v[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~')
        {
            if (zae_buf_add(b, &c, 1) != ZAE_OK) {
                return ZAE_ERROR;
            }

            continue;
        }

        if (zae_buf_printf(b, "%%%02X", c) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


static int
zae_admin_form_str(zae_buf_t *b, const char *key, const char *v)
{
    return zae_admin_form_add(b, key, (u_char *) v, strlen(v));
}


/* the text of the first <tag>...</tag> at or after *pos */

static zae_str_t
zae_admin_xml(zae_buf_t *x, const char *tag, size_t *pos)
{
    char       open[64], close[64];
    u_char    *p, *q, *end;
    size_t     ol, cl;
    zae_str_t  s;

    s.len = 0;
    s.data = NULL;

    ol = (size_t) snprintf(open, sizeof(open), "<%s>", tag);
    cl = (size_t) snprintf(close, sizeof(close), "</%s>", tag);

    if (x->data == NULL || *pos >= x->len) {
        return s;
    }

    end = x->data + x->len;
    p = (u_char *) strstr((char *) x->data + *pos, open);

    if (p == NULL || p + ol > end) {
        return s;
    }

    p += ol;
    q = (u_char *) strstr((char *) p, close);

    if (q == NULL) {
        return s;
    }

    s.data = p;
    s.len = q - p;
    *pos = (q + cl) - x->data;

    return s;
}


static zae_str_t
zae_admin_xml1(zae_buf_t *x, const char *tag)
{
    size_t  pos = 0;

    return zae_admin_xml(x, tag, &pos);
}


/* one CloudFormation request of zae_admin_cfn() */

typedef struct {
    const char         *url;
    zae_buf_t          *body;
    zae_buf_t          *xml;
} zae_admin_cfn_call_t;


static int
zae_admin_cfn_attempt(zae_admin_t *a, void *ctx, zae_transport_e *transport)
{
    int                    rc;
    zae_str_t              code, msg;
    zae_admin_cfn_call_t  *c = ctx;

    rc = zae_admin_post(a, c->url, "cloudformation",
                        "application/x-www-form-urlencoded; charset=utf-8",
                        c->body, c->xml, transport);
    if (rc != ZAE_OK) {
        return rc;
    }

    if (a->http_status == 200) {
        return ZAE_OK;
    }

    /* an error answer names its cause; else the HTTP status does */

    code = zae_admin_xml1(c->xml, "Code");
    msg = zae_admin_xml1(c->xml, "Message");

    if (code.len) {
        snprintf(a->err_code, sizeof(a->err_code), "%.*s", (int) code.len,
                 code.data);

    } else {
        snprintf(a->err_code, sizeof(a->err_code), "HTTP%ld",
                 a->http_status);
    }

    if (msg.len) {
        snprintf(a->err_msg, sizeof(a->err_msg), "%.*s", (int) msg.len,
                 msg.data);

    } else {
        snprintf(a->err_msg, sizeof(a->err_msg), "HTTP status %ld from "
                 "\"%.400s\" (not a CloudFormation answer)", a->http_status,
                 c->url);
    }

    return ZAE_DECLINED;
}


static int
zae_admin_cfn(zae_admin_t *a, const char *action, zae_buf_t *params,
    zae_buf_t *xml)
{
    char                  url[1024];
    zae_buf_t             b;
    const char           *ep;
    zae_admin_cfn_call_t  c;

    ep = getenv("AWS_ENDPOINT_URL_CLOUDFORMATION");

    if (ep && *ep) {
        snprintf(url, sizeof(url), "%s", ep);

    } else {
        snprintf(url, sizeof(url), "https://cloudformation.%s.amazonaws.com/",
                 a->region);
    }

    zae_buf_init(&b, &a->mem, 1024);
    zae_buf_printf(&b, "Action=%s&Version=2010-05-15", action);

    if (params) {
        zae_buf_add(&b, params->data, params->len);
    }

    c.url = url;
    c.body = &b;
    c.xml = xml;

    return zae_admin_retry(a, action, url, zae_admin_cfn_attempt, &c);
}


/* ZAE_OK with the status (len 0: no such stack), else an error */

static int
zae_admin_stack_status(zae_admin_t *a, zae_str_t *status)
{
    int        rc;
    zae_buf_t  p, x;

    zae_buf_init(&p, &a->mem, 128);

    if (zae_admin_form_str(&p, "StackName", a->table) != ZAE_OK) {
        return ZAE_ERROR;
    }

    rc = zae_admin_cfn(a, "DescribeStacks", &p, &x);

    if (rc == ZAE_DECLINED && strstr(a->err_msg, "does not exist")) {
        status->len = 0;
        status->data = NULL;
        return ZAE_OK;
    }

    if (rc == ZAE_DECLINED) {
        zae_admin_error(a, "DescribeStacks of \"%s\" failed: %s: %s",
                        a->table, a->err_code, a->err_msg);
        return ZAE_ERROR;
    }

    if (rc != ZAE_OK) {
        return ZAE_ERROR;
    }

    *status = zae_admin_xml1(&x, "StackStatus");

    return ZAE_OK;
}


typedef struct {
    zae_str_t          *seen;
    size_t              nseen;
    size_t              cseen;
} zae_admin_events_t;


/* prints the stack events not seen yet, oldest first */

static int
zae_admin_stack_events(zae_admin_t *a, zae_admin_events_t *ev, int print)
{
    int         rc;
    u_char      save;
    size_t      pos, i, j, n;
    zae_buf_t   p, x, member;
    zae_str_t   id, *news, *nn;
    zae_str_t   f[5];

    zae_buf_init(&p, &a->mem, 128);

    if (zae_admin_form_str(&p, "StackName", a->table) != ZAE_OK) {
        return ZAE_ERROR;
    }

    rc = zae_admin_cfn(a, "DescribeStackEvents", &p, &x);

    if (rc == ZAE_DECLINED && strstr(a->err_msg, "does not exist")) {
        return ZAE_OK;
    }

    if (rc != ZAE_OK) {
        if (rc == ZAE_DECLINED) {
            zae_admin_error(a, "DescribeStackEvents failed: %s: %s",
                            a->err_code, a->err_msg);
        }

        return ZAE_ERROR;
    }

    /* members, newest first */

    news = zae_alloc(&a->mem, 101 * sizeof(zae_str_t));
    if (news == NULL) {
        return ZAE_ERROR;
    }

    n = 0;
    pos = 0;

    while (n < 100) {
        id = zae_admin_xml(&x, "member", &pos);
        if (id.data == NULL) {
            break;
        }

        news[n] = id;
        n++;
    }

    for (i = n; i-- > 0; ) {
        member.data = news[i].data;
        member.len = news[i].len;

        /* within a member: EventId, Timestamp, ResourceStatus, ... */

        save = member.data[member.len];
        member.data[member.len] = '\0';

        id = zae_admin_xml1(&member, "EventId");
        f[0] = zae_admin_xml1(&member, "Timestamp");
        f[1] = zae_admin_xml1(&member, "ResourceStatus");
        f[2] = zae_admin_xml1(&member, "ResourceType");
        f[3] = zae_admin_xml1(&member, "LogicalResourceId");
        f[4] = zae_admin_xml1(&member, "ResourceStatusReason");

        for (j = 0; j < 5; j++) {
            f[j] = zae_admin_cat(a, "%.*s", (int) f[j].len,
                                 f[j].data ? (char *) f[j].data : "");
        }

        id = zae_admin_cat(a, "%.*s", (int) id.len,
                           id.data ? (char *) id.data : "");

        member.data[member.len] = save;

        for (j = 0; j < ev->nseen; j++) {
            if (ev->seen[j].len == id.len
                && memcmp(ev->seen[j].data, id.data, id.len) == 0)
            {
                break;
            }
        }

        if (j < ev->nseen) {
            continue;
        }

        if (ev->nseen == ev->cseen) {
            ev->cseen = ev->cseen ? ev->cseen * 2 : 64;
            nn = zae_alloc(&a->mem, ev->cseen * sizeof(zae_str_t));
            if (nn == NULL) {
                return ZAE_ERROR;
            }

            if (ev->nseen) {
                memcpy(nn, ev->seen, ev->nseen * sizeof(zae_str_t));
            }

            ev->seen = nn;
        }

        ev->seen[ev->nseen++] = id;

        if (print) {
            fprintf(zae_admin_progress(a), "%s  %-20s  %-26s  %s%s%s\n",
                    (char *) f[0].data, (char *) f[1].data,
                    (char *) f[2].data, (char *) f[3].data,
                    f[4].len ? "  " : "", (char *) f[4].data);
        }
    }

    return ZAE_OK;
}


static int
zae_admin_stack_wait(zae_admin_t *a, zae_admin_events_t *ev,
    zae_str_t *final)
{
    int              i;
    zae_str_t        st;
    struct timespec  ts;

    for (i = 0; i < ZAE_ADMIN_CFN_POLLS; i++) {
        if (zae_admin_stack_events(a, ev, 1) != ZAE_OK
            || zae_admin_stack_status(a, &st) != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        if (st.len == 0 || st.len < 12
            || memcmp(st.data + st.len - 12, "_IN_PROGRESS", 12) != 0)
        {
            (void) zae_admin_stack_events(a, ev, 1);
            *final = st;
            return ZAE_OK;
        }

        fflush(stdout);

        ts.tv_sec = ZAE_ADMIN_CFN_POLL_MS / 1000;
        ts.tv_nsec = (ZAE_ADMIN_CFN_POLL_MS % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }

    zae_admin_error(a, "stack \"%s\" did not settle in an hour", a->table);

    return ZAE_ERROR;
}


static int
zae_admin_str_is(zae_str_t *s, const char *v)
{
    return s->len == strlen(v) && memcmp(s->data, v, s->len) == 0;
}


int
zae_admin_deploy_stack(zae_admin_t *a)
{
    int                  rc, n;
    zae_buf_t            p, x;
    zae_str_t            st, final, id;
    const char               *v;
    zae_admin_events_t        ev;
    zae_admin_deploy_opts_t  *o = a->opts;

    memset(&ev, 0, sizeof(ev));

    if (zae_admin_stack_status(a, &st) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (st.len >= 12
        && memcmp(st.data + st.len - 12, "_IN_PROGRESS", 12) == 0)
    {
        zae_admin_error(a, "stack \"%s\" is busy: %.*s", a->table,
                        (int) st.len, st.data);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (st.len && zae_admin_stack_events(a, &ev, 0) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_buf_init(&p, &a->mem, 64 * 1024);
    n = 0;

    zae_admin_form_str(&p, "StackName", a->table);
    zae_admin_form_str(&p, "TemplateBody", zae_admin_cfn_template);
    zae_admin_form_str(&p, "Capabilities.member.1",
                       "CAPABILITY_NAMED_IAM");

#define ZAE_ADMIN_PARAM(key, val)                                             \
    n++;                                                                      \
    if (zae_admin_form_str(&p, (char *) zae_admin_cat(a,                      \
            "Parameters.member.%d.ParameterKey", n).data, key) != ZAE_OK     \
        || zae_admin_form_str(&p, (char *) zae_admin_cat(a,                   \
            "Parameters.member.%d.ParameterValue", n).data, val) != ZAE_OK)  \
    {                                                                         \
        goto nomem;                                                           \
    }

    ZAE_ADMIN_PARAM("EnableDeletionProtection",
                    o->enable_deletion_protection
                    ? "true" : "false");
    ZAE_ADMIN_PARAM("EnableAlarms",
                    o->no_alarms ? "false" : "true");

    v = o->pitr_recovery_days;
    if (v) {
        ZAE_ADMIN_PARAM("PITRRecoveryPeriodDays", v);
    }

    v = o->alarm_sns_topic;
    if (v) {
        ZAE_ADMIN_PARAM("AlarmSNSTopicArn", v);
    }

#undef ZAE_ADMIN_PARAM

    zae_admin_form_str(&p, "Tags.member.1.Key", "ManagedBy");
    zae_admin_form_str(&p, "Tags.member.1.Value", "zae-limiter");
    zae_admin_form_str(&p, "Tags.member.2.Key", "zae-limiter:name");
    zae_admin_form_str(&p, "Tags.member.2.Value", a->table);
    zae_admin_form_str(&p, "Tags.member.3.Key", "zae-limiter:type");
    zae_admin_form_str(&p, "Tags.member.3.Value", "limiter");
    zae_admin_form_str(&p, "Tags.member.4.Key",
                       "zae-limiter:schema-version");
    zae_admin_form_str(&p, "Tags.member.4.Value", ZAE_SCHEMA_VERSION);
    zae_admin_form_str(&p, "Tags.member.5.Key",
                       "zae-limiter:version");
    zae_admin_form_str(&p, "Tags.member.5.Value",
                       "zae-admin-" ZAE_ADMIN_VERSION);

    rc = zae_admin_cfn(a, st.len ? "UpdateStack" : "CreateStack", &p, &x);

    if (rc == ZAE_DECLINED && st.len
        && strstr(a->err_msg, "No updates are to be performed"))
    {
        zae_admin_say(a, stdout, "stack \"%s\" is up to date (%.*s)\n",
                      a->table, (int) st.len, st.data);

        return ZAE_ADMIN_EXIT_OK;
    }

    if (rc == ZAE_DECLINED) {
        zae_admin_error(a, "%s of \"%s\" failed: %s: %s",
                        st.len ? "UpdateStack" : "CreateStack", a->table,
                        a->err_code, a->err_msg);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    id = zae_admin_xml1(&x, "StackId");

    zae_admin_say(a, stdout, "%s stack \"%s\" (%.*s)\n",
                  st.len ? "updating" : "creating", a->table, (int) id.len,
                  id.data ? (char *) id.data : "");

    if (zae_admin_stack_wait(a, &ev, &final) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (!zae_admin_str_is(&final, "CREATE_COMPLETE")
        && !zae_admin_str_is(&final, "UPDATE_COMPLETE"))
    {
        zae_admin_error(a, "stack \"%s\" ended in %.*s", a->table,
                        (int) final.len,
                        final.data ? (char *) final.data : "DELETED");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_say(a, stdout, "stack \"%s\": %.*s\n", a->table,
                  (int) final.len, final.data);

    return ZAE_ADMIN_EXIT_OK;

nomem:

    zae_admin_error(a, "out of memory");

    return ZAE_ADMIN_EXIT_FAILED;
}


int
zae_admin_delete_stack(zae_admin_t *a)
{
    int                  rc;
    zae_buf_t            p, x;
    zae_str_t            st, final;
    zae_admin_events_t   ev;

    memset(&ev, 0, sizeof(ev));

    if (zae_admin_stack_status(a, &st) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (st.len == 0) {
        zae_admin_error(a, "stack \"%s\" not found", a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_stack_events(a, &ev, 0) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_buf_init(&p, &a->mem, 128);

    zae_admin_form_str(&p, "StackName", a->table);

    rc = zae_admin_cfn(a, "DeleteStack", &p, &x);

    if (rc == ZAE_DECLINED) {
        zae_admin_error(a, "DeleteStack of \"%s\" failed: %s: %s", a->table,
                        a->err_code, a->err_msg);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (rc != ZAE_OK || zae_admin_stack_wait(a, &ev, &final) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (final.len && !zae_admin_str_is(&final, "DELETE_COMPLETE")) {
        zae_admin_error(a, "stack \"%s\" ended in %.*s", a->table,
                        (int) final.len, final.data);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return zae_admin_deleted(a, "stack");
}
