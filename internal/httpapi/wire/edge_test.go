package wire

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Ensure the dialect's words replace identity's, by code and field first,
// then by code, and that every answer with Retry-After says so.
func TestEdgeMessages(t *testing.T) {
	e := &Edge{Statuses: map[string]int{identity.ETOKENINVALID: 401, identity.ERATELIMITED: 429, identity.EUNAUTHENTICATED: 401},
		Messages: map[string]string{
			identity.ETOKENINVALID + "/session_token": "the APIToken is not a session token this server issued",
			identity.ETOKENINVALID:                    "the token is bad",
		}}
	for _, tc := range []struct {
		err        *identity.Error
		want       string
		retryAfter string
	}{
		{&identity.Error{Code: identity.ETOKENINVALID, Field: "session_token", Message: "the session token is not one this server issued"},
			"the APIToken is not a session token this server issued", ""},
		{&identity.Error{Code: identity.ETOKENINVALID, Field: "reauth", Message: "identity's"}, "the token is bad", ""},
		{&identity.Error{Code: identity.EUNAUTHENTICATED, Message: "the email or password is incorrect"}, "the email or password is incorrect", ""},
		{&identity.Error{Code: identity.ERATELIMITED, Field: "ip", RetryAfter: 1500 * time.Millisecond, Message: "too many requests"},
			"too many requests; retry after the time in Retry-After", "2"},
	} {
		w := httptest.NewRecorder()
		f := e.failure(w, httptest.NewRequest(http.MethodPost, "/", nil), tc.err)
		if f.Message != tc.want || w.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%v: %q (Retry-After %q), want %q (%q)", tc.err, f.Message, w.Header().Get("Retry-After"), tc.want, tc.retryAfter)
		}
	}
}
