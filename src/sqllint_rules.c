/* sqllint_rules.c - locks and rewrites on existing tables, destructive
 * changes and transaction hazards, on one statement's parse tree (see
 * gm_sqllint.h; the rules' explanations are in garage-migrate(1)).
 *
 * "Existing" means not created earlier in the run: whatever is done to a
 * table the run itself created blocks no one and destroys nothing. */
#include "gm_migration.h"
#include "sqllint_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE(n, kind) ((n) && (n)->node_case == PG_QUERY__NODE__NODE_##kind)

static int transactional(const struct lint *l)
{
	return l->cur->m->transactional;
}

/* ---- ACCESS EXCLUSIVE without a lock timeout ---- */

/* Reported once per migration, at its first such statement: one SET
 * lock_timeout (or --lock-timeout) at the top covers them all. */
static void access_exclusive(struct lint *l, const char *key, const char *what)
{
	if (l->mig_lock_timeout || l->mig_lock_reported || !key || lint_is_new(l, key))
		return;
	l->mig_lock_reported = 1;
	lint_report(l, "lock_without_timeout", lint_at(l, -1), key,
		    "%s takes ACCESS EXCLUSIVE on %s and this migration sets no lock timeout: while it waits for any"
		    " running query on the table, every new query on it waits too", what, key);
}

/* Subcommands of ALTER TABLE that take a lock weaker than ACCESS
 * EXCLUSIVE (PostgreSQL's AlterTableGetLockLevel). */
static int weaker_lock(const PgQuery__AlterTableCmd *c)
{
	switch (c->subtype) {
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetStatistics:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ClusterOn:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DropCluster:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableAlwaysTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableReplicaTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigAll:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigAll:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigUser:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigUser:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AttachPartition:
		return 1;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
		return NODE(c->def, CONSTRAINT) && c->def->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DetachPartition:
		return NODE(c->def, PARTITION_CMD) && c->def->partition_cmd->concurrent;
	default:
		return 0;
	}
}

/* ---- defaults that rewrite ---- */

/* Functions a default may call without a rewrite: PostgreSQL 11 and
 * later store a non-volatile default once instead of writing every row.
 * Anything else might be volatile. */
static int known_non_volatile(const char *f)
{
	static const char *const names[] = {
		"now", "statement_timestamp", "transaction_timestamp", "current_date", "current_time",
		"localtimestamp", "localtime", "lower", "upper", "length", "concat", "replace", "substring",
		"to_jsonb", "to_json", "jsonb_build_object", "json_build_object", "jsonb_build_array",
		"json_build_array", "array_fill", "make_interval", "make_date", "to_timestamp", "to_date",
		"date_trunc", "abs", "round", "coalesce", "nullif", "greatest", "least", "current_setting",
	};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcmp(f, names[k]))
			return 1;
	return 0;
}

struct volatility {
	const char *func;	/* the first function not known to be non-volatile */
	int subquery;
};

static int find_volatile(void *ctx, const PgQuery__Node *n)
{
	struct volatility *v = ctx;

	if (NODE(n, FUNC_CALL)) {
		const char *f = gm_pgtree_last_name(n->func_call->funcname, n->func_call->n_funcname);
		if (!known_non_volatile(f)) {
			v->func = f;
			return 1;
		}
	} else if (NODE(n, SUB_LINK)) {
		v->subquery = 1;
		return 1;
	}
	return 0;
}

static int is_serial(const PgQuery__TypeName *t)
{
	static const char *const serials[] = { "serial", "bigserial", "smallserial", "serial2", "serial4", "serial8" };
	const char *name = t ? gm_pgtree_last_name(t->names, t->n_names) : "";

	for (size_t k = 0; k < sizeof(serials) / sizeof(serials[0]); k++)
		if (!strcmp(name, serials[k]))
			return 1;
	return 0;
}

/* Why adding this column rewrites the table, or NULL. */
static const char *rewriting_column(const PgQuery__ColumnDef *col, char *buf, size_t len)
{
	if (is_serial(col->type_name))
		return "its serial type draws every row's value from a sequence (a volatile default)";
	for (size_t k = 0; k < col->n_constraints; k++) {
		const PgQuery__Constraint *c;
		struct volatility v = { NULL, 0 };
		if (!NODE(col->constraints[k], CONSTRAINT))
			continue;
		c = col->constraints[k]->constraint;
		if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY)
			return "an identity column gets a value for every row";
		if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED)
			return "a stored generated column is computed for every row";
		if (c->contype != PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT || !c->raw_expr)
			continue;
		if (!gm_pgtree_walk(&c->raw_expr->base, find_volatile, &v))
			continue;
		if (v.subquery)
			return "its default holds a subquery, evaluated for every row";
		snprintf(buf, len, "its default calls %s(), which is volatile or not known not to be, so it is evaluated"
			 " for every row", v.func);
		return buf;
	}
	return NULL;
}

/* Constraints written on the new column that build an index. */
static void column_index_constraints(struct lint *l, const PgQuery__ColumnDef *col, const char *key, size_t at)
{
	for (size_t k = 0; k < col->n_constraints; k++) {
		const PgQuery__Constraint *c;
		if (!NODE(col->constraints[k], CONSTRAINT))
			continue;
		c = col->constraints[k]->constraint;
		if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY || c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE)
			lint_report(l, "add_constraint_builds_index", at, key,
				    "adding column %s with %s builds its index on %s while holding ACCESS EXCLUSIVE",
				    col->colname, c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY ? "PRIMARY KEY" : "UNIQUE",
				    key);
	}
}

/* ---- NOT NULL through a validated check ---- */

/* "col" when expr is "col IS NOT NULL", else NULL. */
static const char *not_null_column(const PgQuery__Node *expr)
{
	const PgQuery__NullTest *t;

	if (!NODE(expr, NULL_TEST))
		return NULL;
	t = expr->null_test;
	if (t->nulltesttype != PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL || !NODE(t->arg, COLUMN_REF) ||
	    t->arg->column_ref->n_fields != 1)
		return NULL;
	return gm_pgtree_str(t->arg->column_ref->fields[0]);
}

static void note_check(struct lint *l, const char *key, const PgQuery__Constraint *c)
{
	const char *col = not_null_column(c->raw_expr);
	char *entry;

	if (!col || !c->conname)
		return;
	entry = gm_xasprintf("%s\t%s\t%s", key, c->conname, col);
	gm_strlist_add(&l->not_null_checks, entry);
	free(entry);
	if (!c->skip_validation) {
		entry = gm_xasprintf("%s\t%s", key, c->conname);
		gm_strlist_add(&l->valid_checks, entry);
		free(entry);
	}
}

/* "migration\tkey\tconstraint": a constraint added NOT VALID by a
 * migration of the run. */
static char *not_valid_entry(const struct lint *l, const char *key, const char *conname)
{
	return gm_xasprintf("%zu\t%s\t%s", l->cur->mi, key, conname);
}

/* VALIDATE CONSTRAINT.  Where the same transactional migration added it
 * NOT VALID, the ADD's lock (SHARE ROW EXCLUSIVE for a foreign key, ACCESS
 * EXCLUSIVE for a check) is still held while every row is checked: NOT
 * VALID then saves nothing. */
static void note_validated(struct lint *l, const char *key, const char *conname, size_t at, int existing)
{
	char *entry = gm_xasprintf("%s\t%s", key, conname ? conname : "");

	gm_strlist_add(&l->valid_checks, entry);
	free(entry);
	if (!existing || !conname || !transactional(l))
		return;
	entry = not_valid_entry(l, key, conname);
	if (gm_strlist_has(&l->not_valid_added, entry))
		lint_report(l, "constraint_without_not_valid", at, key,
			    "VALIDATE CONSTRAINT %s in the transaction that added it NOT VALID checks every row of %s"
			    " while the ADD's lock is still held", conname, key);
	free(entry);
}

/* Whether a validated CHECK (col IS NOT NULL) on the table was made
 * earlier in the run: SET NOT NULL then uses it instead of a scan. */
static int has_valid_check(const struct lint *l, const char *key, const char *col)
{
	size_t kl = strlen(key);

	for (size_t k = 0; k < l->not_null_checks.n; k++) {
		const char *e = l->not_null_checks.v[k], *con, *c;
		char *valid;
		int yes;
		if (strncmp(e, key, kl) || e[kl] != '\t')
			continue;
		con = e + kl + 1;
		c = strchr(con, '\t');
		if (!c || strcmp(c + 1, col))
			continue;
		valid = gm_xasprintf("%s\t%.*s", key, (int)(c - con), con);
		yes = gm_strlist_has(&l->valid_checks, valid);
		free(valid);
		if (yes)
			return 1;
	}
	return 0;
}

/* ---- ALTER TABLE ---- */

static void add_constraint(struct lint *l, const char *key, const PgQuery__Constraint *c, size_t at, int existing)
{
	int fk = c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN;

	if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK)
		note_check(l, key, c);
	if (!existing)
		return;
	if ((fk || c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK) && c->skip_validation && c->conname) {
		char *entry = not_valid_entry(l, key, c->conname);
		gm_strlist_add(&l->not_valid_added, entry);
		free(entry);
	}
	if ((fk || c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK) && !c->skip_validation)
		lint_report(l, "constraint_without_not_valid", at, key,
			    "adding %s %s without NOT VALID checks every row of %s while holding %s",
			    fk ? "foreign key" : "check constraint", c->conname ? c->conname : "(unnamed)", key,
			    fk ? "SHARE ROW EXCLUSIVE on it and on the referenced table (no writes)" : "ACCESS EXCLUSIVE");
	else if ((c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY || c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ||
		  c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION) && !(c->indexname && *c->indexname))
		lint_report(l, "add_constraint_builds_index", at, key,
			    "adding %s %s builds its index on %s while holding ACCESS EXCLUSIVE",
			    c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY ? "primary key"
			    : c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ? "unique constraint" : "exclusion constraint",
			    c->conname ? c->conname : "(unnamed)", key);
}

static void alter_cmd(struct lint *l, const PgQuery__AlterTableStmt *a, size_t k, const char *key, int existing)
{
	const PgQuery__AlterTableCmd *c = a->cmds[k]->alter_table_cmd;
	char buf[256];
	const char *why;

	switch (c->subtype) {
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
		if (existing)
			lint_report(l, "alter_column_type", lint_alter_cmd_at(l, a, k), key,
				    "changing the type of column %s rewrites %s and its indexes while holding ACCESS EXCLUSIVE",
				    c->name, key);
		break;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
		if (!existing || !NODE(c->def, COLUMN_DEF))
			break;
		if ((why = rewriting_column(c->def->column_def, buf, sizeof(buf))))
			lint_report(l, "add_column_volatile_default", lint_alter_cmd_at(l, a, k), key,
				    "adding column %s rewrites %s while holding ACCESS EXCLUSIVE: %s",
				    c->def->column_def->colname, key, why);
		column_index_constraints(l, c->def->column_def, key, lint_alter_cmd_at(l, a, k));
		break;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetNotNull:
		if (existing && !has_valid_check(l, key, c->name))
			lint_report(l, "set_not_null", lint_alter_cmd_at(l, a, k), key,
				    "SET NOT NULL on column %s scans all of %s while holding ACCESS EXCLUSIVE", c->name, key);
		break;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
		if (NODE(c->def, CONSTRAINT))
			add_constraint(l, key, c->def->constraint, lint_alter_cmd_at(l, a, k), existing);
		break;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
		note_validated(l, key, c->name, lint_alter_cmd_at(l, a, k), existing);
		break;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
		if (existing)
			lint_report(l, "drop_column", lint_alter_cmd_at(l, a, k), key, "DROP COLUMN %s destroys its data in %s",
				    c->name, key);
		break;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DetachPartition:
		if (transactional(l) && NODE(c->def, PARTITION_CMD) && c->def->partition_cmd->concurrent)
			lint_report(l, "concurrently_in_transaction", lint_alter_cmd_at(l, a, k), key,
				    "DETACH PARTITION ... CONCURRENTLY cannot run inside a transaction block");
		break;
	default:
		break;
	}
}

static void alter_table(struct lint *l, const PgQuery__AlterTableStmt *a)
{
	char *key;
	int existing, exclusive = 0;

	if (!a->relation || a->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	key = lint_key(a->relation);
	existing = !lint_is_new(l, key);
	for (size_t k = 0; k < a->n_cmds; k++) {
		if (!NODE(a->cmds[k], ALTER_TABLE_CMD))
			continue;
		alter_cmd(l, a, k, key, existing);
		exclusive |= !weaker_lock(a->cmds[k]->alter_table_cmd);
	}
	if (exclusive)
		access_exclusive(l, key, "ALTER TABLE");
	free(key);
}

/* ---- indexes and maintenance ---- */

static void create_index(struct lint *l, const PgQuery__IndexStmt *ix)
{
	char *key = ix->relation ? lint_key(ix->relation) : NULL;

	if (ix->concurrent && transactional(l))
		lint_report(l, "concurrently_in_transaction", lint_at(l, -1), key,
			    "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this migration runs in one");
	else if (!ix->concurrent && key && !lint_is_new(l, key))
		lint_report(l, "create_index_not_concurrently", lint_at(l, -1), key,
			    "CREATE INDEX%s%s on %s blocks every write to it while the index builds",
			    ix->idxname ? " " : "", ix->idxname ? ix->idxname : "", key);
	free(key);
}

static int has_option(PgQuery__Node *const *opts, size_t n, const char *name)
{
	return lint_option_true(opts, n, name);
}

static void reindex(struct lint *l, const PgQuery__ReindexStmt *r)
{
	int conc = has_option(r->params, r->n_params, "concurrently");
	char *key = r->relation ? lint_key(r->relation) : NULL;

	if (r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA ||
	    r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SYSTEM ||
	    r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_DATABASE) {
		if (transactional(l))
			lint_report(l, "no_transaction_required", lint_at(l, -1), NULL,
				    "REINDEX SCHEMA, SYSTEM and DATABASE cannot run inside a transaction block");
	} else if (conc && transactional(l)) {
		lint_report(l, "concurrently_in_transaction", lint_at(l, -1), key,
			    "REINDEX ... CONCURRENTLY cannot run inside a transaction block, and this migration runs in one");
	}
	if (!conc && (!key || !lint_is_new(l, key)))
		lint_report(l, "blocking_maintenance", lint_at(l, -1), key,
			    "REINDEX without CONCURRENTLY blocks writes to %s, and reads that use its indexes, while it rebuilds",
			    key ? key : r->name ? r->name : "the indexes");
	if (!conc && key)
		access_exclusive(l, key, "REINDEX");
	free(key);
}

static void cluster(struct lint *l, const PgQuery__ClusterStmt *c)
{
	char *key = c->relation ? lint_key(c->relation) : NULL;

	if (!key && transactional(l))
		lint_report(l, "no_transaction_required", lint_at(l, -1), NULL,
			    "CLUSTER without a table cannot run inside a transaction block");
	if (!key || !lint_is_new(l, key)) {
		lint_report(l, "blocking_maintenance", lint_at(l, -1), key,
			    "CLUSTER rewrites %s while holding ACCESS EXCLUSIVE", key ? key : "every clustered table");
		access_exclusive(l, key, "CLUSTER");
	}
	free(key);
}

static void vacuum(struct lint *l, const PgQuery__VacuumStmt *v)
{
	int full = has_option(v->options, v->n_options, "full");

	if (!v->is_vacuumcmd)
		return;		/* ANALYZE runs anywhere, and blocks no one */
	if (transactional(l))
		lint_report(l, "no_transaction_required", lint_at(l, -1), NULL,
			    "VACUUM cannot run inside a transaction block");
	if (!full)
		return;
	if (!v->n_rels)
		lint_report(l, "blocking_maintenance", lint_at(l, -1), NULL,
			    "VACUUM FULL rewrites every table of the database while holding ACCESS EXCLUSIVE on each");
	for (size_t k = 0; k < v->n_rels; k++) {
		char *key;
		if (!NODE(v->rels[k], VACUUM_RELATION) || !v->rels[k]->vacuum_relation->relation)
			continue;
		key = lint_key(v->rels[k]->vacuum_relation->relation);
		if (!lint_is_new(l, key))
			lint_report(l, "blocking_maintenance", lint_at(l, v->rels[k]->vacuum_relation->relation->location), key,
				    "VACUUM FULL rewrites %s while holding ACCESS EXCLUSIVE", key);
		free(key);
	}
}

/* ---- destructive changes ---- */

static void drop(struct lint *l, const PgQuery__DropStmt *d)
{
	int table = d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE;
	int type = d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE ||
		   d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN;

	if (d->concurrent && transactional(l))
		lint_report(l, "concurrently_in_transaction", lint_at(l, -1), NULL,
			    "DROP INDEX CONCURRENTLY cannot run inside a transaction block, and this migration runs in one");
	for (size_t k = 0; k < d->n_objects; k++) {
		const PgQuery__Node *o = d->objects[k];
		char *key = NULL;
		if (table && NODE(o, LIST))
			key = lint_key_names(o->list->items, o->list->n_items);
		else if (type && NODE(o, TYPE_NAME))
			key = lint_key_names(o->type_name->names, o->type_name->n_names);
		if (key && table && !lint_is_new(l, key)) {
			lint_report(l, "drop_table", lint_at(l, -1), key, "DROP TABLE %s destroys the table and its rows", key);
			access_exclusive(l, key, "DROP TABLE");
		} else if (key && type && !gm_strlist_has(&l->created_types, key)) {
			lint_report(l, "drop_type", lint_at(l, -1), NULL, "DROP %s %s %s", d->remove_type ==
				    PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN ? "DOMAIN" : "TYPE", key,
				    d->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE
					    ? "with CASCADE also drops every column of that type, and its data"
					    : "fails while a column uses the type, and with CASCADE would drop those columns");
		}
		free(key);
	}
}

static void on_truncate(struct lint *l, const PgQuery__TruncateStmt *t)
{
	for (size_t k = 0; k < t->n_relations; k++) {
		char *key;
		if (!NODE(t->relations[k], RANGE_VAR))
			continue;
		key = lint_key(t->relations[k]->range_var);
		if (!lint_is_new(l, key)) {
			lint_report(l, "truncate", lint_at(l, t->relations[k]->range_var->location), key,
				    "TRUNCATE deletes every row of %s%s", key,
				    t->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE ? ", and with CASCADE of every table referencing it"
											      : "");
			access_exclusive(l, key, "TRUNCATE");
		}
		free(key);
	}
}

static void write_without_where(struct lint *l, const PgQuery__RangeVar *rv, const PgQuery__Node *where, int update)
{
	char *key;

	if (where || !rv)
		return;
	key = lint_key(rv);
	if (!lint_is_new(l, key))
		lint_report(l, update ? "update_without_where" : "delete_without_where", lint_at(l, -1), key,
			    update ? "UPDATE without WHERE rewrites every row of %s and locks each until the migration commits"
				   : "DELETE without WHERE deletes every row of %s", key);
	free(key);
}

static void on_rename(struct lint *l, const PgQuery__RenameStmt *r)
{
	char *key;
	int column = r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
		     r->relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE;

	if (!r->relation || (r->rename_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && !column))
		return;
	key = lint_key(r->relation);
	if (!lint_is_new(l, key)) {
		if (column)
			lint_report(l, "rename_column", lint_at(l, -1), key,
				    "renaming column %s of %s to %s breaks the application that still uses %s", r->subname, key,
				    r->newname, r->subname);
		else
			lint_report(l, "rename_table", lint_at(l, -1), key,
				    "renaming %s to %s breaks the application that still uses the old name", key, r->newname);
		access_exclusive(l, key, "ALTER TABLE ... RENAME");
	}
	free(key);
}

/* ---- transactions ---- */

static void outside_only(struct lint *l, const char *what)
{
	if (transactional(l))
		lint_report(l, "no_transaction_required", lint_at(l, -1), NULL, "%s cannot run inside a transaction block", what);
}

static void lock(struct lint *l, const PgQuery__LockStmt *s)
{
	/* Lock modes are numbered as in the server: 8 is ACCESS EXCLUSIVE. */
	if (s->mode != 8)
		return;
	for (size_t k = 0; k < s->n_relations; k++)
		if (NODE(s->relations[k], RANGE_VAR)) {
			char *key = lint_key(s->relations[k]->range_var);
			access_exclusive(l, key, "LOCK TABLE");
			free(key);
		}
}

/* Policies are created and changed under ACCESS EXCLUSIVE on their table. */
static void policy_lock(struct lint *l, const PgQuery__RangeVar *table, const char *what)
{
	char *key;

	if (!table)
		return;
	key = lint_key(table);
	access_exclusive(l, key, what);
	free(key);
}

void lint_rules_stmt(struct lint *l)
{
	const PgQuery__Node *n = l->cur->node;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT: alter_table(l, n->alter_table_stmt); break;
	case PG_QUERY__NODE__NODE_INDEX_STMT: create_index(l, n->index_stmt); break;
	case PG_QUERY__NODE__NODE_REINDEX_STMT: reindex(l, n->reindex_stmt); break;
	case PG_QUERY__NODE__NODE_CLUSTER_STMT: cluster(l, n->cluster_stmt); break;
	case PG_QUERY__NODE__NODE_VACUUM_STMT: vacuum(l, n->vacuum_stmt); break;
	case PG_QUERY__NODE__NODE_DROP_STMT: drop(l, n->drop_stmt); break;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT: on_truncate(l, n->truncate_stmt); break;
	case PG_QUERY__NODE__NODE_DELETE_STMT:
		write_without_where(l, n->delete_stmt->relation, n->delete_stmt->where_clause, 0);
		break;
	case PG_QUERY__NODE__NODE_UPDATE_STMT:
		write_without_where(l, n->update_stmt->relation, n->update_stmt->where_clause, 1);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT: on_rename(l, n->rename_stmt); break;
	case PG_QUERY__NODE__NODE_LOCK_STMT: lock(l, n->lock_stmt); break;
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT: policy_lock(l, n->create_policy_stmt->table, "CREATE POLICY"); break;
	case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT: policy_lock(l, n->alter_policy_stmt->table, "ALTER POLICY"); break;
	case PG_QUERY__NODE__NODE_CREATEDB_STMT: outside_only(l, "CREATE DATABASE"); break;
	case PG_QUERY__NODE__NODE_DROPDB_STMT: outside_only(l, "DROP DATABASE"); break;
	case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT: outside_only(l, "ALTER SYSTEM"); break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT: outside_only(l, "CREATE TABLESPACE"); break;
	case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT: outside_only(l, "DROP TABLESPACE"); break;
	default: break;
	}
}

/* ---- what the statement creates ---- */

static void created(struct lint *l, const PgQuery__RangeVar *rv, int if_not_exists)
{
	char *key;
	const struct lint_rel *r;

	if (!rv)
		return;
	key = lint_key(rv);
	r = lint_rel_get(l, key);
	/* CREATE ... IF NOT EXISTS of a table the database has makes
	 * nothing new. */
	if (!(if_not_exists && r && r->found) && !gm_strlist_has(&l->created, key))
		gm_strlist_add(&l->created, key);
	free(key);
}

static void created_type(struct lint *l, PgQuery__Node *const *names, size_t n)
{
	char *key = lint_key_names(names, n);

	gm_strlist_add(&l->created_types, key);
	free(key);
}

static void renamed(struct lint *l, const PgQuery__RenameStmt *r)
{
	char *key, *to;

	if (r->rename_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE || !r->relation || !r->newname)
		return;
	key = lint_key(r->relation);
	to = gm_xasprintf("%s.%s", r->relation->schemaname && *r->relation->schemaname ? r->relation->schemaname : "public",
			  r->newname);
	if (lint_is_new(l, key) && !lint_is_new(l, to))
		gm_strlist_add(&l->created, to);
	free(key);
	free(to);
}

void lint_track(struct lint *l)
{
	const PgQuery__Node *n = l->cur->node;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		created(l, n->create_stmt->relation, n->create_stmt->if_not_exists);
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (n->create_table_as_stmt->into)
			created(l, n->create_table_as_stmt->into->rel, n->create_table_as_stmt->if_not_exists);
		break;
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		if (n->select_stmt->into_clause)
			created(l, n->select_stmt->into_clause->rel, 0);
		break;
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		created(l, n->view_stmt->view, 0);
		break;
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
		created_type(l, n->create_enum_stmt->type_name, n->create_enum_stmt->n_type_name);
		break;
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
		created_type(l, n->create_domain_stmt->domainname, n->create_domain_stmt->n_domainname);
		break;
	case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
		created_type(l, n->create_range_stmt->type_name, n->create_range_stmt->n_type_name);
		break;
	case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
		if (n->composite_type_stmt->typevar) {
			char *key = lint_key(n->composite_type_stmt->typevar);
			gm_strlist_add(&l->created_types, key);
			free(key);
		}
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		renamed(l, n->rename_stmt);
		break;
	default:
		break;
	}
}
