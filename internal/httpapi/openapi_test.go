package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

// Ensure /openapi.json is a valid OpenAPI 3.1 document (checked by
// libopenapi against the specification's schema) that describes every
// route the server serves, and nothing it does not.
func TestOpenAPI(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	r := env.Do(t, "GET", "/openapi.json", nil)
	if r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	doc, err := libopenapi.NewDocument(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("version %q", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s", se.Reason)
			}
		}
		t.FailNow()
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToLower(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, p := range httpapi.Routes() {
		method, path := httpapi.PatternPath(p)
		served[method+" "+path] = true
		if !documented[method+" "+path] {
			t.Errorf("route %s is not in the OpenAPI document", p)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("OpenAPI documents %s, which is not served", op)
		}
	}
}
