package config

import (
	"time"

	"github.com/thorchat/thorchat/ircd"
)

// Default returns the configuration used for every key a file leaves out.
func Default() *Config {
	return &Config{
		Server: Server{
			Name:     "thorchat.local",
			Network:  "ThorChat",
			MOTD:     "Welcome to ThorChat: node operators coordinate here; everyone else may read.",
			DataDir:  "data",
			LogLevel: "info",
		},
		Listen: Listen{
			Onion:     true,
			OnionPort: 6667,
		},
		Limits: Limits{
			Limits:             ircd.DefaultLimits(),
			MaxAccept:          50,
			MaxUnauthenticated: 1000,
			ConnRate:           50,
			ConnBurst:          200,
		},
		Tor: Tor{
			Mode:                "embedded",
			Binary:              "tor",
			DataDir:             "", // derived: <data_dir>/tor
			Control:             "127.0.0.1:9051",
			IntroDoSDefense:     true,
			IntroDoSRatePerSec:  25,
			IntroDoSBurstPerSec: 200,
			PoWDefenses:         true,
			PoWQueueRate:        250,
			PoWQueueBurst:       2500,
			MaxStreams:          8,
			MaxStreamsClose:     true,
			ExportCircuitID:     true,
		},
		Accounts: Accounts{
			HRP:          "thor",
			PubKeyHRP:    "thorpub",
			LoginRate:    2000,
			LoginBurst:   200,
			KeyCache:     10000,
			SASLTimeout:  Duration{30 * time.Second},
			SASLFailures: 3,
			CreateRate:   10,
			CreateBurst:  50,
			ExpireUnused: Duration{30 * 24 * time.Hour},
		},
		Flood: Flood{
			FloodClass:   FloodClass{Rate: 2, Burst: 10, Excess: 40},
			Operators:    FloodClass{Rate: 10, Burst: 40, Excess: 200},
			Unregistered: FloodClass{Rate: 1, Burst: 12, Excess: 24},
		},
		Opers: Opers{
			OperRate:  6,
			OperBurst: 3,
			OperSlots: 1,
		},
		ChanServ: ChanServ{
			MaxPerAccount: 5,
			MinAccountAge: Duration{24 * time.Hour},
			MaxRegistered: 1000,
		},
		Web: Web{
			Enabled:         true,
			OnionPort:       80,
			DefaultChannels: []string{"#thorchat"},
		},
		Metrics: Metrics{
			Enabled:         true,
			DescriptorGrace: Duration{10 * time.Minute},
		},
		Operators: Operators{
			Statuses: []string{"Active", "Standby", "Ready"},
		},
		Whowas: Whowas{
			Length: 1000,
			TTL:    Duration{time.Hour},
		},
		History: History{
			Enabled:       true,
			Expire:        Duration{30 * 24 * time.Hour},
			MaxPerTarget:  100000,
			PrivateExpire: Duration{7 * 24 * time.Hour},
			ReplayLines:   20,
			MaxQuery:      100,
			Queue:         16384,
		},
	}
}
