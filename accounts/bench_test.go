package accounts_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// benchConcurrency is how many connections log in at once.
const benchConcurrency = 64

// BenchmarkLoginReturning measures full logins (TCP connect, CAP, the
// THORCHAT-SECP256K1 exchange with a real signature made and checked,
// registration up to the end of the MOTD) of keys whose accounts exist,
// with a real bbolt file (fsync on), 64 connections at a time.
//
// "recent": the account was seen within store.DefaultLastSeenResolution,
// so the login only reads the store; "stale": every login also writes
// LastSeen (a batched bbolt commit).
func BenchmarkLoginReturning(b *testing.B) {
	for _, tc := range []struct {
		name  string
		stale bool
	}{{"recent", false}, {"stale", true}} {
		b.Run(tc.name, func(b *testing.B) {
			e := startEnv(b, envOptions{})
			keys := benchKeys(b, b.N)
			// create the accounts first, concurrently so bbolt batches them
			err := parallel(len(keys), benchConcurrency, func(i int) error {
				name, err := identity.AccountAddress("thor", keys[i].pub)
				if err != nil {
					return err
				}
				_, _, err = e.db.LoginAccount(keys[i].pub, name, e.clock.Now())
				return err
			})
			if err != nil {
				b.Fatalf("create accounts: %v", err)
			}
			if tc.stale {
				e.clock.Advance(time.Hour)
			}
			runLoginBench(b, e, keys)
		})
	}
}

// BenchmarkLoginFirstTime is BenchmarkLoginReturning with a new key each
// login, so each one creates its account (a batched bbolt commit).
func BenchmarkLoginFirstTime(b *testing.B) {
	e := startEnv(b, envOptions{})
	runLoginBench(b, e, benchKeys(b, b.N))
	if n, err := e.db.CountAccounts(); err != nil || n != b.N {
		b.Fatalf("accounts = %d, %v; want %d", n, err, b.N)
	}
}

// benchKey is a key pair with its public half serialized once.
type benchKey struct {
	priv *secp256k1.PrivateKey
	pub  []byte
}

func benchKeys(b *testing.B, n int) []benchKey {
	b.Helper()
	keys := make([]benchKey, n)
	for i := range keys {
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = benchKey{priv: k, pub: pub33(k)}
	}
	return keys
}

func runLoginBench(b *testing.B, e *env, keys []benchKey) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0 := processCPU()
	err := parallel(len(keys), benchConcurrency, func(i int) error {
		return benchLogin(e, keys[i], fmt.Sprintf("b%d", i))
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(keys))/elapsed.Seconds(), "logins/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		// client and server together: both run in this process
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(keys)), "cpu-µs/login")
	}
}

// parallel runs f(0..n-1) on workers goroutines; a worker stops at its
// first error, and the first error is returned.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("item %d: %w", i, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// benchLogin is one full login by a minimal client: the registration
// lines go out with the mechanism, so the login takes three round trips.
func benchLogin(e *env, k benchKey, nick string) error {
	conn, err := net.DialTimeout("tcp", e.addr, 10*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReaderSize(conn, 4096)
	w := func(s string) error {
		_, err := conn.Write([]byte(s))
		return err
	}
	// readCmd returns the first line whose command is one of cmds.
	readCmd := func(cmds ...string) (cmd, arg string, err error) {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "", "", fmt.Errorf("read: %w", err)
			}
			f := strings.Fields(l)
			if len(f) > 0 && strings.HasPrefix(f[0], ":") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			for _, c := range cmds {
				if f[0] == c {
					if len(f) > 1 {
						arg = f[1]
					}
					return c, arg, nil
				}
			}
		}
	}
	if err := w("CAP LS 302\r\nCAP REQ :sasl\r\nNICK " + nick + "\r\nUSER u 0 * :u\r\nAUTHENTICATE " + sasl.MechSecp256k1 + "\r\n"); err != nil {
		return err
	}
	if _, _, err := readCmd("AUTHENTICATE"); err != nil {
		return err
	}
	// The client half is done by hand with sasl.Message and sasl.Sign
	// rather than sasl.Secp256k1Client, which also verifies its own
	// signature: the client shares the server's two cores here, and its
	// cost is not what is being measured.
	pub := k.pub
	var cnonce [sasl.NonceLen]byte
	if _, err := rand.Read(cnonce[:]); err != nil {
		return err
	}
	first := append(append(append(make([]byte, 0, sasl.ClientFirstLen), sasl.Version), pub...), cnonce[:]...)
	if err := w("AUTHENTICATE " + base64.StdEncoding.EncodeToString(first) + "\r\n"); err != nil {
		return err
	}
	cmd, arg, err := readCmd("AUTHENTICATE", "904", "905")
	if err != nil {
		return err
	}
	if cmd != "AUTHENTICATE" {
		return errors.New("client-first refused: " + cmd)
	}
	ch, err := base64.StdEncoding.DecodeString(arg)
	if err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	if len(ch) != sasl.ChallengeLen {
		return fmt.Errorf("challenge of %d bytes", len(ch))
	}
	msg, err := sasl.Message(e.ep, pub, cnonce[:], ch[1:])
	if err != nil {
		return err
	}
	sig := sasl.Sign(k.priv, msg)
	if err := w("AUTHENTICATE " + base64.StdEncoding.EncodeToString(sig[:]) + "\r\nCAP END\r\n"); err != nil {
		return err
	}
	if cmd, _, err := readCmd("903", "902", "904", "905", "907"); err != nil || cmd != "903" {
		return fmt.Errorf("login: %s %v", cmd, err)
	}
	if cmd, _, err := readCmd("376", "422", "433", "ERROR"); err != nil || (cmd != "376" && cmd != "422") {
		return fmt.Errorf("registration: %s %v", cmd, err)
	}
	return w("QUIT\r\n")
}
