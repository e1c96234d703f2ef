package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/identity"
)

// importNodes reads a /thorchain/nodes JSON array ("-" for stdin) and
// writes the allowlist file the daemon reads (operators.file, or -out).
func importNodes(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("thorchatd import-nodes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration file (for accounts.hrp, operators.file and operators.statuses)")
	out := fs.String("out", "", "allowlist file to write (default: operators.file from the config)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: thorchatd import-nodes [-config FILE] [-out FILE] NODES.json|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg := config.Default()
	if _, err := os.Stat(*cfgPath); err == nil || *cfgPath != "config.toml" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		cfg = c
	}
	dest := *out
	if dest == "" {
		dest = cfg.Operators.File
	}
	if dest == "" {
		return fmt.Errorf("no output file: set operators.file in the config or pass -out")
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("nodes JSON: %w", err)
		}
		defer f.Close()
		in = f
	}
	res, err := identity.ImportNodes(in, cfg.Accounts.HRP, cfg.Operators.Statuses)
	if err != nil {
		return fmt.Errorf("import nodes: %w", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning:", w.String())
	}
	if err := identity.WriteAllowlistFile(dest, res.Entries); err != nil {
		return fmt.Errorf("write allowlist: %w", err)
	}
	fmt.Fprintf(stdout, "%d of %d nodes kept (%d with other statuses, %d skipped with warnings); wrote %s\n",
		len(res.Entries), res.Nodes, res.OtherStatus, len(res.Warnings), dest)
	fmt.Fprintln(stdout, "send SIGHUP to a running thorchatd to apply it")
	return nil
}
