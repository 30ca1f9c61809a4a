package queue

import (
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
)

// Partition maps a key (an order id) onto one of n partitions with FNV-1a, so
// every event of one order lands in the same partition and keeps its order.
func Partition(key string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen port %q: %w", p, err)
	}
	if port == 0 {
		port = -1 // nats-server's "random port"
	}
	return host, port, nil
}
