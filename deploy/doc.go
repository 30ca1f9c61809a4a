// Package deploy holds the deployment files (Dockerfile at the repository
// root, compose.yaml, NATS cluster configuration, systemd unit, Prometheus
// configuration) and the tests that check them with the tools this machine
// has: nats-server -t, systemd-analyze verify and a YAML parser.
package deploy
