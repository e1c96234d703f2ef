package torsvc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	bineed25519 "github.com/cretz/bine/torutil/ed25519"
)

// Files in the key directory, named and formatted as tor's HiddenServiceDir.
const (
	secretKeyFile = "hs_ed25519_secret_key"
	publicKeyFile = "hs_ed25519_public_key"
	hostnameFile  = "hostname"
)

// tor's 32-byte file headers for v3 onion service keys.
var (
	secretKeyHeader = header("== ed25519v1-secret: type0 ==")
	publicKeyHeader = header("== ed25519v1-public: type0 ==")
)

func header(s string) []byte {
	h := make([]byte, 32)
	copy(h, s)
	return h
}

// onionKey is a v3 onion service identity key: the 64-byte expanded ed25519
// secret key tor stores (clamped scalar, then the nonce prefix) and its
// public key.
type onionKey struct {
	expanded [64]byte
	public   [32]byte
}

// serviceID returns the 56-character address without ".onion".
func (k *onionKey) serviceID() string { return serviceIDFromPublic(k.public[:]) }

// addOnionBlob returns the ADD_ONION ED25519-V3 key blob. It is key material:
// never log it.
func (k *onionKey) addOnionBlob() string { return base64.StdEncoding.EncodeToString(k.expanded[:]) }

// serviceIDFromPublic encodes a v3 onion address (rend-spec: base32 of
// pubkey | checksum[:2] | version, checksum = SHA3-256(".onion checksum" |
// pubkey | version)).
func serviceIDFromPublic(pub []byte) string {
	const version = 3
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{version})
	sum := h.Sum(nil)
	raw := make([]byte, 0, 35)
	raw = append(raw, pub...)
	raw = append(raw, sum[:2]...)
	raw = append(raw, version)
	return strings.ToLower(base32.StdEncoding.EncodeToString(raw))
}

// OnionAddressFromKey returns the onion address ("xxxx.onion") of the key in
// keyDir without starting tor, creating the directory (0700) and the key
// (0600, tor's hs_ed25519_secret_key format) if absent. It also writes
// keyDir/hostname. The same keyDir always gives the same address.
func OnionAddressFromKey(keyDir string) (string, error) {
	k, err := loadOrCreateKey(keyDir)
	if err != nil {
		return "", err
	}
	return k.serviceID() + ".onion", nil
}

// loadOrCreateKey loads the key in dir, creating dir and key if absent, and
// makes sure the hostname file matches.
func loadOrCreateKey(dir string) (*onionKey, error) {
	if err := ensurePrivateDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, secretKeyFile)
	k, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = createKey(dir)
	}
	if err != nil {
		return nil, err
	}
	if err := checkPublicKeyFile(dir, k); err != nil {
		return nil, err
	}
	if err := writeHostname(dir, k.serviceID()+".onion"); err != nil {
		return nil, err
	}
	return k, nil
}

// ensurePrivateDir creates dir as 0700 or tightens an existing one (tor
// refuses a HiddenServiceDir that others can read).
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return configErr("tor.key_dir", "create %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return configErr("tor.key_dir", "%w", err)
	}
	if !st.IsDir() {
		return configErr("tor.key_dir", "%s is not a directory", dir)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return configErr("tor.key_dir", "make %s private (0700): %w", dir, err)
		}
	}
	return nil
}

// readKey reads tor's hs_ed25519_secret_key file.
func readKey(path string) (*onionKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() != 96 {
		return nil, configErr("tor.key_dir", "%s: %d bytes, want 96 (tor's v3 onion secret key)", path, st.Size())
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, configErr("tor.key_dir", "make %s private (0600): %w", path, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, configErr("tor.key_dir", "%w", err)
	}
	return parseSecretKey(b, path)
}

// parseSecretKey parses the 96 bytes of a hs_ed25519_secret_key file.
func parseSecretKey(b []byte, name string) (*onionKey, error) {
	if len(b) != 96 || !bytes.Equal(b[:32], secretKeyHeader) {
		return nil, configErr("tor.key_dir", "%s is not a tor v3 onion secret key", name)
	}
	k := &onionKey{}
	copy(k.expanded[:], b[32:])
	// tor stores the scalar already clamped; anything else is corrupt.
	if k.expanded[0]&7 != 0 || k.expanded[31]&0x80 != 0 || k.expanded[31]&0x40 == 0 {
		return nil, configErr("tor.key_dir", "%s holds a malformed ed25519 key", name)
	}
	copy(k.public[:], bineed25519.PrivateKey(k.expanded[:]).PublicKey())
	return k, nil
}

// createKey generates a key and stores it in dir; if another process created
// one meanwhile, that one wins and is returned.
func createKey(dir string) (*onionKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate onion key: %w", err)
	}
	kp := bineed25519.FromCryptoPrivateKey(priv)
	k := &onionKey{}
	copy(k.expanded[:], kp.PrivateKey())
	copy(k.public[:], kp.PublicKey())

	tmp, err := os.CreateTemp(dir, ".secret-*")
	if err != nil {
		return nil, configErr("tor.key_dir", "create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(append([]byte{}, secretKeyHeader...), k.expanded[:]...))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return nil, configErr("tor.key_dir", "write key: %w", err)
	}
	final := filepath.Join(dir, secretKeyFile)
	// link, unlike rename, fails if the key appeared meanwhile: never
	// replace a key.
	if err := os.Link(tmp.Name(), final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(final)
		}
		return nil, configErr("tor.key_dir", "store key: %w", err)
	}
	pub := append(append([]byte{}, publicKeyHeader...), k.public[:]...)
	if err := writeFileAtomic(filepath.Join(dir, publicKeyFile), pub); err != nil {
		return nil, configErr("tor.key_dir", "write public key: %w", err)
	}
	return k, nil
}

// checkPublicKeyFile makes sure a public key file, if present, belongs to k,
// and writes it if absent.
func checkPublicKeyFile(dir string, k *onionKey) error {
	path := filepath.Join(dir, publicKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		pub := append(append([]byte{}, publicKeyHeader...), k.public[:]...)
		if err := writeFileAtomic(path, pub); err != nil {
			return configErr("tor.key_dir", "write public key: %w", err)
		}
		return nil
	}
	if err != nil {
		return configErr("tor.key_dir", "%w", err)
	}
	if len(b) != 64 || !bytes.Equal(b[:32], publicKeyHeader) || !bytes.Equal(b[32:], k.public[:]) {
		return configErr("tor.key_dir", "%s does not match %s", path, secretKeyFile)
	}
	return nil
}

// writeHostname writes "address\n" to dir/hostname unless it already says so.
func writeHostname(dir, address string) error {
	path := filepath.Join(dir, hostnameFile)
	want := address + "\n"
	if b, err := os.ReadFile(path); err == nil && string(b) == want {
		return nil
	}
	if err := writeFileAtomic(path, []byte(want)); err != nil {
		return configErr("tor.key_dir", "write hostname: %w", err)
	}
	return nil
}

// writeFileAtomic writes a 0600 file through a temporary file and rename.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
