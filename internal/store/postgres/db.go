package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a latch store on a PostgreSQL database. The SQL it shares with
// the other store runs through the embedded sqlstore.Store; its own
// methods are the fast paths (rotation in one statement, events as
// arrays, SKIP LOCKED claims) and the webhook cursor over transaction ids.
type DB struct {
	sqlstore.Store
	pool *pgxpool.Pool
}

var _ identity.Store = (*DB)(nil)

// Row encoding shared with the other SQL store (package sqlstore).
var (
	js       = sqlstore.JSON
	notFound = sqlstore.NotFound
)

// querier is what a pool and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Open connects to url (postgres://…), applies pending migrations under an
// advisory lock (so several instances may start at once), and returns the
// store. Without pool_max_conns in the URL the pool holds up to
// 4 × GOMAXPROCS connections (at least 8).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	cfg.HealthCheckPeriod = 10 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool}
	db.Store = sqlstore.New(sqlstore.Flavour{
		Read: conn{pool}, Exec: conn{pool}.Exec, Tx: func(ctx context.Context, fn func(sqlstore.Conn) error) error {
			return db.tx(ctx, func(tx pgx.Tx) error { return fn(conn{tx}) })
		},
		Time: tp, Duration: func(d time.Duration) any { return d },
		NoRows: noRows, Error: formatError, ForUpdate: " FOR UPDATE",
		UsernameTaken: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.ConstraintName == "users_username"
		},
		Passed: "(e.tx, e.id) <= (w.cursor_tx, w.cursor_id)", Subscribed: "w.events ? e.type",
		Later: func(a, b string) string { return "greatest(" + a + ", " + b + ")" },
		OrganisationIDs: `(SELECT string_agg(uo.organisation_id, ',' ORDER BY uo.organisation_id)
			FROM user_organisations uo WHERE uo.user_id = users.id)`,
		InsertUsers: insertUsers,
		// text_pattern_ops' operators, whatever the collation (migration 0010's index).
		Bytewise: sqlstore.Bytewise{GE: "~>=~", GT: "~>~", LT: "~<~", Order: "email_key USING ~<~"},
	})
	if _, err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return formatError(db.pool.Ping(ctx))
}

// Migrate applies pending migrations and returns the schema version.
// Concurrent callers (instances starting together) wait for each other on
// an advisory lock scoped to the current schema, so each migration runs
// once; running it again changes nothing.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	const key = "hashtext('latch-migrate:' || current_schema())"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
		return 0, fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")")
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
		return 0, fmt.Errorf("postgres: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	sort.Strings(names)
	for _, name := range names {
		var version int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%04d_", &version); err != nil {
			return 0, fmt.Errorf("postgres: migration name %s: %w", name, err)
		}
		body, _ := migrations.ReadFile(name)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", name, err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", version)
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	var v int
	err = conn.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// tx runs fn in a transaction, committing on nil.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return formatError(pgx.BeginFunc(ctx, db.pool, fn))
}

// formatError turns driver errors into identity codes, in this one place.
func formatError(err error) error {
	if err == nil || sqlstore.Coded(err) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return sqlstore.AlreadyExists(err)
		case pe.Code == "23503":
			return sqlstore.ReferenceMissing(err)
		case pe.Code == "22021", pe.Code == "22P05":
			// A NUL or a byte that is not UTF-8 reached the database: the
			// writes refuse them first (sqlstore.Text), so this is a read
			// that slipped through; it is the caller's input, not our fault.
			return &identity.Error{Code: identity.EINVALID, Message: "text must be valid UTF-8 and must not contain NUL characters", Err: err}
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"),
			pe.Code == "40001", pe.Code == "40P01":
			return unavailable(err)
		}
		return fmt.Errorf("postgres: %w", err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF") {
		return unavailable(err)
	}
	return fmt.Errorf("postgres: %w", err)
}

func unavailable(err error) error {
	return &identity.Error{Code: identity.EUNAVAILABLE, Message: "the database is unavailable", RetryAfter: time.Second, Err: err}
}

// tp encodes a time for a nullable column: the zero time is NULL.
func tp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// conn adapts a pool or a transaction to sqlstore.Conn.
type conn struct{ q querier }

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return c.q.Query(ctx, q, args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.q.QueryRow(ctx, q, args...)
}

// collect scans every row of a query with scan and closes them.
func collect[T any](rows pgx.Rows, err error, scan func(sqlstore.Row) (T, error)) ([]T, error) {
	out, err := sqlstore.Collect(rows, err, scan)
	return out, formatError(err)
}

func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
