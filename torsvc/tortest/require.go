package tortest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing tor into a test
// failure instead of a skip (CI sets it to 1).
const RequireEnv = "THORCHAT_REQUIRE_TOR"

// Require skips the test when tor or tor-gencert is not installed, or fails it
// when the environment variable THORCHAT_REQUIRE_TOR is 1.
func Require(t testing.TB) {
	t.Helper()
	if missing := Missing(); missing != "" {
		msg := "tor not installed: apt-get install -y tor (" + missing + " not on PATH)"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg + "; " + RequireEnv + "=1 makes this a failure")
			return
		}
		t.Skip(msg)
	}
}

// Missing returns the name of the first of tor and tor-gencert that is not on
// PATH, or "" when both are.
func Missing() string {
	for _, bin := range []string{"tor", "tor-gencert"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin
		}
	}
	return ""
}
