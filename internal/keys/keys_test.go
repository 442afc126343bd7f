package keys

import "testing"

// The stored form must not change: keys already in the database are
// looked up by it.
func TestHash(t *testing.T) {
	const want = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	if got := Hash("hello"); got != want {
		t.Fatalf("Hash(hello) = %s, want %s", got, want)
	}
}
