package accounts

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyTokenHashCost: the hash compared for unknown token IDs has the
// cost real token hashes have, or timing would tell them apart.
func TestDummyTokenHashCost(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyTokenHash))
	if err != nil || cost != tokenCost {
		t.Fatalf("dummy token hash cost %d (%v), want %d", cost, err, tokenCost)
	}
}
