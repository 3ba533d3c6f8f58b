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
 * Objects that belong to extensions are left out.
 *
 * It runs with the managed schemas as the search path (see
 * set_search_path), which a role with CREATE there can fill with functions
 * and operators that match this query's argument types better than the
 * built-in ones (an aggregate on name, an operator on "char"): so every
 * function and operator is named with its schema, and every literal has
 * its type. */
#define EQ " OPERATOR(pg_catalog.=) "
#define CHAR(c) "'" c "'::pg_catalog.\"char\""
#define NOT_IN_EXTENSION(cls, obj)                                                                      \
	"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid" EQ "'pg_catalog." cls "'::pg_catalog.regclass" \
	" AND d.objid" EQ obj " AND d.deptype" EQ CHAR("e") ")"
static const char facts_sql[] =
	"WITH ns AS (\n"
	"  SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname" EQ "ANY ($1::pg_catalog.text[])\n"
	"), rel AS (\n"
	"  SELECT c.oid, pg_catalog.concat(ns.nspname, '.', c.relname) AS q, c.relrowsecurity, c.relforcerowsecurity\n"
	"  FROM pg_catalog.pg_class c JOIN ns ON ns.oid" EQ "c.relnamespace\n"
	"  WHERE c.relkind" EQ "ANY ('{r,p}'::pg_catalog.\"char\"[])\n"
	"    AND " NOT_IN_EXTENSION("pg_class", "c.oid") "\n"
	")\n"
	"SELECT pg_catalog.concat('enum ', ns.nspname, '.', t.typname), 'labels',\n"
	"       pg_catalog.string_agg(e.enumlabel::pg_catalog.text, ', ' ORDER BY e.enumsortorder)\n"
	"  FROM pg_catalog.pg_type t JOIN ns ON ns.oid" EQ "t.typnamespace JOIN pg_catalog.pg_enum e ON e.enumtypid" EQ "t.oid\n"
	"  WHERE " NOT_IN_EXTENSION("pg_type", "t.oid") "\n"
	"  GROUP BY ns.nspname, t.typname\n"
	"UNION ALL SELECT pg_catalog.concat('table ', q), 'row_security', CASE WHEN relrowsecurity THEN 'enabled' ELSE 'disabled' END FROM rel\n"
	"UNION ALL SELECT pg_catalog.concat('table ', q), 'force_row_security', CASE WHEN relforcerowsecurity THEN 'forced' ELSE 'not forced' END FROM rel\n"
	"UNION ALL SELECT pg_catalog.concat('table ', rel.q, ' column ', a.attname), x.k, x.v\n"
	"  FROM rel JOIN pg_catalog.pg_attribute a ON a.attrelid" EQ "rel.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped\n"
	"  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid" EQ "a.attrelid AND ad.adnum" EQ "a.attnum\n"
	"  CROSS JOIN LATERAL (VALUES ('type', pg_catalog.format_type(a.atttypid, a.atttypmod)),\n"
	"                             ('not_null', a.attnotnull::pg_catalog.text),\n"
	"                             ('default', coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''))) x(k, v)\n"
	"UNION ALL SELECT pg_catalog.concat('table ', rel.q, ' constraint ', co.conname), x.k, x.v\n"
	"  FROM rel JOIN pg_catalog.pg_constraint co ON co.conrelid" EQ "rel.oid\n"
	"  CROSS JOIN LATERAL (VALUES ('type', CASE WHEN co.contype" EQ CHAR("p") " THEN 'primary key'\n"
	"                                      WHEN co.contype" EQ CHAR("u") " THEN 'unique'\n"
	"                                      WHEN co.contype" EQ CHAR("f") " THEN 'foreign key'\n"
	"                                      WHEN co.contype" EQ CHAR("c") " THEN 'check'\n"
	"                                      WHEN co.contype" EQ CHAR("x") " THEN 'exclusion'\n"
	"                                      ELSE co.contype::pg_catalog.text END),\n"
	"                             ('definition', pg_catalog.pg_get_constraintdef(co.oid)),\n"
	"                             ('columns', (SELECT pg_catalog.string_agg(a.attname::pg_catalog.text, ', ' ORDER BY k.n)\n"
	"                                            FROM pg_catalog.unnest(co.conkey) WITH ORDINALITY k(attnum, n)\n"
	"                                            JOIN pg_catalog.pg_attribute a ON a.attrelid" EQ "co.conrelid AND a.attnum" EQ "k.attnum)),\n"
	"                             ('references', (SELECT pg_catalog.concat(rn.nspname, '.', rc.relname) FROM pg_catalog.pg_class rc\n"
	"                                               JOIN pg_catalog.pg_namespace rn ON rn.oid" EQ "rc.relnamespace\n"
	"                                              WHERE rc.oid" EQ "co.confrelid))) x(k, v)\n"
	"  WHERE x.v IS NOT NULL\n"
	"UNION ALL SELECT pg_catalog.concat('table ', rel.q, ' index ', ic.relname), x.k, x.v\n"
	"  FROM rel JOIN pg_catalog.pg_index i ON i.indrelid" EQ "rel.oid JOIN pg_catalog.pg_class ic ON ic.oid" EQ "i.indexrelid\n"
	"  CROSS JOIN LATERAL (VALUES ('definition', pg_catalog.pg_get_indexdef(i.indexrelid)),\n"
	"                             ('valid', i.indisvalid::pg_catalog.text),\n"
	"                             ('columns', (SELECT pg_catalog.string_agg(coalesce(a.attname::pg_catalog.text, 'expression'), ', ' ORDER BY k.n)\n"
	"                                            FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, n)\n"
	"                                            LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid" EQ "i.indrelid AND a.attnum" EQ "k.attnum\n"
	"                                            WHERE k.n OPERATOR(pg_catalog.<=) i.indnkeyatts::pg_catalog.int8))) x(k, v)\n"
	"UNION ALL SELECT pg_catalog.concat('table ', rel.q, ' trigger ', tg.tgname), x.k, x.v\n"
	"  FROM rel JOIN pg_catalog.pg_trigger tg ON tg.tgrelid" EQ "rel.oid AND NOT tg.tgisinternal\n"
	"  CROSS JOIN LATERAL (VALUES ('definition', pg_catalog.pg_get_triggerdef(tg.oid)),\n"
	"                             ('enabled', CASE WHEN tg.tgenabled" EQ CHAR("O") " THEN 'enabled'\n"
	"                                         WHEN tg.tgenabled" EQ CHAR("D") " THEN 'disabled'\n"
	"                                         WHEN tg.tgenabled" EQ CHAR("R") " THEN 'replica'\n"
	"                                         WHEN tg.tgenabled" EQ CHAR("A") " THEN 'always' END)) x(k, v)\n"
	"UNION ALL SELECT pg_catalog.concat('table ', p.schemaname, '.', p.tablename, ' policy ', p.policyname), x.k, x.v\n"
	"  FROM pg_catalog.pg_policies p JOIN ns ON ns.nspname" EQ "p.schemaname\n"
	"  CROSS JOIN LATERAL (VALUES ('command', p.cmd), ('permissive', p.permissive),\n"
	"                             ('roles', pg_catalog.array_to_string(p.roles, ', ')),\n"
	"                             ('using', coalesce(p.qual, '')), ('with_check', coalesce(p.with_check, ''))) x(k, v)\n"
	"UNION ALL SELECT pg_catalog.concat('function ', ns.nspname, '.', pr.proname, '(', pg_catalog.pg_get_function_identity_arguments(pr.oid), ')'),\n"
	"                 'definition', pg_catalog.pg_get_functiondef(pr.oid)\n"
	"  FROM pg_catalog.pg_proc pr JOIN ns ON ns.oid" EQ "pr.pronamespace\n"
	"  WHERE pr.prokind" EQ "ANY ('{f,p}'::pg_catalog.\"char\"[])\n"
	"    AND " NOT_IN_EXTENSION("pg_proc", "pr.oid") "\n"
	/* A schema that is not there is a fact too: nothing of it can match. */
	"UNION ALL SELECT pg_catalog.concat('schema ', s), 'missing', 'true'\n"
	"  FROM pg_catalog.unnest($1::pg_catalog.text[]) s\n"
	"  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname" EQ "s)\n";

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
