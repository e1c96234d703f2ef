package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// MechECDSA is the SASL mechanism of device keys: the client sends its
// account, the server 32 random bytes, the client a DER ECDSA P-256
// signature over them (taken as the digest). WeeChat has it built in.
const MechECDSA = "ECDSA-NIST256P-CHALLENGE"

// maxDeviceKeyFile bounds what LoadDeviceKeyFile reads.
const maxDeviceKeyFile = 8192

// GenerateDeviceKey returns a new P-256 private key for a device.
func GenerateDeviceKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate device key: %w", err)
	}
	return k, nil
}

// WriteDeviceKeyFile writes k as one PEM "EC PRIVATE KEY" block (SEC 1,
// named curve prime256v1: the block `openssl ecparam -genkey -name
// prime256v1` writes after its "EC PARAMETERS") to a new file of mode
// 0600. WeeChat reads it with GnuTLS as irc.server.NAME.sasl_key. It never
// overwrites: an existing path is an error.
func WriteDeviceKeyFile(path string, k *ecdsa.PrivateKey) (err error) {
	if k == nil || k.Curve != elliptic.P256() {
		return errors.New("write device key file: not a P-256 key")
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return fmt.Errorf("write device key file: %w", err)
	}
	defer clear(der)
	buf := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	defer clear(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("device key file %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("write device key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write device key file %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("write device key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write device key file %s: %w", path, err)
	}
	return nil
}

// LoadDeviceKeyFile reads a PEM P-256 private key: an "EC PRIVATE KEY"
// block (SEC 1, as WriteDeviceKeyFile and openssl ecparam write it; other
// blocks such as "EC PARAMETERS" are skipped) or an unencrypted PKCS #8
// "PRIVATE KEY". Like LoadKeyFile it refuses a file that is not regular or
// that its group or others may access.
func LoadDeviceKeyFile(path string) (*ecdsa.PrivateKey, error) {
	data, err := readPrivateFile("device key file", path, maxDeviceKeyFile)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	k, err := ParseDeviceKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("device key file %s: %w", path, err)
	}
	return k, nil
}

// ParseDeviceKeyPEM parses the first "EC PRIVATE KEY" or "PRIVATE KEY"
// block of data as a P-256 private key.
func ParseDeviceKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM \"EC PRIVATE KEY\" or \"PRIVATE KEY\" block")
		}
		var k any
		var err error
		switch b.Type {
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		default:
			continue
		}
		clear(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s block: %w", b.Type, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok || ek.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s block: not a P-256 (prime256v1) key", b.Type)
		}
		return ek, nil
	}
}

// DevicePublicKey returns the public key of a device as NickServ DEVICE
// ADD takes it and WeeChat prints it: base64 of the 33-byte compressed
// point.
func DevicePublicKey(pub *ecdsa.PublicKey) (string, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return "", errors.New("device public key: not a P-256 key")
	}
	raw, err := pub.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		return "", fmt.Errorf("device public key: %w", err)
	}
	c := make([]byte, 33)
	c[0] = 2 | raw[64]&1
	copy(c[1:], raw[1:33])
	return base64.StdEncoding.EncodeToString(c), nil
}

// SignDeviceChallenge answers an ECDSA-NIST256P-CHALLENGE challenge: a
// DER signature over the challenge bytes taken as the digest.
func SignDeviceChallenge(k *ecdsa.PrivateKey, challenge []byte) ([]byte, error) {
	if len(challenge) == 0 || len(challenge) > 64 {
		return nil, fmt.Errorf("%s: challenge of %d bytes", MechECDSA, len(challenge))
	}
	sig, err := ecdsa.SignASN1(rand.Reader, k, challenge)
	if err != nil {
		return nil, fmt.Errorf("%s: sign: %w", MechECDSA, err)
	}
	return sig, nil
}
