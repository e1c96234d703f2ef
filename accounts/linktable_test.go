package accounts_test

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/store"
)

// TestLinkedOperatorKeyFromMemory: the operator tag of an account follows
// its linked keys from memory (ircd asks Classify on its event loop): the
// links a new Service finds in the store count at once, and an unlink
// through the Service takes the tag away without a restart.
func TestLinkedOperatorKeyFromMemory(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "thorchat.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first, second := key("linktable-first"), key("linktable-second")
	acct := accountOf(t, first)
	now := time.Now()
	if _, _, err := db.LoginAccount(pub33(first), acct, now); err != nil {
		t.Fatal(err)
	}
	if err := db.LinkKey(acct, pub33(first), pub33(second), accountOf(t, second), 8, now); err != nil {
		t.Fatal(err)
	}
	// only the second key is on the allowlist
	ops, err := identity.ParseAllowlist("thor", []string{hexPub(second)})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := accounts.New(accounts.Config{HRP: "thor", Store: db, Policy: accounts.Policy{Operators: ops}})
	if err != nil {
		t.Fatal(err)
	}
	if l := svc.Classify(acct); l.Class != "operator" {
		t.Fatalf("account with a linked allowlisted key: class %q, want operator", l.Class)
	}
	if _, _, err := svc.UnlinkKey(acct, hex.EncodeToString(pub33(first)), hexPub(second), false); err != nil {
		t.Fatal(err)
	}
	if l := svc.Classify(acct); l.Class != "" {
		t.Fatalf("after the allowlisted key was unlinked: class %q, want none", l.Class)
	}
}
