//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package authlogreceiver reads authentication logs (sshd, PAM, sudo, su, account changes; syslog, raw or JSON
// lines) and turns them into security events, detections of brute force, spraying, enumeration and privilege
// abuse, and metrics.
package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"
