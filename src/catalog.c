/* catalog.c - reading the live schema into facts (see gm_catalog.h). */
#include "gm_catalog.h"
#include "gm_db.h"
#include "gm_error.h"

#include <stdlib.h>
#include <string.h>

/* Every fact of the managed schemas ($1, a text[]) in one query: the
 * number of queries verify and dump issue does not grow with the number of
 * tables.  The server prints types, defaults, constraints, indexes,
 * triggers, policies and functions itself (format_type, pg_get_expr,
 * pg_get_*def, pg_policies), so the snapshot says what the server means.
 * Objects that belong to extensions are left out. */
static const char facts_sql[] =
	"WITH ns AS (\n"
	"  SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY ($1::text[])\n"
	"), rel AS (\n"
	"  SELECT c.oid, ns.nspname || '.' || c.relname AS q, c.relrowsecurity, c.relforcerowsecurity\n"
	"  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace\n"
	"  WHERE c.relkind IN ('r', 'p')\n"
	"    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')\n"
	")\n"
	"SELECT 'enum ' || ns.nspname || '.' || t.typname, 'labels',\n"
	"       string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)\n"
	"  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid\n"
	"  WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')\n"
	"  GROUP BY ns.nspname, t.typname\n"
	"UNION ALL SELECT 'table ' || q, 'row_security', CASE WHEN relrowsecurity THEN 'enabled' ELSE 'disabled' END FROM rel\n"
	"UNION ALL SELECT 'table ' || q, 'force_row_security', CASE WHEN relforcerowsecurity THEN 'forced' ELSE 'not forced' END FROM rel\n"
	"UNION ALL SELECT 'table ' || rel.q || ' column ' || a.attname, x.k, x.v\n"
	"  FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped\n"
	"  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum\n"
	"  CROSS JOIN LATERAL (VALUES ('type', format_type(a.atttypid, a.atttypmod)),\n"
	"                             ('not_null', a.attnotnull::text),\n"
	"                             ('default', coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''))) x(k, v)\n"
	"UNION ALL SELECT 'table ' || rel.q || ' constraint ' || co.conname, x.k, x.v\n"
	"  FROM rel JOIN pg_constraint co ON co.conrelid = rel.oid\n"
	"  CROSS JOIN LATERAL (VALUES ('type', CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'\n"
	"                                      WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion'\n"
	"                                      ELSE co.contype::text END),\n"
	"                             ('definition', pg_get_constraintdef(co.oid)),\n"
	"                             ('columns', (SELECT string_agg(a.attname, ', ' ORDER BY k.n)\n"
	"                                            FROM unnest(co.conkey) WITH ORDINALITY k(attnum, n)\n"
	"                                            JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum)),\n"
	"                             ('references', (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc\n"
	"                                               JOIN pg_namespace rn ON rn.oid = rc.relnamespace\n"
	"                                              WHERE rc.oid = co.confrelid))) x(k, v)\n"
	"  WHERE x.v IS NOT NULL\n"
	"UNION ALL SELECT 'table ' || rel.q || ' index ' || ic.relname, x.k, x.v\n"
	"  FROM rel JOIN pg_index i ON i.indrelid = rel.oid JOIN pg_class ic ON ic.oid = i.indexrelid\n"
	"  CROSS JOIN LATERAL (VALUES ('definition', pg_get_indexdef(i.indexrelid)),\n"
	"                             ('valid', i.indisvalid::text),\n"
	"                             ('columns', (SELECT string_agg(coalesce(a.attname, 'expression'), ', ' ORDER BY k.n)\n"
	"                                            FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)\n"
	"                                            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum\n"
	"                                            WHERE k.n <= i.indnkeyatts))) x(k, v)\n"
	"UNION ALL SELECT 'table ' || rel.q || ' trigger ' || tg.tgname, x.k, x.v\n"
	"  FROM rel JOIN pg_trigger tg ON tg.tgrelid = rel.oid AND NOT tg.tgisinternal\n"
	"  CROSS JOIN LATERAL (VALUES ('definition', pg_get_triggerdef(tg.oid)),\n"
	"                             ('enabled', CASE tg.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'\n"
	"                                         WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END)) x(k, v)\n"
	"UNION ALL SELECT 'table ' || p.schemaname || '.' || p.tablename || ' policy ' || p.policyname, x.k, x.v\n"
	"  FROM pg_policies p JOIN ns ON ns.nspname = p.schemaname\n"
	"  CROSS JOIN LATERAL (VALUES ('command', p.cmd), ('permissive', p.permissive),\n"
	"                             ('roles', array_to_string(p.roles, ', ')),\n"
	"                             ('using', coalesce(p.qual, '')), ('with_check', coalesce(p.with_check, ''))) x(k, v)\n"
	"UNION ALL SELECT 'function ' || ns.nspname || '.' || pr.proname || '(' || pg_get_function_identity_arguments(pr.oid) || ')',\n"
	"                 'definition', pg_get_functiondef(pr.oid)\n"
	"  FROM pg_proc pr JOIN ns ON ns.oid = pr.pronamespace\n"
	"  WHERE pr.prokind IN ('f', 'p')\n"
	"    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = pr.oid AND d.deptype = 'e')\n";

/* A text[] literal: {"a","b"} with " and \ escaped. */
static void array_literal(struct gm_strbuf *sb, char *const *v, size_t n)
{
	size_t k;
	const char *p;

	gm_strbuf_addch(sb, '{');
	for (k = 0; k < n; k++) {
		gm_strbuf_adds(sb, k ? ",\"" : "\"");
		for (p = v[k]; *p; p++) {
			if (*p == '"' || *p == '\\')
				gm_strbuf_addch(sb, '\\');
			gm_strbuf_addch(sb, *p);
		}
		gm_strbuf_addch(sb, '"');
	}
	gm_strbuf_addch(sb, '}');
}

/* The server prints names relative to search_path (policy expressions,
 * function bodies, foreign keys), so the same schema would print
 * differently for differently configured roles.  Reading always happens
 * with the managed schemas as the whole search_path, for the transaction
 * only. */
static struct gm_error *set_search_path(struct gm_db *db, char *const *schemas, size_t nschemas)
{
	struct gm_strbuf path = GM_STRBUF_INIT;
	const char *params[1];
	struct gm_error *err;
	size_t k;

	for (k = 0; k < nschemas; k++) {
		char *q = gm_db_quote_ident(db, schemas[k]);
		gm_strbuf_addf(&path, "%s%s", k ? ", " : "", q ? q : "\"\"");
		free(q);
	}
	params[0] = path.buf;
	err = gm_db_exec_params(db, "SELECT pg_catalog.set_config('search_path', $1, true)", 1, params,
				"cannot set the search path for reading the catalog", NULL);
	gm_strbuf_release(&path);
	return err;
}

struct gm_error *gm_catalog_read(struct gm_db *db, char *const *schemas, size_t nschemas,
				 struct gm_model *out)
{
	struct gm_strbuf arr = GM_STRBUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	struct gm_error *err;
	int k, n;

	memset(out, 0, sizeof(*out));
	if ((err = set_search_path(db, schemas, nschemas)))
		return err;
	for (size_t s = 0; s < nschemas; s++)
		gm_model_add_schema(out, schemas[s]);
	array_literal(&arr, schemas, nschemas);
	params[0] = arr.buf;
	err = gm_db_exec_params(db, facts_sql, 1, params, "cannot read the schema from the catalog", &res);
	gm_strbuf_release(&arr);
	if (err) {
		gm_model_release(out);
		return err;
	}
	n = PQntuples(res);
	for (k = 0; k < n; k++)
		gm_model_add(out, PQgetvalue(res, k, 0), PQgetvalue(res, k, 1),
			     PQgetisnull(res, k, 2) ? "" : PQgetvalue(res, k, 2));
	PQclear(res);
	gm_model_sort(out);
	return NULL;
}
