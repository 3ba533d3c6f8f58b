/* gm_sqlform.h - SQL as the server printed it, in a form that reads the
 * same whichever PostgreSQL major printed it.
 *
 * The snapshot keeps definitions, defaults and policy expressions as the
 * server prints them (pg_get_viewdef, pg_get_expr, ...), and the printing
 * changes between majors while the meaning does not: 16 stopped
 * qualifying the columns of a view that reads one relation ("SELECT
 * notes.id FROM notes" became "SELECT id FROM notes").  Two printings are
 * the same when libpg_query parses both and their trees, deparsed, are
 * equal once a column's qualifier that names the only relation its query
 * reads (or the nearest enclosing query with a FROM that does) is dropped:
 * where the server left it out, the column resolves to that relation all
 * the same.  Text the parser (PostgreSQL 15's grammar, Debian's
 * libpg_query) does not take, such as syntax newer than 15, is compared
 * as it is. */
#ifndef GM_SQLFORM_H
#define GM_SQLFORM_H

enum gm_sql_kind {
	GM_SQL_NONE,		/* not SQL: compared as text */
	GM_SQL_EXPR,		/* an expression: a default, a policy's USING */
	GM_SQL_STATEMENT,	/* CREATE INDEX, CREATE TRIGGER, CREATE FUNCTION, a view's SELECT */
	GM_SQL_CONSTRAINT,	/* pg_get_constraintdef: "CHECK (...)", "FOREIGN KEY ..." */
};

/* What kind of SQL the fact (object, attr) of a snapshot holds. */
enum gm_sql_kind gm_sql_kind_of(const char *object, const char *attr);

/* The text in its major-independent form, or NULL when it does not parse
 * (caller frees). */
char *gm_sql_form(const char *text, enum gm_sql_kind kind);

/* Whether two printings mean the same: equal as text, or equal forms. */
int gm_sql_same(const char *a, const char *b, enum gm_sql_kind kind);

#endif
