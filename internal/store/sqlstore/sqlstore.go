// Package sqlstore holds what latch's SQL stores do alike: the plain reads
// and writes of tenants, organisations, users, sessions, API keys, signing
// keys, events and second factors, written once with PostgreSQL's numbered
// placeholders (dex's storage/sql translates placeholders per flavour the
// same way); the columns and scanners of every row both read; and how
// rows are encoded (JSON columns, list cursors, pages, the not-found
// error, the text rule). Each store embeds a Store over its driver and
// keeps its own fast paths: SQLite's group commit and prepared hot
// statements, PostgreSQL's single-statement rotation and SKIP LOCKED
// claims, and each one's webhook cursors.
package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Conn runs SQL written with numbered placeholders ($1, $2, …) on a pool
// or in a transaction. Each store adapts its driver to it; SQLite's
// adapter writes them ?1, ?2, …, which SQLite binds alike.
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is one result row (database/sql's and pgx's both are).
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Flavour is what differs between the databases for the statements of
// this package.
type Flavour struct {
	Read Conn // reads
	// Exec runs one statement that returns no rows as a write transaction
	// of its own.
	Exec func(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// Tx runs fn in a write transaction, committing when it returns nil;
	// its error comes back through Error.
	Tx func(ctx context.Context, fn func(tx Conn) error) error
	// Time is a time as the driver takes it, the zero time as NULL;
	// Duration a length of time, as the difference of two Times is.
	Time     func(time.Time) any
	Duration func(time.Duration) any
	// NoRows reports whether err is the driver's "no rows".
	NoRows func(err error) bool
	// Error turns a driver error into identity's codes (the store's
	// formatError).
	Error func(err error) error
	// ForUpdate ends a SELECT whose rows a write transaction must lock
	// against concurrent writers (" FOR UPDATE"); "" where one writer at
	// a time is all there is (SQLite).
	ForUpdate string
	// UsernameTaken reports whether a unique violation on a user write is
	// about its user name (else it is about its email).
	UsernameTaken func(err error) bool
	// Passed is the SQL condition that event e is at or before endpoint
	// w's cursor (each store keeps its own cursor: SQLite the events'
	// seq, PostgreSQL their transaction ids); Subscribed the condition
	// that w subscribed to e's type; Later the later of two time
	// expressions, the second NULL when the endpoint is not held back.
	Passed, Subscribed string
	Later              func(a, b string) string
	// OrganisationIDs is the SQL that lists the organisation ids of the
	// user of users' row, comma-separated in id order (each database has
	// its fastest form of it).
	OrganisationIDs string
	// Bytewise compares text byte by byte (in code point order), whatever
	// the database's collation, with operators and an order an index on
	// users' (tenant_id, email_key) serves: searches by email prefix are
	// ranges of it.
	Bytewise Bytewise
	// InsertUsers inserts user rows in tx, skipping each that conflicts
	// with a unique key (ON CONFLICT DO NOTHING), and reports which it
	// inserted: the bulk path of ImportUsers.
	InsertUsers func(ctx context.Context, tx Conn, users []*identity.User) ([]bool, error)
}

// Bytewise are the operators >=, > and < of a byte-wise comparison, and
// the ORDER BY clause that sorts email_key so.
type Bytewise struct{ GE, GT, LT, Order string }

// Store runs the statements both stores share. A store embeds it and
// declares its own methods where it has a faster path.
type Store struct {
	f        Flavour
	userCols string // the columns UserScanner reads
	owners   string // OwnersSQL
}

// New returns a Store over f.
func New(f Flavour) Store {
	s := Store{f: f, userCols: userCols(f.OrganisationIDs)}
	s.owners = s.OwnersSQL()
	return s
}

// exec runs one write statement and formats its error.
func (s Store) exec(ctx context.Context, q string, args ...any) (int64, error) {
	n, err := s.f.Exec(ctx, q, args...)
	return n, s.f.Error(err)
}

// changed runs a conditional write and reports whether it changed a row.
func (s Store) changed(ctx context.Context, q string, args ...any) (bool, error) {
	n, err := s.exec(ctx, q, args...)
	return n == 1, err
}

// execFound runs a write of one named row: ENOTFOUND when there is none.
func (s Store) execFound(ctx context.Context, what, q string, args ...any) error {
	n, err := s.exec(ctx, q, args...)
	if err == nil && n == 0 {
		return NotFound(what)
	}
	return err
}

// one reads one row with scan: ENOTFOUND (what) when there is none.
func one[T any](s Store, what string, row Row, scan func(Row) (T, error)) (T, error) {
	v, err := scan(row)
	if s.f.NoRows(err) {
		return v, NotFound(what)
	}
	return v, s.f.Error(err)
}

// list reads every row of a query with scan.
func list[T any](ctx context.Context, s Store, scan func(Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.f.Read.Query(ctx, q, args...)
	out, err := Collect(rows, err, scan)
	return out, s.f.Error(err)
}

// Collect scans every row of rows with scan and closes them; err is the
// query's own, returned as it is.
func Collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Time is a time column as either database returns it: SQLite's UTC
// microseconds (INTEGER), PostgreSQL's timestamptz. NULL is the zero
// time; every time comes back in UTC.
type Time struct{ time.Time }

// Scan implements sql.Scanner (pgx takes it too).
func (t *Time) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.Time = time.UnixMicro(v).UTC()
	case time.Time:
		t.Time = v.UTC()
	default:
		return fmt.Errorf("sqlstore: a time column holds %T", v)
	}
	return nil
}

// scanWith scans one row through a scanner's destinations and finisher.
func scanWith[T any](r Row, scanner func() (T, []any, func() error)) (T, error) {
	v, dests, finish := scanner()
	if err := r.Scan(dests...); err != nil {
		var zero T
		return zero, err
	}
	return v, finish()
}
