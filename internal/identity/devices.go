package identity

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ReauthLifetime is how long a device's re-authentication token lives
// (the token-login contract).
const ReauthLifetime = 30 * 24 * time.Hour

// DeviceLoginResult is a token-login login: a session for the device, and
// the device's re-authentication token when one was asked for.
type DeviceLoginResult struct {
	*LoginResult
	SessionToken string // the session's token, presented to log out
	ReauthToken  string // "" when not asked for
}

// Tenant returns the tenant with id: EINVALID (field tenant_id) when id is
// not a UUID, ENOTFOUND when there is none. Dialects whose routes name the
// tenant answer those as their contract says.
func (a *Auth) Tenant(ctx context.Context, id string) (*Tenant, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, Invalid("tenant_id", "must be a UUID")
	}
	return a.Tenants.GetTenant(ctx, strings.ToLower(id))
}

// TenantForAPIKey returns the tenant an API key belongs to;
// EUNAUTHENTICATED (Field "api_key") when the key is missing, unknown or
// revoked.
func (a *Auth) TenantForAPIKey(ctx context.Context, key string) (*Tenant, error) {
	bad := &Error{Code: EUNAUTHENTICATED, Field: "api_key", Message: "the API key is missing, unknown or revoked"}
	if key == "" {
		return nil, bad
	}
	k, err := a.APIKeys.GetAPIKeyByHash(ctx, HashAPIKey(key))
	if ErrorCode(err) == ENOTFOUND {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if !k.RevokedAt.IsZero() {
		return nil, bad
	}
	t, err := a.Tenants.GetTenant(ctx, k.TenantID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, bad
	}
	return t, err
}

// UserOrganisations loads the organisations the user belongs to, for
// dialects that render them.
func (a *Auth) UserOrganisations(ctx context.Context, u *User) ([]*Organisation, error) {
	return userOrganisations(ctx, a.Organisations, u)
}

func userOrganisations(ctx context.Context, orgs OrganisationReader, u *User) ([]*Organisation, error) {
	out := make([]*Organisation, 0, len(u.OrganisationIDs))
	for _, id := range u.OrganisationIDs {
		o, err := orgs.GetOrganisation(ctx, u.TenantID, id)
		if ErrorCode(err) == ENOTFOUND {
			continue // deleted since the user was read
		} else if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// DeviceLogin is a password login for a named device (token-login). With
// wantReauth it also issues the device's re-authentication token, in the
// session's own write, which replaces any earlier one of the same device:
// a device has one live token, however many logins race.
func (a *Auth) DeviceLogin(ctx context.Context, req LoginRequest, wantReauth bool) (*DeviceLoginResult, error) {
	if wantReauth && req.Device == "" {
		return nil, Invalid("device_name", "is required when a re-authentication token is asked for")
	}
	res, grant, err := a.login(ctx, req, wantReauth)
	if err != nil {
		return nil, err
	}
	out := &DeviceLoginResult{LoginResult: res, SessionToken: a.sessionToken(res.Session)}
	if grant != nil {
		out.ReauthToken = a.Codec.Encode(PrefixReauth, uuid.MustParse(grant.ID), 0)
	}
	return out, nil
}

func (a *Auth) sessionToken(sess *Session) string {
	return a.Codec.Encode(PrefixSession, uuid.MustParse(sess.ID), 0)
}

// TokenLogin opens a new session for the device a re-authentication token
// belongs to. The token comes back unchanged, or, when the tenant rotates
// them, replaced by its successor (the presented one then stops working).
func (a *Auth) TokenLogin(ctx context.Context, tenantID, reauthToken string, client Client) (*DeviceLoginResult, error) {
	client = client.clean()
	id, gen, err := a.Codec.Decode(PrefixReauth, reauthToken)
	invalid := &Error{Code: ETOKENINVALID, Message: "the re-authentication token is invalid, expired or revoked"}
	if err != nil {
		return nil, invalid
	}
	grant, tenant, user, err := a.Sessions.GetSessionWithOwners(ctx, uuid.UUID(id).String())
	if ErrorCode(err) == ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	if grant.Kind != SessionReauth || grant.TenantID != tenantID || int64(gen) != grant.Generation {
		return nil, invalid
	}
	now := a.now()
	pol, err := a.checkLive(grant, tenant, user, now)
	if err != nil {
		return nil, invalid
	}
	if _, err := a.allow(ctx, client, "session", "sess:"+grant.ID, pol.IPLimit, false); err != nil {
		return nil, err
	}
	token := reauthToken
	if tenant.Settings.RotateReauthTokens {
		if err := a.Sessions.AdvanceSession(ctx, grant.ID, grant.Generation, now, nil); err != nil {
			if ErrorCode(err) == ECONFLICT {
				return nil, invalid // a concurrent TokenLogin rotated it first
			}
			return nil, err
		}
		token = a.Codec.Encode(PrefixReauth, uuid.MustParse(grant.ID), uint64(grant.Generation+1))
	}
	sess := &Session{
		ID: NewID(), TenantID: tenant.ID, UserID: user.ID, DeviceName: grant.DeviceName,
		CreatedAt: now, ExpiresAt: now.Add(pol.SessionLifetime), LastSeenAt: now, RotatedAt: now,
		UserAgent: client.UserAgent, Origin: client.Origin, IP: client.IP, Dialect: client.Dialect, AMR: grant.AMR,
	}
	// Conditional on the user as loaded: a disable or password change
	// revokes the grant, and must not be outrun by a session minted from
	// it. Any other change of the user (a login's rehash) is no reason to
	// refuse: when the grant is still live, write again with the user as
	// it is now.
	ev := a.event(EventLoggedIn, tenant.ID, user.ID, sess.ID, now, client.eventData("method", "reauthentication_token"))
	err = a.Sessions.CreateSession(ctx, sess, SessionWrite{Checked: user, Events: []Event{ev}})
	if ErrorCode(err) == ECONFLICT {
		if g, _, fresh, ferr := a.Sessions.GetSessionWithOwners(ctx, grant.ID); ferr == nil && !g.Revoked() && fresh.Status == StatusActive {
			user = fresh
			err = a.Sessions.CreateSession(ctx, sess, SessionWrite{Checked: user, Events: []Event{ev}})
		}
	}
	if ErrorCode(err) == ECONFLICT {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	a.eventsWritten()
	user.LastLoginAt, user.LastSeenAt = now, now
	res, err := a.issue(tenant, user, sess)
	if err != nil {
		return nil, err
	}
	return &DeviceLoginResult{LoginResult: res, SessionToken: a.sessionToken(sess), ReauthToken: token}, nil
}

// DeviceLogout ends the session a session token names and
// revokes its device's re-authentication token.
func (a *Auth) DeviceLogout(ctx context.Context, tenantID, sessionToken string, client Client) error {
	return a.logout(ctx, tenantID, PrefixSession, sessionToken, client)
}
