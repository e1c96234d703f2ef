package accounts_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

func TestOperPasswordAndBan(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	svc, err := accounts.New(accounts.Config{HRP: "thor", Store: db, Now: func() time.Time { return now }, OperBurst: 10,
		Policy: accounts.Policy{OperPasswords: map[string]string{"admin": string(hash)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, pass string
		want       bool
	}{
		{"admin", "correct horse battery", true},
		{"admin", "wrong", false},
		{"nobody", "correct horse battery", false},
		{"", "", false},
	} {
		who := ircd.Login{Account: "thor1someone", Kind: ircd.LoginKey}
		if got := svc.CheckOperPassword(who, tt.name, tt.pass) == nil; got != tt.want {
			t.Errorf("OPER %q %q = %v", tt.name, tt.pass, got)
		}
	}

	// banning an account refuses its key and revokes its device credentials
	priv := key("banned-one")
	acct := accountOf(t, priv)
	if _, _, err := db.LoginAccount(pub33(priv), acct, now); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NewToken(acct, "bot", 0); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetBanned(acct, true); err != nil {
		t.Fatal(err)
	}
	a, err := db.GetAccount(acct)
	if err != nil || a.Flags&store.FlagBanned == 0 {
		t.Fatalf("not banned: %+v %v", a, err)
	}
	if creds, err := db.Credentials(acct); err != nil || len(creds) != 0 {
		t.Fatalf("credentials survived the ban: %+v, %v", creds, err)
	}
	if err := svc.SetBanned(acct, false); err != nil {
		t.Fatal(err)
	}
	if a, err := db.GetAccount(acct); err != nil || a.Flags&store.FlagBanned != 0 {
		t.Fatalf("still banned: %+v, %v", a, err)
	}
	var ue interface{ UserMessage() string }
	if err := svc.SetBanned("thor1nosuchaccount", true); !errors.As(err, &ue) {
		t.Fatalf("unknown account: %v", err)
	}
}
