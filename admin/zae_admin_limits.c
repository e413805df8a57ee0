
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin declarative limits (facts 10.2): "limits plan|diff|apply -f
 * FILE" with zae-limiter's YAML manifest, its diff against the
 * #PROVISIONER state, its applied_hash, and the state item itself.
 * Writes go through the same paths as the imperative commands (full
 * config items, registries, bucket sync, audit events).
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <openssl/evp.h>

#include "zae_admin.h"


#define ZAE_ADMIN_MANIFEST_MAX  (4 * 1024 * 1024)
#define ZAE_ADMIN_DECLS_MAX     10000


typedef struct {
    zae_str_t            entity;      /* entity configs */
    zae_str_t            name;        /* resource */
    zae_limits_t         limits;
} zae_admin_decl_t;


typedef struct {
    zae_str_t            entity;
    zae_admin_decl_t    *res;
    size_t               nres;
} zae_admin_edecl_t;


typedef struct {
    zae_str_t            ns;
    int                  has_system;
    zae_limits_t         system;
    zae_str_t            onu;
    zae_admin_decl_t    *res;
    size_t               nres;
    zae_admin_edecl_t   *ents;
    size_t               nents;
} zae_admin_manifest_t;


typedef enum {
    ZAE_ADMIN_PLAN = 0,
    ZAE_ADMIN_DIFF,
    ZAE_ADMIN_APPLY
} zae_admin_limits_mode_e;


typedef enum {
    ZAE_ADMIN_SAME = 0,               /* declared and live alike: nothing */
    ZAE_ADMIN_CREATE,
    ZAE_ADMIN_UPDATE,
    ZAE_ADMIN_DELETE
} zae_admin_action_e;


typedef enum {
    ZAE_ADMIN_SYSTEM = 0,
    ZAE_ADMIN_RESOURCE,
    ZAE_ADMIN_ENTITY
} zae_admin_level_e;


/*
 * An item the manifest declares (decl, or the system defaults) or one
 * the #PROVISIONER state says was managed and the manifest no longer
 * declares; its action is decided against the live item
 */

typedef struct {
    zae_admin_action_e   action;
    zae_admin_level_e    level;
    unsigned             declared:1;
    zae_str_t            entity;
    zae_str_t            resource;
    zae_admin_decl_t    *decl;
} zae_admin_change_t;


static const char  *zae_admin_action_names[] = {
    "same", "create", "update", "delete"
};

static const char  *zae_admin_action_symbols[] = { "=", "+", "~", "-" };

static const char  *zae_admin_level_names[] = {
    "system", "resource", "entity"
};


typedef struct {
    zae_admin_t         *a;
    const char          *file;
    yaml_document_t     *doc;
} zae_admin_yctx_t;


static int
zae_admin_yerr(zae_admin_yctx_t *y, yaml_node_t *n, const char *msg,
    const char *what)
{
    zae_admin_error(y->a, "%s:%lu: %s%s%s%s", y->file,
                    n ? (unsigned long) n->start_mark.line + 1 : 1UL, msg,
                    what ? " \"" : "", what ? what : "", what ? "\"" : "");

    return ZAE_ERROR;
}


static zae_str_t
zae_admin_yscalar(zae_admin_yctx_t *y, yaml_node_t *n)
{
    zae_str_t  s;

    s.len = n->data.scalar.length;
    s.data = zae_strdup(&y->a->mem, n->data.scalar.value, s.len);

    if (s.data == NULL) {
        s.len = 0;
    }

    return s;
}


/* a mapping: ZAE_OK; anything else is an error at its line */

static int
zae_admin_ymap(zae_admin_yctx_t *y, yaml_node_t *n, const char *what)
{
    if (n == NULL || n->type != YAML_MAPPING_NODE) {
        return zae_admin_yerr(y, n, "expected a mapping for", what);
    }

    return ZAE_OK;
}


static int
zae_admin_ykey(zae_admin_yctx_t *y, yaml_node_pair_t *p, zae_str_t *key,
    yaml_node_t **value)
{
    yaml_node_t  *k;

    k = yaml_document_get_node(y->doc, p->key);
    *value = yaml_document_get_node(y->doc, p->value);

    if (k == NULL || k->type != YAML_SCALAR_NODE || *value == NULL) {
        return zae_admin_yerr(y, k, "expected a string key", NULL);
    }

    *key = zae_admin_yscalar(y, k);

    return key->data ? ZAE_OK : ZAE_ERROR;
}


static int
zae_admin_yint(zae_admin_yctx_t *y, yaml_node_t *n, const char *what,
    int64_t *v)
{
    size_t   i, len;
    u_char  *p;

    if (n->type != YAML_SCALAR_NODE) {
        return zae_admin_yerr(y, n, "expected an integer for", what);
    }

    p = n->data.scalar.value;
    len = n->data.scalar.length;

    if (len == 0 || len > 15) {
        return zae_admin_yerr(y, n, "expected a positive integer for",
                              what);
    }

    *v = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return zae_admin_yerr(y, n, "expected a positive integer for",
                                  what);
        }

        *v = *v * 10 + (p[i] - '0');
    }

    if (*v <= 0) {
        return zae_admin_yerr(y, n, "expected a positive integer for",
                              what);
    }

    return ZAE_OK;
}


/* {limits: {name: {capacity, refill_amount?, refill_period?, burst?}}} */

static int
zae_admin_ylimits(zae_admin_yctx_t *y, yaml_node_t *n, zae_limits_t *ls,
    const char *skip)
{
    int64_t            v, cap, burst, ra, rp;
    zae_str_t          key, lkey, fk;
    zae_err_t          err;
    zae_limit_t        l;
    yaml_node_t       *val, *lval, *f;
    yaml_node_pair_t  *p, *lp, *fp;

    ls->nelts = 0;

    if (zae_admin_ymap(y, n, "limits") != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    {
        if (zae_admin_ykey(y, p, &key, &val) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (skip && strcmp((char *) key.data, skip) == 0) {
            continue;
        }

        if (key.len != 6 || memcmp(key.data, "limits", 6) != 0) {
            return zae_admin_yerr(y, yaml_document_get_node(y->doc, p->key),
                                  "unknown key", (char *) key.data);
        }

        if (zae_admin_ymap(y, val, "limits") != ZAE_OK) {
            return ZAE_ERROR;
        }

        for (lp = val->data.mapping.pairs.start;
             lp < val->data.mapping.pairs.top;
             lp++)
        {
            if (zae_admin_ykey(y, lp, &lkey, &lval) != ZAE_OK
                || zae_admin_ymap(y, lval, (char *) lkey.data) != ZAE_OK)
            {
                return ZAE_ERROR;
            }

            cap = burst = ra = rp = 0;

            for (fp = lval->data.mapping.pairs.start;
                 fp < lval->data.mapping.pairs.top;
                 fp++)
            {
                if (zae_admin_ykey(y, fp, &fk, &f) != ZAE_OK
                    || zae_admin_yint(y, f, (char *) fk.data, &v) != ZAE_OK)
                {
                    return ZAE_ERROR;
                }

                if (strcmp((char *) fk.data, "capacity") == 0) {
                    cap = v;

                } else if (strcmp((char *) fk.data, "burst") == 0) {
                    burst = v;

                } else if (strcmp((char *) fk.data, "refill_amount") == 0) {
                    ra = v;

                } else if (strcmp((char *) fk.data, "refill_period") == 0) {
                    rp = v;

                } else {
                    return zae_admin_yerr(y, f, "unknown limit field",
                                          (char *) fk.data);
                }
            }

            if (cap == 0 && burst == 0) {
                return zae_admin_yerr(y, lval, "missing capacity of limit",
                                      (char *) lkey.data);
            }

            /* as zae-limiter: burst replaces capacity, then defaults */

            l.name = lkey;
            l.capacity = burst ? burst : cap;
            l.refill_amount = ra ? ra : l.capacity;
            l.period = rp ? rp : 60;

            if (zae_limits_add(ls, &l, &err) != ZAE_OK) {
                return zae_admin_yerr(y, lval, err.msg, NULL);
            }
        }
    }

    return ZAE_OK;
}


/*
 * A "resources" map, of the manifest or of an entity (entity != NULL):
 * names checked, each declared once, with their limits
 */

static int
zae_admin_yresources(zae_admin_yctx_t *y, yaml_node_t *v, zae_str_t *entity,
    zae_admin_decl_t **out, size_t *nout)
{
    size_t             i, n, k;
    zae_str_t          name;
    zae_err_t          err;
    yaml_node_t       *ev;
    yaml_node_pair_t  *ep;
    zae_admin_decl_t  *res;

    if (zae_admin_ymap(y, v, "resources") != ZAE_OK) {
        return ZAE_ERROR;
    }

    n = v->data.mapping.pairs.top - v->data.mapping.pairs.start;

    if (n > ZAE_ADMIN_DECLS_MAX) {
        return zae_admin_yerr(y, v, "too many resources", NULL);
    }

    res = zae_calloc(&y->a->mem, (n + 1) * sizeof(zae_admin_decl_t));
    k = 0;

    for (ep = v->data.mapping.pairs.start;
         ep < v->data.mapping.pairs.top;
         ep++)
    {
        if (zae_admin_ykey(y, ep, &name, &ev) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (zae_validate_resource(name.data, name.len, &err) != ZAE_OK) {
            return zae_admin_yerr(y, ev, err.msg, (char *) name.data);
        }

        for (i = 0; i < k; i++) {
            if (res[i].name.len == name.len
                && memcmp(res[i].name.data, name.data, name.len) == 0)
            {
                return zae_admin_yerr(y, ev, "duplicate resource",
                                      (char *) name.data);
            }
        }

        if (entity) {
            res[k].entity = *entity;
        }

        res[k].name = name;

        if (zae_admin_ylimits(y, ev, &res[k].limits, NULL) != ZAE_OK) {
            return ZAE_ERROR;
        }

        k++;
    }

    *out = res;
    *nout = k;

    return ZAE_OK;
}


static int
zae_admin_manifest_parse(zae_admin_t *a, const char *file,
    zae_admin_manifest_t *m)
{
    int                rc;
    FILE              *fp;
    size_t             n;
    u_char            *text;
    zae_str_t          key, k2;
    zae_err_t          err;
    yaml_node_t       *root, *v, *ev, *rv;
    yaml_parser_t      parser;
    yaml_document_t    doc;
    yaml_node_pair_t  *p, *ep, *rp;
    zae_admin_yctx_t   y;

    memset(m, 0, sizeof(zae_admin_manifest_t));

    fp = fopen(file, "r");
    if (fp == NULL) {
        zae_admin_error(a, "cannot open \"%s\": %s", file, strerror(errno));
        return ZAE_ADMIN_EXIT_USAGE;
    }

    text = zae_alloc(&a->mem, ZAE_ADMIN_MANIFEST_MAX + 1);
    if (text == NULL) {
        fclose(fp);
        zae_admin_error(a, "out of memory");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    n = fread(text, 1, ZAE_ADMIN_MANIFEST_MAX + 1, fp);
    fclose(fp);

    if (n > ZAE_ADMIN_MANIFEST_MAX) {
        zae_admin_error(a, "\"%s\" is larger than 4 MB", file);
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (!yaml_parser_initialize(&parser)) {
        zae_admin_error(a, "yaml_parser_initialize() failed");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    yaml_parser_set_input_string(&parser, text, n);

    if (!yaml_parser_load(&parser, &doc)) {
        zae_admin_error(a, "%s:%lu: %s", file,
                        (unsigned long) parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return ZAE_ADMIN_EXIT_USAGE;
    }

    yaml_parser_delete(&parser);

    y.a = a;
    y.file = file;
    y.doc = &doc;

    rc = ZAE_ADMIN_EXIT_USAGE;
    root = yaml_document_get_root_node(&doc);

    if (zae_admin_ymap(&y, root, "the manifest") != ZAE_OK) {
        goto done;
    }

    for (p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top;
         p++)
    {
        if (zae_admin_ykey(&y, p, &key, &v) != ZAE_OK) {
            goto done;
        }

        if (strcmp((char *) key.data, "namespace") == 0) {
            if (v->type != YAML_SCALAR_NODE) {
                zae_admin_yerr(&y, v, "expected a string for", "namespace");
                goto done;
            }

            m->ns = zae_admin_yscalar(&y, v);

            if (zae_validate_namespace(m->ns.data, m->ns.len, &err)
                != ZAE_OK)
            {
                zae_admin_yerr(&y, v, err.msg, NULL);
                goto done;
            }

        } else if (strcmp((char *) key.data, "system") == 0) {
            m->has_system = 1;

            if (zae_admin_ymap(&y, v, "system") != ZAE_OK) {
                goto done;
            }

            for (ep = v->data.mapping.pairs.start;
                 ep < v->data.mapping.pairs.top;
                 ep++)
            {
                if (zae_admin_ykey(&y, ep, &k2, &ev) != ZAE_OK) {
                    goto done;
                }

                if (strcmp((char *) k2.data, "on_unavailable") == 0) {
                    if (ev->type != YAML_SCALAR_NODE) {
                        zae_admin_yerr(&y, ev, "expected allow or block",
                                       NULL);
                        goto done;
                    }

                    m->onu = zae_admin_yscalar(&y, ev);

                    if (strcmp((char *) m->onu.data, "allow") != 0
                        && strcmp((char *) m->onu.data, "block") != 0)
                    {
                        zae_admin_yerr(&y, ev, "on_unavailable must be "
                                       "allow or block, not",
                                       (char *) m->onu.data);
                        goto done;
                    }
                }
            }

            if (zae_admin_ylimits(&y, v, &m->system, "on_unavailable")
                != ZAE_OK)
            {
                goto done;
            }

        } else if (strcmp((char *) key.data, "resources") == 0) {
            if (zae_admin_yresources(&y, v, NULL, &m->res, &m->nres)
                != ZAE_OK)
            {
                goto done;
            }

        } else if (strcmp((char *) key.data, "entities") == 0) {
            if (zae_admin_ymap(&y, v, "entities") != ZAE_OK) {
                goto done;
            }

            n = v->data.mapping.pairs.top - v->data.mapping.pairs.start;

            if (n > ZAE_ADMIN_DECLS_MAX) {
                zae_admin_yerr(&y, v, "too many entities", NULL);
                goto done;
            }

            m->ents = zae_calloc(&a->mem,
                                 (n + 1) * sizeof(zae_admin_edecl_t));

            for (ep = v->data.mapping.pairs.start;
                 ep < v->data.mapping.pairs.top;
                 ep++)
            {
                zae_admin_edecl_t  *ed;

                if (zae_admin_ykey(&y, ep, &k2, &ev) != ZAE_OK
                    || zae_admin_ymap(&y, ev, (char *) k2.data) != ZAE_OK)
                {
                    goto done;
                }

                if (zae_validate_entity_id(k2.data, k2.len, &err) != ZAE_OK)
                {
                    zae_admin_yerr(&y, ev, err.msg, (char *) k2.data);
                    goto done;
                }

                ed = &m->ents[m->nents++];
                ed->entity = k2;

                for (rp = ev->data.mapping.pairs.start;
                     rp < ev->data.mapping.pairs.top;
                     rp++)
                {
                    if (zae_admin_ykey(&y, rp, &key, &rv) != ZAE_OK) {
                        goto done;
                    }

                    if (strcmp((char *) key.data, "resources") != 0) {
                        zae_admin_yerr(&y, rv, "unknown key",
                                       (char *) key.data);
                        goto done;
                    }

                    if (zae_admin_yresources(&y, rv, &k2, &ed->res,
                                             &ed->nres)
                        != ZAE_OK)
                    {
                        goto done;
                    }
                }
            }

        } else {
            zae_admin_yerr(&y, yaml_document_get_node(&doc, p->key),
                           "unknown key", (char *) key.data);
            goto done;
        }
    }

    if (m->ns.len == 0) {
        zae_admin_yerr(&y, root, "'namespace' is required in limits "
                       "manifest", NULL);
        goto done;
    }

    rc = ZAE_ADMIN_EXIT_OK;

done:

    yaml_document_delete(&doc);

    return rc;
}


/* json.dumps(manifest.to_dict(), sort_keys=True) */

static int
zae_admin_str_cmp_p(const void *x, const void *y)
{
    const zae_str_t  *a = *(zae_str_t * const *) x;
    const zae_str_t  *b = *(zae_str_t * const *) y;
    size_t            n;
    int               rc;

    n = a->len < b->len ? a->len : b->len;
    rc = memcmp(a->data, b->data, n);

    return rc ? rc : (a->len < b->len ? -1 : (a->len > b->len));
}


static int
zae_admin_hash_limits(zae_admin_t *a, zae_buf_t *b, zae_limits_t *ls)
{
    size_t        i;
    zae_str_t    *names[ZAE_LIMITS_MAX];
    zae_limit_t  *l;

    for (i = 0; i < ls->nelts; i++) {
        names[i] = &ls->elts[i].name;
    }

    qsort(names, ls->nelts, sizeof(zae_str_t *), zae_admin_str_cmp_p);

    if (zae_buf_add_str(b, "{\"limits\": {") != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < ls->nelts; i++) {
        l = zae_limits_find(ls, names[i]->data, names[i]->len);

        if ((i && zae_buf_add_str(b, ", ") != ZAE_OK)
            || zae_json_add_string(b, l->name.data, l->name.len) != ZAE_OK
            || zae_buf_printf(b, ": {\"capacity\": %lld, \"refill_amount\": "
                              "%lld, \"refill_period\": %lld}",
                              (long long) l->capacity,
                              (long long) l->refill_amount,
                              (long long) l->period) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add_str(b, "}");
}


static int
zae_admin_zstr_cmp(const void *x, const void *y)
{
    const zae_str_t  *pa = x, *pb = y;

    return zae_admin_str_cmp_p(&pa, &pb);
}


static int
zae_admin_decl_cmp(const void *x, const void *y)
{
    const zae_str_t         *pa, *pb;
    const zae_admin_decl_t  *a = x, *b = y;

    pa = &a->name;
    pb = &b->name;

    return zae_admin_str_cmp_p(&pa, &pb);
}


static int
zae_admin_edecl_cmp(const void *x, const void *y)
{
    const zae_str_t          *pa, *pb;
    const zae_admin_edecl_t  *a = x, *b = y;

    pa = &a->entity;
    pb = &b->entity;

    return zae_admin_str_cmp_p(&pa, &pb);
}


static int
zae_admin_manifest_hash(zae_admin_t *a, zae_admin_manifest_t *m,
    char *out)
{
    size_t        i, j;
    u_char        md[EVP_MAX_MD_SIZE];
    zae_buf_t     b;
    unsigned int  mdlen;

    /* sorted copies: the sets are sorted in place, which is fine */

    qsort(m->res, m->nres, sizeof(zae_admin_decl_t), zae_admin_decl_cmp);
    qsort(m->ents, m->nents, sizeof(zae_admin_edecl_t), zae_admin_edecl_cmp);

    for (i = 0; i < m->nents; i++) {
        qsort(m->ents[i].res, m->ents[i].nres, sizeof(zae_admin_decl_t),
              zae_admin_decl_cmp);
    }

    zae_buf_init(&b, &a->mem, 1024);

    if (zae_buf_add_str(&b, "{") != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (m->nents) {
        if (zae_buf_add_str(&b, "\"entities\": {") != ZAE_OK) {
            return ZAE_ERROR;
        }

        for (i = 0; i < m->nents; i++) {
            if ((i && zae_buf_add_str(&b, ", ") != ZAE_OK)
                || zae_json_add_string(&b, m->ents[i].entity.data,
                                       m->ents[i].entity.len) != ZAE_OK
                || zae_buf_add_str(&b, ": {\"resources\": {") != ZAE_OK)
            {
                return ZAE_ERROR;
            }

            for (j = 0; j < m->ents[i].nres; j++) {
                if ((j && zae_buf_add_str(&b, ", ") != ZAE_OK)
                    || zae_json_add_string(&b, m->ents[i].res[j].name.data,
                                           m->ents[i].res[j].name.len)
                       != ZAE_OK
                    || zae_buf_add_str(&b, ": ") != ZAE_OK
                    || zae_admin_hash_limits(a, &b,
                                             &m->ents[i].res[j].limits)
                       != ZAE_OK
                    || zae_buf_add_str(&b, "}") != ZAE_OK)
                {
                    return ZAE_ERROR;
                }
            }

            if (zae_buf_add_str(&b, "}}") != ZAE_OK) {
                return ZAE_ERROR;
            }
        }

        if (zae_buf_add_str(&b, "}, ") != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add_str(&b, "\"namespace\": ") != ZAE_OK
        || zae_json_add_string(&b, m->ns.data, m->ns.len) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (m->nres) {
        if (zae_buf_add_str(&b, ", \"resources\": {") != ZAE_OK) {
            return ZAE_ERROR;
        }

        for (i = 0; i < m->nres; i++) {
            if ((i && zae_buf_add_str(&b, ", ") != ZAE_OK)
                || zae_json_add_string(&b, m->res[i].name.data,
                                       m->res[i].name.len) != ZAE_OK
                || zae_buf_add_str(&b, ": ") != ZAE_OK
                || zae_admin_hash_limits(a, &b, &m->res[i].limits) != ZAE_OK
                || zae_buf_add_str(&b, "}") != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        if (zae_buf_add_str(&b, "}") != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (m->has_system) {
        if (zae_buf_add_str(&b, ", \"system\": ") != ZAE_OK
            || zae_admin_hash_limits(a, &b, &m->system) != ZAE_OK
            || (m->onu.len
                && (zae_buf_add_str(&b, ", \"on_unavailable\": ") != ZAE_OK
                    || zae_json_add_string(&b, m->onu.data, m->onu.len)
                       != ZAE_OK))
            || zae_buf_add_str(&b, "}") != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add_str(&b, "}") != ZAE_OK || b.failed) {
        return ZAE_ERROR;
    }

    if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        return ZAE_ERROR;
    }

    memcpy(out, "sha256:", 7);

    for (i = 0; i < mdlen; i++) {
        snprintf(out + 7 + i * 2, 3, "%02x", md[i]);
    }

    return ZAE_OK;
}


/* the #PROVISIONER state: managed sets */

typedef struct {
    int                  system;
    zae_str_t           *res;
    size_t               nres;
    zae_str_t           *ents;        /* entity, resource pairs */
    zae_str_t           *eres;
    size_t               nents;
} zae_admin_prev_t;


static int
zae_admin_prev_read(zae_admin_t *a, zae_admin_prev_t *pv)
{
    int          b;
    size_t       i, j, n;
    zae_av_t    *item, *l, *m, *el;
    zae_err_t    err;
    zae_keys_t   k;

    memset(pv, 0, sizeof(zae_admin_prev_t));

    (void) zae_keys_system(&a->mem, &k, &a->nsid, ZAE_SYSTEM_PROVISIONER);

    if (zae_admin_read(a, &k.pk, &k.sk, "cannot read the provisioner state",
                       &item)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (item == NULL) {
        return ZAE_OK;
    }

    if (zae_item_get_bool(item, "managed_system", &b, &err) == ZAE_OK) {
        pv->system = b;
    }

    l = zae_item_get(item, "managed_resources");
    n = (l && l->type == ZAE_AV_L) ? l->nitems : 0;

    pv->res = zae_alloc(&a->mem, (n + 1) * sizeof(zae_str_t));
    if (pv->res == NULL) {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (l->items[i]->type == ZAE_AV_S) {
            pv->res[pv->nres++] = l->items[i]->s;
        }
    }

    m = zae_item_get(item, "managed_entities");
    n = 0;

    for (i = 0; m && m->type == ZAE_AV_M && i < m->nattrs; i++) {
        el = m->attrs[i].value;
        n += (el && el->type == ZAE_AV_L) ? el->nitems : 0;
    }

    pv->ents = zae_alloc(&a->mem, (n + 1) * sizeof(zae_str_t));
    pv->eres = zae_alloc(&a->mem, (n + 1) * sizeof(zae_str_t));
    if (pv->ents == NULL || pv->eres == NULL) {
        return ZAE_ERROR;
    }

    for (i = 0; m && m->type == ZAE_AV_M && i < m->nattrs; i++) {
        el = m->attrs[i].value;

        for (j = 0; el && el->type == ZAE_AV_L && j < el->nitems; j++) {
            if (el->items[j]->type == ZAE_AV_S) {
                pv->ents[pv->nents] = m->attrs[i].name;
                pv->eres[pv->nents] = el->items[j]->s;
                pv->nents++;
            }
        }
    }

    return ZAE_OK;
}


static int
zae_admin_str_eq(zae_str_t *a, zae_str_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}


typedef struct {
    zae_str_t   e;
    zae_str_t   r;
} zae_admin_pair_t;


static int
zae_admin_pair_cmp(const void *x, const void *y)
{
    int                      rc;
    const zae_str_t         *p, *q;
    const zae_admin_pair_t  *a = x, *b = y;

    p = &a->e;
    q = &b->e;
    rc = zae_admin_str_cmp_p(&p, &q);

    if (rc) {
        return rc;
    }

    p = &a->r;
    q = &b->r;

    return zae_admin_str_cmp_p(&p, &q);
}


/*
 * The candidates in the order of facts 10.2: system, resources
 * (sorted), entity/resource (sorted); declared items first, then those
 * the state managed and the manifest dropped
 */

static int
zae_admin_diff(zae_admin_t *a, zae_admin_manifest_t *m,
    zae_admin_prev_t *pv, zae_admin_change_t **out, size_t *nout)
{
    size_t               i, j, k, n, np;
    zae_admin_pair_t    *prs;
    zae_admin_change_t  *c;

    n = 1 + m->nres + pv->nres + pv->nents;

    for (i = 0; i < m->nents; i++) {
        n += m->ents[i].nres;
    }

    c = zae_calloc(&a->mem, n * sizeof(zae_admin_change_t));
    prs = zae_calloc(&a->mem, (pv->nents + 1) * sizeof(zae_admin_pair_t));

    if (c == NULL || prs == NULL) {
        return ZAE_ERROR;
    }

    k = 0;

    if (m->has_system || pv->system) {
        c[k].level = ZAE_ADMIN_SYSTEM;
        c[k].declared = m->has_system;
        k++;
    }

    /* m->res and m->ents are sorted by the hash */

    for (i = 0; i < m->nres; i++) {
        c[k].level = ZAE_ADMIN_RESOURCE;
        c[k].declared = 1;
        c[k].resource = m->res[i].name;
        c[k].decl = &m->res[i];
        k++;
    }

    qsort(pv->res, pv->nres, sizeof(zae_str_t), zae_admin_zstr_cmp);

    for (j = 0; j < pv->nres; j++) {
        for (i = 0; i < m->nres; i++) {
            if (zae_admin_str_eq(&pv->res[j], &m->res[i].name)) {
                break;
            }
        }

        if (i == m->nres) {
            c[k].level = ZAE_ADMIN_RESOURCE;
            c[k].resource = pv->res[j];
            k++;
        }
    }

    for (i = 0; i < m->nents; i++) {
        for (j = 0; j < m->ents[i].nres; j++) {
            c[k].level = ZAE_ADMIN_ENTITY;
            c[k].declared = 1;
            c[k].entity = m->ents[i].entity;
            c[k].resource = m->ents[i].res[j].name;
            c[k].decl = &m->ents[i].res[j];
            k++;
        }
    }

    np = 0;

    for (n = 0; n < pv->nents; n++) {
        for (i = 0; i < m->nents; i++) {
            for (j = 0; j < m->ents[i].nres; j++) {
                if (zae_admin_str_eq(&pv->ents[n], &m->ents[i].entity)
                    && zae_admin_str_eq(&pv->eres[n],
                                        &m->ents[i].res[j].name))
                {
                    goto found;
                }
            }
        }

        prs[np].e = pv->ents[n];
        prs[np].r = pv->eres[n];
        np++;

    found:

        continue;
    }

    qsort(prs, np, sizeof(zae_admin_pair_t), zae_admin_pair_cmp);

    for (i = 0; i < np; i++) {
        c[k].level = ZAE_ADMIN_ENTITY;
        c[k].entity = prs[i].e;
        c[k].resource = prs[i].r;
        k++;
    }

    *out = c;
    *nout = k;

    return ZAE_OK;
}


static zae_str_t
zae_admin_target(zae_admin_t *a, zae_admin_change_t *c)
{
    if (c->entity.len) {
        return zae_admin_cat(a, "%.*s/%.*s", (int) c->entity.len,
                             c->entity.data, (int) c->resource.len,
                             c->resource.data);
    }

    if (c->resource.len) {
        return zae_admin_cat(a, "%.*s", (int) c->resource.len,
                             c->resource.data);
    }

    return zae_admin_str("(system defaults)");
}


/* the live config of a change's item; NULL when absent */

static int
zae_admin_live(zae_admin_t *a, zae_admin_change_t *c, zae_av_t **item)
{
    int         rc;
    zae_keys_t  k;

    /* the admin allocator exits on out-of-memory: nothing else fails */

    switch (c->level) {

    case ZAE_ADMIN_SYSTEM:
        (void) zae_keys_system(&a->mem, &k, &a->nsid, ZAE_SYSTEM_CONFIG);
        break;

    case ZAE_ADMIN_RESOURCE:
        (void) zae_keys_resource_config(&a->mem, &k, &a->nsid,
                                        &c->resource);
        break;

    default:
        (void) zae_keys_entity_config(&a->mem, &k, &a->nsid, &c->entity,
                                      &c->resource);
        break;
    }

    rc = zae_admin_check(a, zae_admin_get_item(a, &k.pk, &k.sk, 1, item),
                         "cannot read a config");

    return rc;
}


static int
zae_admin_same(zae_admin_t *a, zae_av_t *item, zae_limits_t *want,
    zae_str_t *onu, int system)
{
    size_t              i;
    zae_err_t           err;
    zae_limit_t        *l;
    zae_config_item_t   cfg;

    memset(&cfg, 0, sizeof(cfg));

    if (zae_config_item_decode(&a->mem, item, &cfg, &err) != ZAE_OK
        || cfg.limits.nelts != want->nelts)
    {
        return 0;
    }

    for (i = 0; i < want->nelts; i++) {
        l = zae_limits_find(&cfg.limits, want->elts[i].name.data,
                            want->elts[i].name.len);

        if (l == NULL || l->capacity != want->elts[i].capacity
            || l->refill_amount != want->elts[i].refill_amount
            || l->period != want->elts[i].period)
        {
            return 0;
        }
    }

    if (system && !zae_admin_str_eq(&cfg.on_unavailable, onu)) {
        return 0;
    }

    return 1;
}


/*
 * What a candidate needs, against the live item: plan, diff and apply
 * all decide here, so they agree on what exists
 */

static int
zae_admin_classify(zae_admin_t *a, zae_admin_manifest_t *m,
    zae_admin_change_t *c)
{
    zae_av_t  *item;

    if (zae_admin_live(a, c, &item) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (!c->declared) {
        c->action = item ? ZAE_ADMIN_DELETE : ZAE_ADMIN_SAME;

    } else if (item == NULL) {
        c->action = ZAE_ADMIN_CREATE;

    } else if (zae_admin_same(a, item, c->decl ? &c->decl->limits
                                               : &m->system,
                              &m->onu, c->level == ZAE_ADMIN_SYSTEM))
    {
        c->action = ZAE_ADMIN_SAME;

    } else {
        c->action = ZAE_ADMIN_UPDATE;
    }

    return ZAE_OK;
}


static int
zae_admin_apply_change(zae_admin_t *a, zae_admin_manifest_t *m,
    zae_admin_change_t *c)
{
    int        rc;
    zae_str_t  onu;

    switch (c->level) {

    case ZAE_ADMIN_SYSTEM:
        if (c->action == ZAE_ADMIN_DELETE) {
            return zae_admin_remove_system(a) == ZAE_ERROR
                   ? ZAE_ERROR : ZAE_OK;
        }

        onu = m->onu.len ? m->onu : zae_admin_str(NULL);

        return zae_admin_write_system(a, &m->system, &onu);

    case ZAE_ADMIN_RESOURCE:
        if (c->action == ZAE_ADMIN_DELETE) {
            return zae_admin_remove_resource(a, &c->resource) == ZAE_ERROR
                   ? ZAE_ERROR : ZAE_OK;
        }

        return zae_admin_write_resource(a, &c->resource, &c->decl->limits);

    default:
        if (c->action == ZAE_ADMIN_DELETE) {
            rc = zae_admin_remove_entity(a, &c->entity, &c->resource);
            return (rc == ZAE_ADMIN_EXIT_OK || rc == ZAE_DECLINED)
                   ? ZAE_OK : ZAE_ERROR;
        }

        return zae_admin_write_entity(a, &c->entity, &c->resource,
                                      &c->decl->limits)
               == ZAE_ADMIN_EXIT_OK ? ZAE_OK : ZAE_ERROR;
    }
}


/* the new #PROVISIONER state, as the provisioner writes it */

static int
zae_admin_write_state(zae_admin_t *a, zae_admin_manifest_t *m,
    const char *hash)
{
    int                  rc;
    u_char               ts[ZAE_TS_US_LEN + 1];
    size_t               i, j;
    zae_buf_t            b;
    zae_str_t           *rnames;
    zae_prov_state_t     ps;
    zae_prov_entity_t   *pe;

    memset(&ps, 0, sizeof(ps));
    ps.managed_system = m->has_system;
    ps.resources = zae_alloc(&a->mem, (m->nres + 1) * sizeof(zae_str_t));
    ps.entities = zae_alloc(&a->mem,
                            (m->nents + 1) * sizeof(zae_prov_entity_t));


    for (i = 0; i < m->nres; i++) {
        ps.resources[ps.nresources++] = m->res[i].name;
    }

    for (i = 0; i < m->nents; i++) {
        pe = &ps.entities[ps.nentities++];
        pe->entity_id = m->ents[i].entity;
        rnames = zae_alloc(&a->mem,
                           (m->ents[i].nres + 1) * sizeof(zae_str_t));

        for (j = 0; j < m->ents[i].nres; j++) {
            rnames[j] = m->ents[i].res[j].name;
        }

        pe->resources = rnames;
        pe->nresources = m->ents[i].nres;
    }

    zae_ts_format_us(ts, zae_admin_now_ms() * 1000);
    ps.last_applied = zae_admin_str((char *) ts);
    ps.applied_hash = zae_admin_str(hash);

    zae_buf_init(&b, &a->mem, 1024);

    zae_prov_item(&b, &a->nsid, &ps);

    rc = zae_admin_check(a, zae_admin_put_item(a, &b, NULL),
                         "cannot write the provisioner state");

    return rc;
}


static int
zae_admin_limits_cmd(zae_admin_t *a, zae_admin_limits_mode_e mode)
{
    int                     rc;
    char                    hash[8 + EVP_MAX_MD_SIZE * 2];
    size_t                  i, nc, nchanges, count[4];
    zae_av_t               *list, *o, *res;
    zae_buf_t               text;
    zae_str_t               target;
    const char             *file, *level, *sym;
    zae_admin_prev_t        pv;
    zae_admin_change_t     *c;
    zae_admin_manifest_t    m;
    zae_admin_file_opts_t  *opts;

    opts = a->opts;

    file = opts->file;
    if (file == NULL) {
        return zae_admin_usage_error(a, "-f FILE is required");
    }

    rc = zae_admin_manifest_parse(a, file, &m);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (zae_admin_manifest_hash(a, &m, hash) != ZAE_OK) {
        zae_admin_error(a, "out of memory");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* the manifest names its namespace */

    a->ns_name = (char *) m.ns.data;

    rc = zae_admin_resolve_ns(a, 0);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (zae_admin_prev_read(a, &pv) != ZAE_OK
        || zae_admin_diff(a, &m, &pv, &c, &nc) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    nchanges = 0;

    for (i = 0; i < nc; i++) {
        if (zae_admin_classify(a, &m, &c[i]) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        nchanges += c[i].action != ZAE_ADMIN_SAME;
    }

    list = zae_av_list(&a->mem);

    memset(count, 0, sizeof(count));

    if (nchanges && mode == ZAE_ADMIN_PLAN) {
        zae_admin_say(a, stdout, "Plan: %zu change(s)\n\n", nchanges);

    } else if (nchanges && mode == ZAE_ADMIN_DIFF) {
        zae_admin_say(a, stdout, "Drift detected: %zu difference(s)\n\n",
                      nchanges);
    }

    for (i = 0; i < nc; i++) {
        if (c[i].action == ZAE_ADMIN_SAME) {
            continue;
        }

        target = zae_admin_target(a, &c[i]);
        level = zae_admin_level_names[c[i].level];
        sym = zae_admin_action_symbols[c[i].action];

        if (mode == ZAE_ADMIN_APPLY) {
            if (zae_admin_apply_change(a, &m, &c[i]) != ZAE_OK) {
                zae_admin_error(a, "apply stopped at %s %s %s",
                                zae_admin_action_names[c[i].action], level,
                                (char *) target.data);
                return ZAE_ADMIN_EXIT_FAILED;
            }
        }

        count[c[i].action]++;

        o = zae_admin_json_obj(a);

        zae_admin_set_str(a, o, "action", zae_admin_action_names[c[i].action]);
        zae_admin_set_str(a, o, "level", level);
        zae_admin_json_set(a, o, "target",
                           c[i].level == ZAE_ADMIN_SYSTEM
                           ? zae_av_null(&a->mem)
                           : zae_admin_json_zstr(a, &target));
        zae_av_list_add(&a->mem, list, o);

        if (mode == ZAE_ADMIN_DIFF) {
            zae_admin_say(a, stdout, "  %s %s: %s\n", sym, level,
                          (char *) target.data);

        } else {
            zae_admin_say(a, stdout, "  %s %s %s: %s\n", sym,
                          zae_admin_action_names[c[i].action], level,
                          (char *) target.data);
        }
    }

    if (mode == ZAE_ADMIN_APPLY
        && zae_admin_write_state(a, &m, hash) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    res = zae_admin_json_obj(a);

    zae_admin_set_zstr(a, res, "namespace", &m.ns);
    zae_admin_set_str(a, res, "applied_hash", hash);
    zae_admin_json_set(a, res, mode == ZAE_ADMIN_DIFF ? "drift" : "changes",
                       list);

    if (mode == ZAE_ADMIN_APPLY) {
        zae_admin_set_int(a, res, "created",
                          (int64_t) count[ZAE_ADMIN_CREATE]);
        zae_admin_set_int(a, res, "updated",
                          (int64_t) count[ZAE_ADMIN_UPDATE]);
        zae_admin_set_int(a, res, "deleted",
                          (int64_t) count[ZAE_ADMIN_DELETE]);
    }

    zae_buf_init(&text, &a->mem, 128);

    if (nchanges == 0) {
        zae_buf_add_str(&text, mode == ZAE_ADMIN_DIFF
                        ? "No drift detected. Live state matches YAML.\n"
                        : "No changes. Infrastructure is up-to-date.\n");

    } else if (mode == ZAE_ADMIN_APPLY) {
        zae_buf_printf(&text, "\nApplied: %zu created, %zu updated, %zu "
                       "deleted.\n", count[ZAE_ADMIN_CREATE],
                       count[ZAE_ADMIN_UPDATE], count[ZAE_ADMIN_DELETE]);
    }

    return zae_admin_print_text(a, res, &text);
}


int
zae_admin_cmd_limits_plan(zae_admin_t *a)
{
    return zae_admin_limits_cmd(a, ZAE_ADMIN_PLAN);
}


int
zae_admin_cmd_limits_diff(zae_admin_t *a)
{
    return zae_admin_limits_cmd(a, ZAE_ADMIN_DIFF);
}


int
zae_admin_cmd_limits_apply(zae_admin_t *a)
{
    return zae_admin_limits_cmd(a, ZAE_ADMIN_APPLY);
}
