// Package postgres is the latch store on PostgreSQL (pgx/v5, pgxpool), for
// production and for several instances on one database. Every promise of
// the identity store interfaces is kept in SQL (compare-and-swap in UPDATE
// … WHERE, row locks, single-statement writes), never in process memory,
// so that any number of instances agree. It passes store/storetest.
package postgres
