package httpapi

import (
	"net/http"
	"time"
)

// accountTokenJSON is an account token handed to an admin.
type accountTokenJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func handleIssueAccountToken(d Deps, reset bool) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		issue := d.Service.Accounts.IssueVerification
		if reset {
			issue = d.Service.Accounts.IssuePasswordReset
		}
		tok, exp, err := issue(r.Context(), tid(r), r.PathValue("uid"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, accountTokenJSON{tok, exp}, nil
	})
}
