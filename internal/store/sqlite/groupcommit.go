package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

// Refresh rotations are the hot write path. SQLite commits one transaction
// at a time, and each commit costs more than the rotation's statements, so
// rotations that arrive while one commits are gathered into the next
// transaction together (group commit). Each keeps its own compare-and-swap;
// an unexpected error rolls the whole batch back and is reported to all.

const maxBatch = 128

var errClosed = errors.New("sqlite: store closed")

type advanceReq struct {
	ctx    context.Context
	id     string
	from   int64
	now    time.Time
	events []identity.Event
	done   chan error
}

func (db *DB) startCommitter() {
	db.advances = make(chan *advanceReq)
	db.quit = make(chan struct{})
	db.loopDone = make(chan struct{})
	go db.commitLoop()
}

func (db *DB) stopCommitter() {
	if db.quit != nil {
		db.stopOnce.Do(func() { close(db.quit) })
		<-db.loopDone
	}
}

func (db *DB) commitLoop() {
	defer close(db.loopDone)
	for {
		var first *advanceReq
		select {
		case first = <-db.advances:
		case <-db.quit:
			return
		}
		batch := []*advanceReq{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-db.advances:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		db.commitBatch(batch)
	}
}

func (db *DB) commitBatch(batch []*advanceReq) {
	results := make([]error, len(batch))
	ctx := context.Background() // the batch outlives any one caller's context
	err := db.tx(ctx, func(tx *sql.Tx) error {
		advance, touch := tx.StmtContext(ctx, db.advance), tx.StmtContext(ctx, db.touchUser)
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i] = err // the caller left; write nothing for it
				continue
			}
			var userID string
			err := advance.QueryRowContext(ctx, tm(r.now), tm(r.now), r.id, r.from).Scan(&userID)
			if errors.Is(err, sql.ErrNoRows) {
				results[i] = &identity.Error{Code: identity.ECONFLICT, Message: "session moved on or was revoked"}
				continue
			} else if err != nil {
				return err
			}
			if _, err := touch.ExecContext(ctx, tm(r.now), userID); err != nil {
				return err
			}
			if err := db.insertEvents(ctx, tx, r.events); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- results[i]
		}
	}
}

// AdvanceSession implements identity.SessionStore. The WHERE clause on the
// generation is the compare-and-swap; the write joins the next group commit.
func (db *DB) AdvanceSession(ctx context.Context, id string, from int64, now time.Time, events []identity.Event) error {
	if err := sqlstore.EventText(events); err != nil {
		return err
	}
	r := &advanceReq{ctx: ctx, id: id, from: from, now: now, events: events, done: make(chan error, 1)}
	select {
	case db.advances <- r:
	case <-db.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, wait for the verdict even if ctx ends, so the
	// answer says what was written.
	return <-r.done
}
