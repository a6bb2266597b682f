//go:build !linux

package main

import "time"

// selfCPU and processCPU: CPU accounting is Linux-only; elsewhere the
// report leaves it out.
func selfCPU() (time.Duration, bool) { return 0, false }

func processCPU(int) (time.Duration, bool) { return 0, false }
