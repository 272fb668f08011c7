package store

import (
	"regexp"
	"strings"
	"testing"
)

// validAuxName accepts exactly the names of the pattern it replaced.
func TestValidAuxNameMatchesItsPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$`)
	names := []string{"", "a", ".a", "-a", "_a", "a.b-c_d", "12D3KooWabc", "rejected.3f2a", "a/b", "a b", "é", "a\x00",
		"a..", strings.Repeat("a", 201), strings.Repeat("a", 202), "A" + strings.Repeat(".", 200)}
	for c := 0; c < 256; c++ {
		names = append(names, string(rune(c))+"x", "x"+string([]byte{byte(c)}))
	}
	for _, n := range names {
		if got, want := validAuxName(n), pattern.MatchString(n); got != want {
			t.Errorf("validAuxName(%q) = %v, the pattern says %v", n, got, want)
		}
	}
}
