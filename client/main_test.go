package client

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// The test binary doubles as a -sign-cmd: re-executed with
// THORCHAT_TEST_SIGNER=<mode>, it acts as a signer for THORCHAT_TEST_KEY.
func TestMain(m *testing.M) {
	if mode := os.Getenv("THORCHAT_TEST_SIGNER"); mode != "" {
		os.Exit(testSigner(mode))
	}
	os.Exit(m.Run())
}

// testSigner implements the sign-cmd contract, badly in some modes.
func testSigner(mode string) int {
	raw, err := hex.DecodeString(os.Getenv("THORCHAT_TEST_KEY"))
	if err != nil || len(raw) != 32 {
		fmt.Fprintln(os.Stderr, "test signer: bad THORCHAT_TEST_KEY")
		return 2
	}
	key := secp256k1.PrivKeyFromBytes(raw)
	pub := key.PubKey().SerializeCompressed()
	if mode == "serve" { // the reference signer, ServeSign
		if err := ServeSign(os.Getenv(EnvSign), os.Stdin, os.Stdout, key, SignPolicy{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	if os.Getenv(EnvSign) == "pubkey" {
		switch mode {
		case "pubfail":
			fmt.Fprintln(os.Stderr, "no device")
			return 1
		case "der-high":
			fmt.Printf("%x\n", key.PubKey().SerializeUncompressed())
		case "bech32":
			fmt.Println(identity.EncodePubKey("thorpub", pub))
		default:
			fmt.Printf("  %x\n\n", pub)
		}
		return 0
	}
	if os.Getenv(EnvSign) != "sign" {
		fmt.Fprintln(os.Stderr, "test signer: THORCHAT_SIGN not set")
		return 2
	}
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	msg, err := hex.DecodeString(strings.TrimSpace(line))
	if err != nil {
		fmt.Fprintln(os.Stderr, "test signer: stdin is not hex")
		return 2
	}
	digest := sasl.Hash(msg)
	if os.Getenv(EnvSignDigest) != hex.EncodeToString(digest[:]) || os.Getenv(EnvSignPubKey) != hex.EncodeToString(pub) {
		fmt.Fprintln(os.Stderr, "test signer: digest or pubkey variable wrong")
		return 2
	}
	switch mode {
	case "good", "bech32":
		sig := sasl.Sign(key, msg)
		fmt.Printf("%x\n", sig)
	case "der-high":
		// DER with s replaced by n-s, wrapped like `xxd -p`.
		r, s := highS(key, digest[:])
		enc := hex.EncodeToString(derSig(r[:], s[:]))
		for len(enc) > 30 {
			fmt.Println(enc[:30])
			enc = enc[30:]
		}
		fmt.Println(enc)
	case "raw-high":
		r, s := highS(key, digest[:])
		fmt.Printf("%x%x\n", r, s)
	case "wrongkey":
		other := secp256k1.PrivKeyFromBytes(append([]byte{}, raw[:31]...))
		sig := sasl.Sign(other, msg)
		fmt.Printf("%x\n", sig)
	case "garbage":
		fmt.Println("hello, world")
	case "fail":
		fmt.Fprintln(os.Stderr, "device locked")
		return 3
	case "flood":
		chunk := strings.Repeat("ab", 4096)
		for range 256 {
			fmt.Print(chunk)
		}
	case "hang":
		time.Sleep(10 * time.Second)
	default:
		fmt.Fprintln(os.Stderr, "test signer: unknown mode", mode)
		return 2
	}
	return 0
}

// highS signs digest and returns r and n-s (a valid, high-S signature).
func highS(key *secp256k1.PrivateKey, digest []byte) (r, s [32]byte) {
	d := ecdsa.Sign(key, digest)
	rs, ss := d.R(), d.S()
	ss.Negate()
	rs.PutBytes(&r)
	ss.PutBytes(&s)
	return r, s
}

// derSig encodes r and s as an ASN.1 DER sequence of two integers, as
// openssl prints them (no low-S rule).
func derSig(r, s []byte) []byte {
	integer := func(b []byte) []byte {
		for len(b) > 1 && b[0] == 0 {
			b = b[1:]
		}
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{0x02, byte(len(b))}, b...)
	}
	body := append(integer(r), integer(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

// signCmd returns a -sign-cmd running this test binary as a signer.
// GORACE drops the race detector's 1 s pause at exit.
func signCmd(t testing.TB, mode string, key *secp256k1.PrivateKey) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("exec env GORACE=atexit_sleep_ms=0 THORCHAT_TEST_SIGNER=%s THORCHAT_TEST_KEY=%x %s", mode, key.Serialize(), shellQuote(exe))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func newKey(t testing.TB) *secp256k1.PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func accountOf(t testing.TB, k *secp256k1.PrivateKey) string {
	t.Helper()
	a, err := identity.AccountAddress("thor", k.PubKey().SerializeCompressed())
	if err != nil {
		t.Fatal(err)
	}
	return a
}
