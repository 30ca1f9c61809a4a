// Package clustertest runs usher scaled out, as separate OS processes on
// 127.0.0.1 random ports: a three-node NATS JetStream cluster (nats-server
// built from the version in go.mod), a private PostgreSQL (its own initdb
// cluster) and usher processes built from cmd/usher, each with its own data
// directory. Its tests drive webhook bursts through the deployment while
// killing processors, NATS nodes and PostgreSQL, and check afterwards that
// every acknowledged webhook was applied exactly once.
package clustertest
