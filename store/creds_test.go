package store

import (
	"errors"
	"testing"
	"time"
)

func TestCredentials(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	pub := make([]byte, PubKeyLen)
	pub[0] = 2
	if _, _, err := db.LoginAccount(pub, "thor1owner", now); err != nil {
		t.Fatal(err)
	}
	dev := Credential{Account: "thor1owner", Label: "laptop", Kind: CredDeviceKey, PubKey: []byte{2, 1, 2, 3}, Created: now}
	tok := Credential{Account: "thor1owner", Label: "bot", Kind: CredToken, TokenID: "abcd", Hash: []byte("$2a$hash"), Created: now, Expires: now.Add(time.Hour)}
	tests := []struct {
		name string
		c    Credential
		max  int
		want error
	}{
		{"device", dev, 3, nil},
		{"token", tok, 3, nil},
		{"duplicate label", dev, 3, ErrExists},
		{"full", Credential{Account: "thor1owner", Label: "third", Kind: CredToken, Created: now}, 2, ErrListFull},
		{"no account", Credential{Account: "thor1nobody", Label: "x", Kind: CredToken, Created: now}, 3, ErrNotFound},
		{"bad kind", Credential{Account: "thor1owner", Label: "y", Kind: "password", Created: now}, 3, ErrInvalid},
		{"empty label", Credential{Account: "thor1owner", Kind: CredToken, Created: now}, 3, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.AddCredential(tt.c, tt.max)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	mustClose(t, db)
	db = mustOpen(t, path, Options{Verify: VerifyFull})
	defer mustClose(t, db)
	list, err := db.Credentials("thor1owner")
	if err != nil || len(list) != 2 || list[0].Label != "bot" || list[1].Label != "laptop" {
		t.Fatalf("after reopen: %+v %v", list, err)
	}
	if list[0].Expired(now) || !list[0].Expired(now.Add(time.Hour)) || list[1].Expired(now.Add(1000*time.Hour)) {
		t.Fatal("expiry")
	}
	if err := db.RevokeCredential("thor1owner", "laptop"); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeCredential("thor1owner", "laptop"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if n, err := db.RevokeAllCredentials("thor1owner"); err != nil || n != 1 {
		t.Fatalf("revoke all: %d %v", n, err)
	}
	if list, err := db.Credentials("thor1owner"); err != nil || len(list) != 0 {
		t.Fatalf("left: %+v, %v", list, err)
	}
}
