package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/latchauth/latch/internal/identity"
)

// The decoded-JSON cache answers what json.Unmarshal would, for each
// text, and hands out copies: what a caller changes is not what the next
// one gets.
func TestDecodedJSONCopies(t *testing.T) {
	a := identity.TenantSettings{RefreshGraceSeconds: 5, CORSOrigins: []string{"https://a.example"},
		Migration: &identity.TenantMigration{Dialect: "x", APIKeySealed: []byte{1}}}
	b := a.Clone()
	b.RefreshGraceSeconds = 6
	for range 3 {
		for _, want := range []identity.TenantSettings{a, b} {
			var got identity.TenantSettings
			if err := settingsJSON.decode(JSON(want), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			got.CORSOrigins[0], got.Migration.APIKeySealed[0], got.Migration.Dialect = "changed", 9, "changed"
		}
	}
	var got identity.TenantSettings
	if err := settingsJSON.decode("{not json", &got); err == nil {
		t.Error("bad JSON decoded")
	}
}

// FromJSON's short cuts for "[]" and "{}" give what json.Unmarshal gives.
func TestFromJSONEmpty(t *testing.T) {
	check := func(s string, got, want any) {
		t.Helper()
		if err := FromJSON(s, got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", s, got, want)
		}
	}
	var s1, s2 []string
	check("[]", &s1, &s2)
	var m1, m2 []identity.MetadataItem
	check("[]", &m1, &m2)
	var p1, p2 map[string]any
	check("{}", &p1, &p2)
	q1, q2 := map[string]any{"k": "v"}, map[string]any{"k": "v"}
	check("{}", &q1, &q2)
}
