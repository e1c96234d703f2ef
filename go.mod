module github.com/thorchat/thorchat

go 1.26.8

require (
	github.com/BurntSushi/toml v1.5.0
	github.com/cretz/bine v0.2.0
	github.com/decred/dcrd/bech32 v1.1.4
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.0
	go.etcd.io/bbolt v1.4.3
	golang.org/x/crypto v0.45.0
	golang.org/x/net v0.47.0
	golang.org/x/time v0.14.0
	gopkg.in/irc.v4 v4.0.0
)

require golang.org/x/sys v0.38.0 // indirect
