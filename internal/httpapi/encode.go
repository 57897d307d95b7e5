package httpapi

import (
	"net/http"
	"strconv"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

func encode[T any](w http.ResponseWriter, status int, v T) {
	wire.WriteJSON(w, status, v)
}

func decode[T any](r *http.Request) (T, error) {
	var v T
	return v, wire.DecodeJSON(r, &v)
}

func pageOf(r *http.Request) (identity.Page, error) {
	p := identity.Page{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return p, identity.Invalid("limit", "must be a whole number from 1 to 500")
		}
		p.Limit = n
	}
	return p, nil
}
