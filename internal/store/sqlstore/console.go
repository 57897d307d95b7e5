package sqlstore

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

func scanConsoleSession(r Row) (*identity.ConsoleSession, error) {
	var cs identity.ConsoleSession
	var created, expires Time
	if err := r.Scan(&cs.IDHash, &cs.TokenMAC, &created, &expires, &cs.IP, &cs.UserAgent); err != nil {
		return nil, err
	}
	cs.CreatedAt, cs.ExpiresAt = created.Time, expires.Time
	return &cs, nil
}

// CreateConsoleSession implements identity.ConsoleSessionStore.
func (s Store) CreateConsoleSession(ctx context.Context, cs *identity.ConsoleSession) error {
	if err := Text("ip", cs.IP, "user_agent", cs.UserAgent); err != nil {
		return err
	}
	_, err := s.exec(ctx, "INSERT INTO console_sessions (id_hash, token_mac, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
		cs.IDHash, cs.TokenMAC, s.f.Time(cs.CreatedAt), s.f.Time(cs.ExpiresAt), cs.IP, cs.UserAgent)
	return err
}

// GetConsoleSession implements identity.ConsoleSessionStore.
func (s Store) GetConsoleSession(ctx context.Context, idHash []byte) (*identity.ConsoleSession, error) {
	return one(s, "console session", s.f.Read.QueryRow(ctx,
		"SELECT id_hash, token_mac, created_at, expires_at, ip, user_agent FROM console_sessions WHERE id_hash = $1", idHash), scanConsoleSession)
}

// DeleteConsoleSession implements identity.ConsoleSessionStore.
func (s Store) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	_, err := s.exec(ctx, "DELETE FROM console_sessions WHERE id_hash = $1", idHash)
	return err
}

// DeleteExpiredConsoleSessions implements identity.ConsoleSessionStore.
func (s Store) DeleteExpiredConsoleSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := s.exec(ctx, "DELETE FROM console_sessions WHERE expires_at <= $1", s.f.Time(now))
	return int(n), err
}
