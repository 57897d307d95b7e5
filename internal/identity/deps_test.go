package identity_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Ensure the core links no database or Redis driver and no HTTP stack:
// those belong to the packages named for them, and the core is what every
// one of them depends on.
func TestCoreLinksNoDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"net/http", "database/sql", "github.com/redis/", "github.com/jackc/", "modernc.org/"} {
			if (dep == banned || strings.HasPrefix(dep, banned)) && dep != "database/sql/driver" {
				t.Errorf("identity depends on %s", dep)
			}
		}
	}
}
