package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a latch store on one SQLite file. The SQL it shares with the
// other store runs through the embedded sqlstore.Store; its own methods
// are the fast paths (prepared hot statements, group commit) and the
// webhook cursor over the events' seq.
type DB struct {
	sqlstore.Store
	w *sql.DB // one connection: every write
	r *sql.DB // read-only pool
	// Hot-path statements, prepared once: parsing SQL costs more than
	// running these queries (database/sql caches them per connection).
	getSession, getTenant, getUser, getUserByEmail, getOwners *sql.Stmt
	advance, touchUser, insertEvent                           *sql.Stmt
	claimable, readEvents                                     *sql.Stmt // webhooks.go: the dispatcher's frequent reads

	advances chan *advanceReq // group commit of rotations (groupcommit.go)
	quit     chan struct{}
	loopDone chan struct{}
	stopOnce sync.Once
}

var _ identity.Store = (*DB)(nil)

// Row encoding shared with the other SQL store (package sqlstore).
var (
	js       = sqlstore.JSON
	notFound = sqlstore.NotFound
)

// Open opens (creating if needed) the database at path and applies any
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetMaxIdleConns(1)
	db := &DB{w: w}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.r = r
	db.Store = sqlstore.New(sqlstore.Flavour{
		Read: conn{r}, Exec: db.exec, Tx: func(ctx context.Context, fn func(sqlstore.Conn) error) error {
			return db.tx(ctx, func(tx *sql.Tx) error { return fn(conn{tx}) })
		},
		Time: tm, Duration: func(d time.Duration) any { return d.Microseconds() },
		NoRows: func(err error) bool { return errors.Is(err, sql.ErrNoRows) }, Error: formatError,
		UsernameTaken: func(err error) bool { return strings.Contains(err.Error(), "username_key") },
		Passed:        "e.seq <= w.cursor_seq", Subscribed: "e.type IN (SELECT value FROM json_each(w.events))",
		Later: func(a, b string) string { return "MAX(" + a + ", COALESCE(" + b + ", 0))" },
		// An aggregate over an ordered subquery keeps its order in SQLite,
		// and is faster there than string_agg(… ORDER BY …).
		OrganisationIDs: `(SELECT group_concat(organisation_id) FROM (SELECT uo.organisation_id FROM user_organisations uo
			WHERE uo.user_id = users.id ORDER BY uo.organisation_id))`,
		InsertUsers: db.insertUsers,
		// Text columns compare with BINARY, byte by byte.
		Bytewise: sqlstore.Bytewise{GE: ">=", GT: ">", LT: "<", Order: "email_key"},
	})
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.startCommitter()
	return db, nil
}

func (db *DB) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst  **sql.Stmt
		pool *sql.DB
		q    string
	}{
		{&db.getSession, db.r, "SELECT " + sqlstore.SessionCols + " FROM sessions WHERE id = ?"},
		{&db.getTenant, db.r, "SELECT " + sqlstore.TenantCols + " FROM tenants WHERE id = ?"},
		{&db.getUser, db.r, "SELECT " + db.UserCols() + " FROM users WHERE tenant_id = ? AND id = ?"},
		{&db.getUserByEmail, db.r, "SELECT " + db.UserCols() + " FROM users WHERE tenant_id = ? AND email_key = ?"},
		{&db.getOwners, db.r, numbered(db.OwnersSQL())},
		{&db.advance, db.w, `UPDATE sessions SET generation = generation + 1, rotated_at = ?, last_seen_at = ?
			WHERE id = ? AND generation = ? AND revoked_at IS NULL RETURNING user_id`},
		{&db.touchUser, db.w, "UPDATE users SET last_seen_at = ?1 WHERE id = ?2 AND (last_seen_at IS NULL OR last_seen_at < ?1 - 60000000)"},
		{&db.insertEvent, db.w, "INSERT INTO events (id, tenant_id, user_id, session_id, type, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)"},
		{&db.claimable, db.r, claimableSQL},
		{&db.readEvents, db.r, readEventsSQL},
	} {
		st, err := p.pool.PrepareContext(ctx, p.q)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stopCommitter()
	for _, st := range []*sql.Stmt{db.getSession, db.getTenant, db.getUser, db.getUserByEmail, db.getOwners, db.advance, db.touchUser, db.insertEvent, db.claimable, db.readEvents} {
		if st != nil {
			st.Close()
		}
	}
	var rerr error
	if db.r != nil {
		rerr = db.r.Close()
	}
	return errors.Join(rerr, db.w.Close())
}

// Ping checks that the file can be read.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Migrate applies pending migrations; Open already does, so this exists
// for `latch migrate`, which reports the version.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	if err := db.migrate(ctx); err != nil {
		return 0, err
	}
	var v int
	err := db.w.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var version int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%04d_", &version); err != nil {
			return fmt.Errorf("sqlite: migration name %s: %w", name, err)
		}
		body, _ := migrations.ReadFile(name)
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, tm(time.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing on nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return formatError(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return formatError(err)
	}
	return formatError(tx.Commit())
}

// SetMetaIfAbsent stores value under key unless a value exists, and returns
// the value in force, so that concurrent starts agree on one.
func (db *DB) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	var v string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	})
	return v, err
}

// formatError turns driver errors into identity codes, in this one place.
func formatError(err error) error {
	if err == nil || sqlstore.Coded(err) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return sqlstore.AlreadyExists(err)
	case strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return sqlstore.ReferenceMissing(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case strings.Contains(msg, "SQLITE_BUSY"), strings.Contains(msg, "database is locked"):
		return &identity.Error{Code: identity.EUNAVAILABLE, Message: "the database is busy", RetryAfter: time.Second, Err: err}
	}
	return fmt.Errorf("sqlite: %w", err)
}

// tm encodes a time as UTC microseconds; the zero time is NULL.
func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// exec runs one statement as a write transaction of its own.
func (db *DB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = conn{tx}.Exec(ctx, q, args...)
		return err
	})
	return n, err
}

// conn adapts a pool or a transaction to sqlstore.Conn.
type conn struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, numbered(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.q.QueryContext(ctx, numbered(q), args...)
	return sqlRows{rows}, err
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.q.QueryRowContext(ctx, numbered(q), args...)
}

// sqlRows is *sql.Rows as sqlstore.Rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// numbered writes the shared SQL's placeholders $1, $2, … as ?1, ?2, …,
// which SQLite binds to the same arguments.
func numbered(q string) string {
	b := []byte(q)
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '$' && b[i+1] >= '0' && b[i+1] <= '9' {
			b[i] = '?'
		}
	}
	return string(b)
}

// collect scans every row of a query with scan and closes them.
func collect[T any](rows *sql.Rows, err error, scan func(sqlstore.Row) (T, error)) ([]T, error) {
	out, err := sqlstore.Collect(sqlRows{rows}, err, scan)
	return out, formatError(err)
}
