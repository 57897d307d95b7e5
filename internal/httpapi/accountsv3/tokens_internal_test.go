package accountsv3

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/wire"
)

// writeTokens answers what wire.WriteJSON answers, byte for byte.
func TestWriteTokensAsWriteJSON(t *testing.T) {
	for _, tr := range []TokenResponse{
		{AccessToken: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln-_", RefreshToken: "rt.AZOx_-y.bWFj"},
		{AccessToken: "", RefreshToken: ""},
		{AccessToken: `not "a" token <&>`, RefreshToken: "é\n"},
	} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		writeTokens(got, tr)
		wire.WriteJSON(want, http.StatusOK, tr)
		if got.Code != want.Code || got.Body.String() != want.Body.String() || !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Errorf("%+v:\n got %d %v %q\nwant %d %v %q", tr, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
