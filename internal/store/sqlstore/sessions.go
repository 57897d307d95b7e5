package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// SessionCols are a session's columns as SessionScanner reads them,
// qualified so that OwnersSQL can join them.
const SessionCols = `sessions.id, sessions.tenant_id, sessions.user_id, sessions.generation, sessions.created_at,
	sessions.expires_at, sessions.last_seen_at, sessions.rotated_at, sessions.revoked_at, sessions.revoke_reason,
	sessions.user_agent, sessions.origin, sessions.ip, sessions.dialect, sessions.amr, sessions.device_name, sessions.kind`

// ScanSession reads SessionCols.
func ScanSession(r Row) (*identity.Session, error) { return scanWith(r, SessionScanner) }

// SessionScanner returns a session, the destinations of SessionCols and
// what to do once they are filled.
func SessionScanner() (*identity.Session, []any, func() error) {
	var x identity.Session
	var amr string
	var created, expires, seen, rotated, revoked Time
	return &x, []any{&x.ID, &x.TenantID, &x.UserID, &x.Generation, &created, &expires, &seen, &rotated, &revoked,
			&x.RevokeReason, &x.UserAgent, &x.Origin, &x.IP, &x.Dialect, &amr, &x.DeviceName, &x.Kind}, func() error {
			x.CreatedAt, x.ExpiresAt, x.LastSeenAt, x.RotatedAt, x.RevokedAt = created.Time, expires.Time, seen.Time, rotated.Time, revoked.Time
			return amrJSON.decode(amr, &x.AMR)
		}
}

// OwnersSQL reads a session with its tenant and its user in one statement
// (identity.LoginSessions): a refresh needs all three, and one read
// instead of three is most of the difference in its throughput.
func (s Store) OwnersSQL() string {
	return "SELECT " + SessionCols + ", " + TenantCols + ", " + s.userCols + ` FROM sessions
	JOIN tenants ON tenants.id = sessions.tenant_id
	JOIN users ON users.id = sessions.user_id AND users.tenant_id = sessions.tenant_id
	WHERE sessions.id = $1`
}

// ScanOwners reads what OwnersSQL selects.
func ScanOwners(r Row) (*identity.Session, *identity.Tenant, *identity.User, error) {
	sess, sd, sf := SessionScanner()
	t, td, tf := TenantScanner()
	u, ud, uf := UserScanner()
	if err := r.Scan(append(append(sd, td...), ud...)...); err != nil {
		return nil, nil, nil, err
	}
	if err := errors.Join(sf(), tf(), uf()); err != nil {
		return nil, nil, nil, err
	}
	return sess, t, u, nil
}

// GetSessionWithOwners implements identity.LoginSessions.
func (s Store) GetSessionWithOwners(ctx context.Context, id string) (*identity.Session, *identity.Tenant, *identity.User, error) {
	return s.Owners(s.f.Read.QueryRow(ctx, s.owners, id))
}

// Owners reads a row of OwnersSQL, with the store's errors: ENOTFOUND
// when the session, its tenant or its user is missing.
func (s Store) Owners(row Row) (*identity.Session, *identity.Tenant, *identity.User, error) {
	sess, t, u, err := ScanOwners(row)
	if s.f.NoRows(err) {
		return nil, nil, nil, NotFound("session")
	}
	return sess, t, u, s.f.Error(err)
}

// GetSession implements identity.LoginSessions.
func (s Store) GetSession(ctx context.Context, id string) (*identity.Session, error) {
	return s.Session(s.f.Read.QueryRow(ctx, "SELECT "+SessionCols+" FROM sessions WHERE id = $1", id))
}

// Session reads a row of SessionCols, with the store's errors.
func (s Store) Session(row Row) (*identity.Session, error) {
	return one(s, "session", row, ScanSession)
}

// LoginText checks, before a login's transaction, every text a session
// write keeps (see Text).
func LoginText(x *identity.Session, w identity.SessionWrite) error {
	return errors.Join(SessionText(x), SessionText(w.Grant), EventText(w.Events),
		Text("password_hash", w.NewPasswordHash, "address", w.KnownAddress))
}

// WriteLogin writes, in a login's transaction tx, all of
// identity.LoginSessions.CreateSession but the events (each store appends
// them its own fastest way). The user's row is written first: with
// w.Checked, that write is the compare-and-swap on the hash and status the
// login verified, and it holds the row until the commit (where rows lock,
// an UPDATE that waited for a concurrent password change re-checks its
// WHERE on the committed row; SQLite's one writer serialises them), so two
// logins of one user take their turns, and the second sees the first's
// grant of a device and revokes it instead of colliding with it on the
// index sessions_live_grant.
func (s Store) WriteLogin(ctx context.Context, tx Conn, x *identity.Session, w identity.SessionWrite) error {
	at := s.f.Time(x.CreatedAt)
	if c := w.Checked; c != nil {
		hash := c.PasswordHash
		if w.NewPasswordHash != "" {
			hash = w.NewPasswordHash
		}
		n, err := tx.Exec(ctx, `UPDATE users SET last_login_at = $1, last_seen_at = $1, password_hash = $2,
			updated_at = CASE WHEN password_hash = $2 THEN updated_at ELSE $1 END
			WHERE id = $3 AND password_hash = $4 AND status = $5`, at, hash, x.UserID, c.PasswordHash, c.Status)
		if err != nil {
			return err
		}
		if n == 0 {
			return UserChanged()
		}
	} else if _, err := tx.Exec(ctx, "UPDATE users SET last_login_at = $1, last_seen_at = $1 WHERE id = $2", at, x.UserID); err != nil {
		return err
	}
	for _, sess := range []*identity.Session{x, w.Grant} {
		if err := s.insertSession(ctx, tx, sess); err != nil {
			return err
		}
	}
	if w.KnownAddress == "" {
		return nil
	}
	return s.rememberAddress(ctx, tx, x.UserID, w.KnownAddress, x.CreatedAt)
}

// insertSession inserts x; a grant first revokes the live grant of its
// device (the partial unique index sessions_live_grant holds the rule). A
// nil x inserts nothing.
func (s Store) insertSession(ctx context.Context, tx Conn, x *identity.Session) error {
	if x == nil {
		return nil
	}
	if x.Kind == identity.SessionReauth {
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2
			WHERE tenant_id = $3 AND user_id = $4 AND device_name = $5 AND kind = $6 AND revoked_at IS NULL`,
			s.f.Time(x.CreatedAt), identity.ReasonGrantReplaced, x.TenantID, x.UserID, x.DeviceName, x.Kind); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, tenant_id, user_id, generation, created_at, expires_at, last_seen_at,
		rotated_at, revoked_at, revoke_reason, user_agent, origin, ip, dialect, amr, device_name, kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		x.ID, x.TenantID, x.UserID, x.Generation, s.f.Time(x.CreatedAt), s.f.Time(x.ExpiresAt), s.f.Time(x.LastSeenAt),
		s.f.Time(x.RotatedAt), s.f.Time(x.RevokedAt), x.RevokeReason, x.UserAgent, x.Origin, x.IP, x.Dialect, JSON(x.AMR), x.DeviceName, x.Kind)
	return err
}

// RevokeUserSessions implements identity.UserSessions.
func (s Store) RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time, reason string, events func(int) []identity.Event) (int, error) {
	if err := Text("revoke_reason", reason); err != nil {
		return 0, err
	}
	var n int64
	err := s.f.Tx(ctx, func(tx Conn) error {
		var err error
		if n, err = tx.Exec(ctx, "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE tenant_id = $3 AND user_id = $4 AND revoked_at IS NULL",
			s.f.Time(now), reason, tenantID, userID); err != nil || events == nil {
			return err
		}
		evs := events(int(n))
		if err := EventText(evs); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, evs)
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// RevokeDeviceSessions implements identity.LoginSessions.
func (s Store) RevokeDeviceSessions(ctx context.Context, tenantID, userID, device, kind string, now time.Time, reason string) (int, error) {
	if err := Text("device_name", device, "revoke_reason", reason); err != nil {
		return 0, err
	}
	n, err := s.exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2
		WHERE tenant_id = $3 AND user_id = $4 AND device_name = $5 AND kind = $6 AND revoked_at IS NULL`,
		s.f.Time(now), reason, tenantID, userID, device, kind)
	return int(n), err
}

// ListUserSessions implements identity.UserSessions.
// Session ids are time-ordered (UUIDv7), so the id orders the page and
// is its cursor, as for events.
func (s Store) ListUserSessions(ctx context.Context, tenantID, userID string, p identity.Page) ([]*identity.Session, string, error) {
	before, err := AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := Limit(p)
	out, err := list(ctx, s, ScanSession, "SELECT "+SessionCols+` FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND ($3 = '' OR id < $3)
		ORDER BY id DESC LIMIT $4`, tenantID, userID, before, n+1)
	if err != nil {
		return nil, "", err
	}
	return Page(out, n, func(x *identity.Session) string { return x.ID })
}
