package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// parseConfigFile reads a YAML config file: one mapping whose keys are the
// LATCH_* variable names (or their _FILE forms) and whose values are
// scalars, or lists of scalars for comma-separated settings:
//
//	LATCH_DB: postgres://latch@db:5432/latch
//	LATCH_SECRET_FILE: /run/secrets/latch_secret
//	LATCH_TRUSTED_PROXIES: [10.0.0.0/8, 192.168.0.0/16]
//
// A key no command knows is an error, so that a typo does not silently
// leave a setting at its default.
func parseConfigFile(path string, b []byte, known []string) (map[string]string, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, usagef("config file %s: %s", path, strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		name := strings.TrimSuffix(k, "_FILE")
		if !slices.Contains(known, name) || name == "LATCH_CONFIG" {
			return nil, usagef("config file %s: unknown setting %s (keys are LATCH_* variable names, as in `latch <command> -h`)", path, k)
		}
		s, err := configScalar(v)
		if err != nil {
			return nil, usagef("config file %s: %s: %v", path, k, err)
		}
		out[k] = s
	}
	return out, nil
}

func configScalar(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, err := configScalar(e)
			if _, nested := e.([]any); err != nil || nested {
				return "", fmt.Errorf("a list holds only plain values")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("must be a plain value or a list of them, not %T", v)
}
