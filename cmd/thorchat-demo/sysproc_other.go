//go:build !linux

package main

import "syscall"

// childAttr is empty where there is no parent-death signal: stop the demo
// with Ctrl-C so it stops thorchatd itself.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
