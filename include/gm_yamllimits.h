/* gm_yamllimits.h - how big a YAML migration may get once its aliases are
 * expanded (see LIMITS in garage-migrate(5)).
 *
 * An alias (*name) repeats the node anchored as &name, and whatever walks
 * the document walks every repetition: one anchored table holding N
 * policies of N roles, referenced from N tables, turns a 12 KB file into
 * hundreds of megabytes of SQL.  So the expanded document is measured from
 * libyaml's event stream before anything is built from it (an alias counts
 * as its anchor's whole node), and a file past any limit is an error at the
 * node or alias that crossed it.
 *
 * No honest migration comes near: the project's largest,
 * 0008_add_ai_garage_rls_policies.yaml, is 5 levels deep and has 243 nodes,
 * 5.5 KB of text and no anchor.  The limits bound what any file can cost:
 * a file at every limit at once loads in a fraction of a second and tens
 * of MB (before, 24 KB of aliases took 10 s and more than 2 GB). */
#ifndef GM_YAMLLIMITS_H
#define GM_YAMLLIMITS_H

/* Nested mappings and lists, the root counting as 1; an alias counts as
 * deep as its anchor's node reaches.  A migration needs 5. */
#define GM_YAML_MAX_DEPTH 64

/* Nodes (mappings, lists, single values) after alias expansion. */
#define GM_YAML_MAX_NODES 100000

/* Bytes of all single values (keys included) after alias expansion: what
 * the generated SQL is made of.  Bulk SQL belongs in a .sql migration. */
#define GM_YAML_MAX_TEXT (16u << 20)
#define GM_YAML_MAX_TEXT_TEXT "16 MiB"

/* Anchors (&name).  libyaml looks each alias up among all anchors one by
 * one, so their number times the file's size bounds that work: 30,000
 * anchors and as many aliases took 15 s; at 100, a 20 MB file of aliases
 * takes 0.6 s (1.9 s at 1,000). */
#define GM_YAML_MAX_ANCHORS 100

#endif
