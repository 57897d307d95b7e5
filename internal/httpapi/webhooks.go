package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/latchauth/latch/internal/httpapi/accountsv3"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/webhook"
)

// WebhookPayload returns the renderer the dispatcher uses: each login
// event as {"event", "data": its user in the accounts-v3 shape,
// "triggeredAt"} (and "token" for a reset or verification request whose
// token is still usable), each lifecycle event as a LifecyclePayload; the
// user as it is when the event is first read for delivery (normally
// milliseconds after it; read and encoded once per batch, after the
// batch's events were written). A user deleted since is rendered with its
// id only.
func WebhookPayload(wh *identity.Webhooks) func(ctx context.Context, ds []*identity.Delivery) error {
	return func(ctx context.Context, ds []*identity.Delivery) error {
		users := map[string][]byte{}
		for _, d := range ds {
			if identity.IsLifecycleEvent(d.EventType) {
				p, err := lifecyclePayload(ctx, wh, d)
				if err != nil {
					return err
				}
				d.Payload = p
				continue
			}
			key := d.TenantID + "/" + d.UserID
			data, ok := users[key]
			if !ok {
				u, err := renderUser(ctx, wh, d.TenantID, d.UserID)
				if err != nil {
					return err
				}
				if data, err = json.Marshal(u); err != nil {
					return err
				}
				users[key] = data
			}
			// The same bytes as json.Marshal of the three fields, without
			// encoding the user again for every event.
			b := make([]byte, 0, len(data)+96)
			b = append(b, `{"event":`...)
			b = strconv.AppendQuote(b, d.EventType)
			b = append(b, `,"data":`...)
			b = append(b, data...)
			// A reset or verification request carries its token, so that
			// the application can send its own mail.
			tok, err := wh.EventToken(ctx, d.EventType, d.EventID)
			if err != nil {
				return err
			}
			if tok != "" {
				b = append(b, `,"token":`...)
				b = strconv.AppendQuote(b, tok)
			}
			b = append(b, `,"triggeredAt":"`...)
			b = d.EventAt.UTC().AppendFormat(b, time.RFC3339Nano)
			d.Payload = append(b, `"}`...)
		}
		return nil
	}
}

// LifecyclePayload is the webhook body of a lifecycle event (user.created,
// password.changed, mfa.enabled, session.revoked, …): latch's own events
// carry latch's own small shape rather than a dialect's user, the same
// envelope keys as the login events.
type LifecyclePayload struct {
	Event       string        `json:"event"`
	Data        LifecycleData `json:"data"`
	TriggeredAt time.Time     `json:"triggeredAt"`
}

// LifecycleData names the account a lifecycle event is about.
type LifecycleData struct {
	ID       string `json:"id"` // the user's id, where the login events' user has it
	TenantID string `json:"tenantId"`
	// Email is the user's email as the event recorded it, so that a
	// user.deleted still says whom it was; "" for an event pruned before
	// its first delivery.
	Email string `json:"email"`
	// SessionID is the session a session.revoked ended; null when the
	// event is about no one session (every other type, and an admin
	// revoking all of a user's sessions at once).
	SessionID *string `json:"sessionId"`
}

func lifecyclePayload(ctx context.Context, wh *identity.Webhooks, d *identity.Delivery) ([]byte, error) {
	subj, err := wh.EventSubject(ctx, d)
	if err != nil {
		return nil, err
	}
	data := LifecycleData{ID: subj.UserID, TenantID: subj.TenantID, Email: subj.Email}
	if subj.SessionID != "" {
		data.SessionID = &subj.SessionID
	}
	return json.Marshal(LifecyclePayload{Event: d.EventType, Data: data, TriggeredAt: d.EventAt.UTC()})
}

func renderUser(ctx context.Context, wh *identity.Webhooks, tenantID, userID string) (accountsv3.User, error) {
	u, org, parent, err := wh.EventUser(ctx, tenantID, userID)
	if err != nil {
		return accountsv3.User{}, err
	}
	return accountsv3.RenderUser(u, org, parent), nil
}

type webhookJSON struct {
	ID                  string   `json:"id"`
	URL                 string   `json:"url"`
	Events              []string `json:"events"`
	Signing             string   `json:"signing"`
	Status              string   `json:"status"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
	// FailingSince is the first failure since the last success (null
	// while healthy): the endpoint is suspended when it is older than
	// LATCH_WEBHOOK_SUSPEND_AFTER.
	FailingSince *time.Time `json:"failing_since"`
	// RetryAt is when a failing endpoint's new events are tried again.
	RetryAt   *time.Time `json:"retry_at"`
	Secret    string     `json:"secret,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func webhookOut(w *identity.WebhookEndpoint) webhookJSON {
	return webhookJSON{w.ID, w.URL, strs(w.Events), w.Signing, w.Status, w.ConsecutiveFailures, optTime(w.FailingSince), optTime(w.RetryAt),
		"", w.CreatedAt, w.UpdatedAt}
}

type attemptJSON struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error"`
	Response   string    `json:"response"`
}

type deliveryJSON struct {
	ID             string        `json:"id"`
	Event          string        `json:"event"`
	EventID        string        `json:"event_id"`
	Status         string        `json:"status"`
	Attempts       int           `json:"attempts"`
	LastStatusCode int           `json:"last_status_code"`
	LastError      string        `json:"last_error"`
	NextAttemptAt  *time.Time    `json:"next_attempt_at"`
	CreatedAt      time.Time     `json:"created_at"`
	Log            []attemptJSON `json:"log"`
}

func handleCreateWebhook(d Deps) http.Handler {
	return written(d, http.StatusCreated, func(r *http.Request, in identity.WebhookInput) (webhookJSON, error) {
		w, secret, err := d.Service.Webhooks.Create(r.Context(), tid(r), in, webhook.NewSecret)
		if err != nil {
			return webhookJSON{}, err
		}
		out := webhookOut(w)
		out.Secret = secret
		return out, nil
	}, func(w webhookJSON) webhookJSON { return w })
}

func handleListWebhooks(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) ([]*identity.WebhookEndpoint, error) {
		return d.Service.Webhooks.List(r.Context(), tid(r))
	}, func(ws []*identity.WebhookEndpoint) map[string]any {
		return map[string]any{"webhooks": mapSlice(ws, webhookOut)}
	})
}

func handleGetWebhook(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (*identity.WebhookEndpoint, error) {
		return d.Service.Webhooks.Get(r.Context(), tid(r), r.PathValue("wid"))
	}, webhookOut)
}

func handleUpdateWebhook(d Deps) http.Handler {
	return written(d, http.StatusOK, func(r *http.Request, in identity.WebhookInput) (*identity.WebhookEndpoint, error) {
		return d.Service.Webhooks.Update(r.Context(), tid(r), r.PathValue("wid"), in)
	}, webhookOut)
}

func handleDeleteWebhook(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error { return d.Service.Webhooks.Delete(r.Context(), tid(r), r.PathValue("wid")) })
}

func handleListDeliveries(d Deps) http.Handler {
	return paged(d, "deliveries", true, func(r *http.Request, p identity.Page) ([]deliveryJSON, string, error) {
		log, next, err := d.Service.Webhooks.DeliveryLog(r.Context(), tid(r), r.PathValue("wid"), p)
		if err != nil {
			return nil, "", err
		}
		out := make([]deliveryJSON, 0, len(log))
		for _, rec := range log {
			x := rec.Delivery
			dj := deliveryJSON{ID: x.ID, Event: x.EventType, EventID: x.EventID, Status: x.Status, Attempts: x.Attempts,
				LastStatusCode: x.LastStatusCode, LastError: x.LastError, CreatedAt: x.CreatedAt, Log: []attemptJSON{}}
			if x.Status == identity.DeliveryPending {
				dj.NextAttemptAt = optTime(x.NextAttemptAt)
			}
			for _, a := range rec.Attempts {
				dj.Log = append(dj.Log, attemptJSON{a.At, a.StatusCode, float64(a.Duration.Microseconds()) / 1000, a.Error, a.Response})
			}
			out = append(out, dj)
		}
		return out, next, nil
	}, func(x deliveryJSON) deliveryJSON { return x })
}

func handleTestWebhook(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (attemptJSON, error) {
		w, err := d.Service.Webhooks.Get(r.Context(), tid(r), r.PathValue("wid"))
		if err != nil {
			return attemptJSON{}, err
		}
		if d.Webhooks == nil {
			return attemptJSON{}, &identity.Error{Code: identity.EUNAVAILABLE, Message: "webhook delivery is not running in this process", RetryAfter: time.Minute}
		}
		a := d.Webhooks.Ping(r.Context(), w)
		return attemptJSON{a.At, a.StatusCode, float64(a.Duration.Microseconds()) / 1000, a.Error, a.Response}, nil
	}, func(a attemptJSON) attemptJSON { return a })
}
