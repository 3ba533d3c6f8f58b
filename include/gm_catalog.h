/* gm_catalog.h - the live schema, read into a model (gm_model.h). */
#ifndef GM_CATALOG_H
#define GM_CATALOG_H

#include <stddef.h>

#include "gm_model.h"

struct gm_db;
struct gm_error;

/* Reads every enum, table (RLS flags), column (type, NOT NULL, default),
 * constraint, index (definition, validity, columns), trigger, policy,
 * function (definition, SECURITY DEFINER, SET clauses), grant (on tables,
 * columns, views, sequences; not an owner's own), default privilege, view
 * (definition, the relations it reads, security_invoker and _barrier),
 * materialized view, sequence and extension of the given schemas, in one
 * query (two with the search_path it sets for the rest of the caller's
 * transaction, which must be open).  New kinds of object are named
 * "view S.V", "materialized view S.V", "sequence S.Q", "extension E",
 * "default privileges S KIND grant ROLE", and grants "<object> grant
 * ROLE" ("table S.T column C grant PUBLIC"): each sorts next to its
 * object. */
struct gm_error *gm_catalog_read(struct gm_db *db, char *const *schemas, size_t nschemas,
				 struct gm_model *out);

#endif
