package accountsv3

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
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

// decodeRefresh decodes and refuses what wire.DecodeJSON does.
func TestDecodeRefreshAsDecodeJSON(t *testing.T) {
	for _, ct := range []string{"", "application/json", "text/plain;charset=UTF-8", "application/xml", "nonsense/"} {
		for _, body := range []string{
			`{"refreshToken":"lrt1.AZOx_-y.bWFj"}`, `{"refreshToken":""}`, `{"refreshToken":"a b"}`,
			`{"refreshToken":"a\"}`, `{"refreshToken":"a"}{}`, `{"refreshToken":"a"} `, ` {"refreshToken":"a"}`,
			`{"refreshToken":1}`, `{"refreshToken":"\u00e9"}`, `{"refreshToken":"x"`, `{"refreshToken":"x"}"}`, `{}`, ``,
		} {
			req := func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				if ct != "" {
					r.Header.Set("Content-Type", ct)
				}
				return r
			}
			var got, want RefreshRequest
			gotErr, wantErr := decodeRefresh(req(), &got), wire.DecodeJSON(req(), &want, wire.TextPlain)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Errorf("%q %s: got %v %v, want %v %v", ct, body, deref(got.RefreshToken), gotErr, deref(want.RefreshToken), wantErr)
			}
		}
	}
}
