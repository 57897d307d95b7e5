package identity

import (
	"reflect"
	"testing"
)

// fill sets every field reachable from v to a non-zero value, allocating
// pointers and one-element slices and maps on the way.
func fill(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1)
	case reflect.Uint8:
		v.SetUint(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		fill(t, e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i))
		}
	default:
		t.Fatalf("fill: add a case for %s", v.Type())
	}
}

// shared reports the first pointer, slice or map of a that b shares.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(a.Elem(), b.Elem(), path)
	case reflect.Slice, reflect.Map:
		if a.Pointer() == b.Pointer() {
			return path
		}
		if a.Kind() == reflect.Slice {
			for i := range a.Len() {
				if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
					return p
				}
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestTenantSettingsCloneSharesNothing fails when TenantSettings gains a
// pointer, slice or map that Clone does not copy.
func TestTenantSettingsCloneSharesNothing(t *testing.T) {
	var s TenantSettings
	fill(t, reflect.ValueOf(&s).Elem())
	c := s.Clone()
	if !reflect.DeepEqual(c, s) {
		t.Fatalf("the clone differs:\n%+v\n%+v", c, s)
	}
	if p := shared(reflect.ValueOf(s), reflect.ValueOf(c), "TenantSettings"); p != "" {
		t.Errorf("Clone shares %s with the original", p)
	}
}
