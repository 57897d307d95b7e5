package identity

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook endpoint statuses: unhealthy after a failed
// delivery; suspended only when its deliveries have failed without a single
// success for the suspension period (LATCH_WEBHOOK_SUSPEND_AFTER), never
// because of a burst. A suspended endpoint keeps its events queued until an
// admin sets it healthy again.
const (
	WebhookHealthy   = "healthy"
	WebhookUnhealthy = "unhealthy"
	WebhookSuspended = "suspended"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // retried for the whole retry period without success
)

// WebhookEndpoint is a receiver of a tenant's events.
type WebhookEndpoint struct {
	ID                  string
	TenantID            string
	URL                 string
	Events              []string // event types delivered
	Signing             string   // webhook.SigningStandard or webhook.SigningAccountsV3
	SecretSealed        []byte   // the whsec_ secret, sealed (associated data: WebhookSealAD)
	Status              string
	ConsecutiveFailures int
	// FailingSince is the first failure since the endpoint's last success
	// (zero while it succeeds): suspension is decided by how long ago it was.
	FailingSince time.Time
	// RetryAt is when an unhealthy endpoint's event stream is tried again
	// (its retries keep their own schedule); zero when healthy.
	RetryAt   time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// Cursor is the endpoint's position in the event log: every event of
	// its tenant at or before it has been delivered or has become a retry.
	// Opaque; only the store that wrote it compares positions.
	Cursor string
}

// WebhookSealAD binds a sealed endpoint secret to its endpoint.
func WebhookSealAD(endpointID string) []byte { return []byte("webhook:" + endpointID) }

// DeliveryID is the id of an event's delivery to an endpoint.
func DeliveryID(eventID, endpointID string) string { return eventID + ":" + endpointID }

// LogEvent is an event as the dispatcher reads it from the log: what a
// delivery needs, and its position.
type LogEvent struct {
	Position  string // opaque, as WebhookEndpoint.Cursor
	ID        string
	TenantID  string
	UserID    string
	Type      string
	CreatedAt time.Time
}

// Delivery is one event on its way to one endpoint. Only deliveries that
// need remembering are rows (a failed attempt, its retries, a sample of
// successes); every other event after the endpoint's creation is listed
// from the log, delivered when the endpoint's cursor has passed it.
type Delivery struct {
	ID             string // DeliveryID(EventID, EndpointID)
	TenantID       string
	EndpointID     string
	EventID        string
	EventType      string
	UserID         string
	EventAt        time.Time
	Status         string
	Attempts       int // 0 for an event not yet tried
	NextAttemptAt  time.Time
	LastStatusCode int
	LastError      string
	Payload        []byte // rendered at the first attempt, then sent unchanged
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DeliveryAttempt is one POST to an endpoint, for the delivery log.
type DeliveryAttempt struct {
	DeliveryID string
	At         time.Time
	StatusCode int // 0 when no answer came
	Duration   time.Duration
	Error      string
	Response   string // the start of the answer's body
}

// AttemptRecord is an attempt the store must remember, written in one
// transaction with the delivery row it creates or updates and the
// endpoint's health: every failure, every retry, and sampled successes.
type AttemptRecord struct {
	// Delivery is the delivery with its new state: Status, NextAttemptAt
	// (pending), LastStatusCode, LastError, Payload.
	Delivery Delivery
	Attempt  DeliveryAttempt
	// RetryAt is, after a failure, when the endpoint's stream may be tried again.
	RetryAt time.Time
	// SuspendAfter is how long an endpoint fails without a success before
	// it is suspended.
	SuspendAfter time.Duration
	// RecoveredAfter: a success ending a failing period at least this long
	// makes the endpoint's pending retries due at once (the receiver is
	// back); a shorter one (one bad event among good ones) does not.
	RecoveredAfter time.Duration
}

// Delivered reports whether the attempt succeeded.
func (r *AttemptRecord) Delivered() bool { return r.Delivery.Status == DeliveryDelivered }

// EndpointHealth is an endpoint's health after an attempt was recorded.
type EndpointHealth struct {
	Status              string
	ConsecutiveFailures int
	FailingSince        time.Time
	RetryAt             time.Time
}

// WebhookEndpoints is what an admin does with a tenant's endpoints.
type WebhookEndpoints interface {
	// CreateWebhook stores a new endpoint whose cursor is the log's head:
	// it receives the events committed after it (and possibly a few that
	// committed concurrently with it), never the past.
	CreateWebhook(ctx context.Context, w *WebhookEndpoint) error
	GetWebhook(ctx context.Context, tenantID, id string) (*WebhookEndpoint, error)
	ListWebhooks(ctx context.Context, tenantID string) ([]*WebhookEndpoint, error)
	// UpdateWebhook replaces URL, events, signing, status and health; the
	// endpoint's pending retries become due at once (an admin changed or
	// re-enabled it). ENOTFOUND.
	UpdateWebhook(ctx context.Context, w *WebhookEndpoint) error
	// DeleteWebhook removes the endpoint and its deliveries. ENOTFOUND.
	DeleteWebhook(ctx context.Context, tenantID, id string) error
}

// WebhookDeliveries is what an admin reads of an endpoint's deliveries, and
// how one is sent again.
type WebhookDeliveries interface {
	// ListDeliveries returns an endpoint's deliveries, newest first: its
	// delivery rows and, for the events of its types since its creation
	// that have none, the log's view (delivered once the cursor passed
	// them, with Attempts 1 and no log; pending before).
	ListDeliveries(ctx context.Context, tenantID, endpointID string, p Page) ([]*Delivery, string, error)
	// ListDeliveryAttempts returns a delivery's attempts, newest first.
	ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]*DeliveryAttempt, error)
	// Redeliver makes the event's delivery to the endpoint pending and
	// due at now: a delivery row keeps its attempts and payload; without
	// one, a row is written from the event, which must be of the
	// endpoint's types and not older than the endpoint. It returns the
	// delivery as stored. ENOTFOUND when the endpoint or such an event
	// does not exist in the tenant.
	Redeliver(ctx context.Context, tenantID, endpointID, eventID string, now time.Time) (*Delivery, error)
}

// DispatchStore is what the webhook dispatcher reads and writes: leases
// on endpoints, their cursors over the event log, the deliveries worth
// remembering, and the pruning of both logs.
type DispatchStore interface {
	// ClaimEndpoints leases to owner, until now+lease, up to limit
	// endpoints that are not suspended, not leased by anyone (or whose
	// lease ran out), and have work: a pending delivery due at now, or
	// (when the endpoint's RetryAt has passed) events after its cursor. Of
	// concurrent callers on any instances, each endpoint goes to one.
	ClaimEndpoints(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*WebhookEndpoint, error)
	// ReadEvents returns up to limit events of the endpoint's tenant after
	// position after, in log order, while the endpoint exists and owner
	// holds its lease ("": nobody does); none otherwise, so that a deleted
	// endpoint or a lost lease sends nothing more. On PostgreSQL only
	// events below the oldest running transaction, so that none can commit
	// behind a cursor later.
	ReadEvents(ctx context.Context, owner, endpointID, after string, limit int) ([]*LogEvent, error)
	// DueDeliveries returns up to limit pending deliveries of the endpoint
	// due at now, and when the next one that is not yet due is (zero: none).
	DueDeliveries(ctx context.Context, endpointID string, now time.Time, limit int) ([]*Delivery, time.Time, error)
	// SaveCursor moves the endpoint's cursor forward to cursor (never
	// back) and extends owner's lease to now+lease, returning the endpoint
	// as stored (an admin may have changed it). ECONFLICT when owner no
	// longer holds the lease, ENOTFOUND when the endpoint is gone.
	SaveCursor(ctx context.Context, owner, endpointID, cursor string, now time.Time, lease time.Duration) (*WebhookEndpoint, error)
	// ReleaseEndpoint saves the cursor as SaveCursor does and gives the
	// lease up. A lease owner no longer holds is left alone.
	ReleaseEndpoint(ctx context.Context, owner, endpointID, cursor string) error
	// RecordAttempt writes an attempt worth remembering: the delivery row
	// (created, or updated with one more attempt), the attempt's log row
	// and the endpoint's health, together.
	RecordAttempt(ctx context.Context, r *AttemptRecord) (*EndpointHealth, error)
	// PruneDeliveries deletes up to limit delivered and failed delivery
	// rows (and their attempts) last touched before before.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneEvents looks at up to limit events after the scan position
	// after ("" at first), oldest first, and deletes those created before
	// before, except those an endpoint has not yet passed with its cursor.
	// It returns how many it deleted and where to go on from; "" when it
	// reached an event created at or after before, or the end.
	PruneEvents(ctx context.Context, before time.Time, after string, limit int) (deleted int, next string, err error)
}

// WebhookStore persists endpoints, their cursors over the event log and
// the deliveries worth remembering. Events are the outbox: written in the
// same transaction as the change they describe; an endpoint's cursor walks
// over them, so a delivered event costs no row at all.
type WebhookStore interface {
	WebhookEndpoints
	DispatchStore
	WebhookDeliveries
	// PendingDeliveries counts what is waiting: pending delivery rows and
	// the events of their types after the cursors (counted up to a cap).
	PendingDeliveries(ctx context.Context) (int, error)
}

// WebhookInput creates or patches an endpoint.
type WebhookInput struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Signing *string   `json:"signing"`
	Status  *string   `json:"status"`
}

// Signing schemes an endpoint may use, as package webhook names them.
var webhookSignings = []string{"standard-webhooks", "accounts-v3"}

func (in *WebhookInput) apply(w *WebhookEndpoint, create bool) error {
	if in.URL != nil || create {
		if in.URL == nil || *in.URL == "" {
			return Invalid("url", "is required")
		}
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(*in.URL) > 2048 {
			return Invalid("url", "must be an http:// or https:// URL without credentials, at most 2048 characters")
		}
		w.URL = *in.URL
	}
	if in.Events != nil || create {
		if in.Events == nil || len(*in.Events) == 0 {
			return Invalid("events", "name at least one of %s", strings.Join(EventTypes, ", "))
		}
		var evs []string
		for _, e := range *in.Events {
			if !slices.Contains(EventTypes, e) {
				return Invalid("events", "%q is not an event type; use %s", e, strings.Join(EventTypes, ", "))
			}
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
		}
		w.Events = evs
	}
	if in.Signing != nil {
		if !slices.Contains(webhookSignings, *in.Signing) {
			return Invalid("signing", "must be standard-webhooks or accounts-v3")
		}
		w.Signing = *in.Signing
	} else if create {
		w.Signing = webhookSignings[0]
	}
	if in.Status != nil {
		if create || *in.Status != WebhookHealthy {
			return Invalid("status", "can only be set to healthy, to re-enable an endpoint")
		}
		w.Status, w.ConsecutiveFailures, w.FailingSince, w.RetryAt = WebhookHealthy, 0, time.Time{}, time.Time{}
	} else if create {
		w.Status = WebhookHealthy
	}
	return nil
}

// Webhooks runs the admin use cases of webhook endpoints (audited as
// admin.webhook.<action>) and answers the dispatcher's questions: an
// endpoint's secret, and the user an event is about. Its fields are its
// dependencies; all must be set except EventsWritten.
type Webhooks struct {
	Runtime
	Tenants       TenantReader
	Users         UserReader
	Organisations OrganisationReader
	Endpoints     WebhookEndpoints
	Deliveries    WebhookDeliveries
	Sealer        Sealer      // seals endpoint secrets at rest, and account tokens for their deliveries
	AuditLog      EventLister // reads a lifecycle event's own data for its payload
	// AccountTokens finds the token an event announced (nil: none).
	AccountTokens interface {
		SealedAccountToken(ctx context.Context, eventID string) ([]byte, error)
	}
	// EventsWritten, when set, is called after a delivery was made due
	// again, to wake the webhook dispatcher at once.
	EventsWritten func()
}

// EventToken returns the one-time token that an event of type
// user.password-reset-requested or user.email-verification-requested
// announced, for its webhook delivery to carry, or "" when there is none
// (any more: a spent or retired token is not sent).
func (wh *Webhooks) EventToken(ctx context.Context, eventType, eventID string) (string, error) {
	if wh.AccountTokens == nil || (eventType != EventPasswordResetRequested && eventType != EventVerificationRequested) {
		return "", nil
	}
	sealed, err := wh.AccountTokens.SealedAccountToken(ctx, eventID)
	if ErrorCode(err) == ENOTFOUND {
		return "", nil
	} else if err != nil {
		return "", err
	}
	tok, err := wh.Sealer.Open(sealed, AccountTokenSealAD(eventID))
	if err != nil {
		return "", Internal(err)
	}
	return string(tok), nil
}

// Create validates in and stores a new endpoint with a fresh secret,
// returning the endpoint and the secret (shown this once).
func (wh *Webhooks) Create(ctx context.Context, tenantID string, in WebhookInput, newSecret func() string) (*WebhookEndpoint, string, error) {
	if _, err := wh.Tenants.GetTenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	now := wh.now()
	w := &WebhookEndpoint{ID: NewID(), TenantID: tenantID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(w, true); err != nil {
		return nil, "", err
	}
	secret := newSecret()
	w.SecretSealed = wh.Sealer.Seal([]byte(secret), WebhookSealAD(w.ID))
	if err := wh.Endpoints.CreateWebhook(ctx, w); err != nil {
		return nil, "", err
	}
	wh.audit(ctx, w.TenantID, "", "webhook", "created", w.ID, []string{"url", "events", "signing"})
	return w, secret, nil
}

// Update patches an endpoint; status "healthy" re-enables a suspended
// one (its queued deliveries go out again).
func (wh *Webhooks) Update(ctx context.Context, tenantID, id string, in WebhookInput) (*WebhookEndpoint, error) {
	w, err := wh.Endpoints.GetWebhook(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(w, false); err != nil {
		return nil, err
	}
	w.UpdatedAt = wh.now()
	if err := wh.Endpoints.UpdateWebhook(ctx, w); err != nil {
		return nil, err
	}
	wh.audit(ctx, w.TenantID, "", "webhook", "updated", w.ID, in.fields())
	return w, nil
}

// Secret opens an endpoint's secret for signing.
func (wh *Webhooks) Secret(w *WebhookEndpoint) (string, error) {
	plain, err := wh.Sealer.Open(w.SecretSealed, WebhookSealAD(w.ID))
	if err != nil {
		return "", Internal(err)
	}
	return string(plain), nil
}

// Delete removes an endpoint and its deliveries.
func (wh *Webhooks) Delete(ctx context.Context, tenantID, id string) error {
	tenantID, id, err := wellFormedIn("webhook", tenantID, id)
	if err != nil {
		return err
	}
	if err := wh.Endpoints.DeleteWebhook(ctx, tenantID, id); err != nil {
		return err
	}
	wh.audit(ctx, tenantID, "", "webhook", "deleted", id, nil)
	return nil
}

// List returns the tenant's endpoints; ENOTFOUND when the tenant does
// not exist.
func (wh *Webhooks) List(ctx context.Context, tenantID string) ([]*WebhookEndpoint, error) {
	t, err := getTenant(ctx, wh.Tenants, tenantID)
	if err != nil {
		return nil, err
	}
	return wh.Endpoints.ListWebhooks(ctx, t.ID)
}

// Get returns an endpoint of the tenant; ENOTFOUND when there is none,
// or when either id is not an id at all.
func (wh *Webhooks) Get(ctx context.Context, tenantID, id string) (*WebhookEndpoint, error) {
	tenantID, id, err := wellFormedIn("webhook", tenantID, id)
	if err != nil {
		return nil, err
	}
	return wh.Endpoints.GetWebhook(ctx, tenantID, id)
}

// DeliveryRecord is a delivery with its logged attempts, newest first.
type DeliveryRecord struct {
	Delivery *Delivery
	Attempts []*DeliveryAttempt
}

// DeliveryLog returns a page of an endpoint's deliveries, newest first,
// each with its logged attempts (a delivery listed from the event log has
// none: it went through on its first attempt, or has not been tried).
func (wh *Webhooks) DeliveryLog(ctx context.Context, tenantID, webhookID string, p Page) ([]DeliveryRecord, string, error) {
	w, err := wh.Get(ctx, tenantID, webhookID)
	if err != nil {
		return nil, "", err
	}
	ds, next, err := wh.Deliveries.ListDeliveries(ctx, w.TenantID, w.ID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]DeliveryRecord, 0, len(ds))
	for _, d := range ds {
		as, err := wh.Deliveries.ListDeliveryAttempts(ctx, d.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, DeliveryRecord{Delivery: d, Attempts: as})
	}
	return out, next, nil
}

// Redeliver sends an event to an endpoint once more: its delivery is
// made pending and due now (kept with its attempts and first payload when
// it has a row, else written from the event), and the dispatcher is woken.
// Its attempts are logged, the first and any retries on the usual
// schedule while the event is younger than the retry period. A suspended
// endpoint sends it once re-enabled. ENOTFOUND when the endpoint, or an
// event of its types since its creation, does not exist (retention may
// have removed it). Audited as admin.delivery.redelivered.
func (wh *Webhooks) Redeliver(ctx context.Context, tenantID, webhookID, eventID string) (*Delivery, error) {
	w, err := wh.Get(ctx, tenantID, webhookID)
	if err != nil {
		return nil, err
	}
	if eventID, err = wellFormed("event", eventID); err != nil {
		return nil, err
	}
	d, err := wh.Deliveries.Redeliver(ctx, w.TenantID, w.ID, eventID, wh.now())
	if err != nil {
		return nil, err
	}
	if wh.EventsWritten != nil {
		wh.EventsWritten()
	}
	wh.audit(ctx, w.TenantID, "", "delivery", "redelivered", d.ID, nil, "webhook_id", w.ID, "event_id", d.EventID)
	return d, nil
}

// LifecycleSubject is what a lifecycle event's webhook payload shows
// besides its user's id: the tenant, the user's email as the event
// recorded it (a deleted user's too) and the session it is about, if any.
type LifecycleSubject struct {
	TenantID  string
	UserID    string
	Email     string
	SessionID string
}

// EventSubject returns the subject of the lifecycle event a delivery
// carries, read from the event itself. An event pruned since (see
// LATCH_EVENT_RETENTION) yields its ids only.
func (wh *Webhooks) EventSubject(ctx context.Context, d *Delivery) (*LifecycleSubject, error) {
	subj := &LifecycleSubject{TenantID: d.TenantID, UserID: d.UserID}
	evs, _, err := wh.AuditLog.ListEvents(ctx, d.TenantID, EventFilter{ID: d.EventID}, Page{Limit: 1})
	if err != nil || len(evs) == 0 {
		return subj, err
	}
	subj.Email, _ = evs[0].Data["email"].(string)
	subj.SessionID = evs[0].SessionID
	return subj, nil
}

// EventUser returns what a webhook payload shows of the user an event is
// about: the user, its first organisation and that one's parent (nil when
// absent). A user deleted since the event is returned with its id only;
// an event about no user ("") yields an empty user.
func (wh *Webhooks) EventUser(ctx context.Context, tenantID, userID string) (u *User, org, parent *Organisation, err error) {
	if userID == "" {
		return &User{}, nil, nil, nil
	}
	u, err = wh.Users.GetUser(ctx, tenantID, userID)
	if ErrorCode(err) == ENOTFOUND {
		return &User{ID: userID}, nil, nil, nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	orgs, err := userOrganisations(ctx, wh.Organisations, u)
	if err != nil || len(orgs) == 0 {
		return u, nil, nil, err
	}
	org = orgs[0]
	if org.ParentID != "" {
		if parent, err = wh.Organisations.GetOrganisation(ctx, tenantID, org.ParentID); ErrorCode(err) == ENOTFOUND {
			parent = nil
		} else if err != nil {
			return nil, nil, nil, err
		}
	}
	return u, org, parent, nil
}
