package accountsv3

import (
	"testing"

	"github.com/latchauth/latch/internal/httpapi/wire"
)

// FuzzLoginDecode feeds arbitrary bodies to the login decoder and
// validator: they must never panic, and whatever validates must have the
// required fields.
func FuzzLoginDecode(f *testing.F) {
	for _, s := range []string{
		`{"accountId":"01a20d1d-0ca4-77e6-be21-896b14657679","email":"a@b.co","password":"12345678"}`,
		`{"accountAlias":"acme","email":"a@b.co","password":"12345678","twoFactorCode":"123456","twoFactorRecoveryCode":"x"}`,
		`{"email":5}`, `{"email":null}`, `[]`, `{`, `{"a":{"b":[1,2,{"c":"\u0000"}]}}`, "{\"email\":\"\xff\"}",
		`{"password":"` + "\u00e4\u00e4\u00e4\u00e4" + `"}`, `{"accountId":"` + "\U0001F600" + `"} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req LoginRequest
		if err := wire.Unmarshal(b, &req); err != nil {
			if _, ok := err.(*wire.BodyError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if len(req.Validate()) == 0 && (req.Email == nil || req.Password == nil) {
			t.Fatal("validated without email or password")
		}
	})
}

// FuzzRefreshDecode does the same for the refresh body.
func FuzzRefreshDecode(f *testing.F) {
	for _, s := range []string{`{"refreshToken":"lrt1.AAAA.BBBB"}`, `{"refreshToken":""}`, `{"refreshToken":1}`, `{}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req RefreshRequest
		if err := wire.Unmarshal(b, &req); err != nil {
			return
		}
		if len(req.Validate()) == 0 && (req.RefreshToken == nil || *req.RefreshToken == "") {
			t.Fatal("validated without a token")
		}
	})
}
