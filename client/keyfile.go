package client

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// maxKeyFile bounds what LoadKeyFile reads.
const maxKeyFile = 1024

// readPrivateFile reads a small secret file (at most limit bytes), refusing
// one that is not a regular file or that its group or others may access.
// what names the file in errors ("key file").
func readPrivateFile(what, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("%s %s has mode %04o: its group or others may access it; "+
			"make it private with: chmod 600 %s", what, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if int64(len(data)) > limit {
		clear(data)
		return nil, fmt.Errorf("%s %s is over %d bytes: not a key file", what, path, limit)
	}
	return data, nil
}

// GenerateKey returns a new random secp256k1 private key.
func GenerateKey() (*secp256k1.PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// LoadKeyFile reads a private key written by WriteKeyFile: 64 hex
// characters, white space around them ignored. It refuses a file that
// is not a regular file or that its group or others may access.
func LoadKeyFile(path string) (*secp256k1.PrivateKey, error) {
	data, err := readPrivateFile("key file", path, maxKeyFile)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	raw, err := hex.DecodeString(strings.TrimSpace(string(data)))
	defer clear(raw)
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("key file %s does not hold a private key (64 hex characters)", path)
	}
	var k secp256k1.ModNScalar
	if overflow := k.SetByteSlice(raw); overflow || k.IsZero() {
		return nil, fmt.Errorf("key file %s: not a valid secp256k1 private key", path)
	}
	return secp256k1.NewPrivateKey(&k), nil
}

// WriteKeyFile writes key as 64 hex characters and a newline to a new
// file of mode 0600. It never overwrites: an existing path is an error.
func WriteKeyFile(path string, key *secp256k1.PrivateKey) (err error) {
	if key == nil {
		return errors.New("write key file: no key")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("key file %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write key file %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	raw := key.Serialize()
	defer clear(raw)
	buf := make([]byte, 0, 65)
	buf = hex.AppendEncode(buf, raw)
	buf = append(buf, '\n')
	defer clear(buf)
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return nil
}
