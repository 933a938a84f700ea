// Package broker runs an in-process Kafka-protocol broker (franz-go's kfake) for local work and
// the embedded demo. Clients talk to it over TCP like to any Kafka broker.
package broker

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config configures a Broker. The zero value listens on a free loopback port, in memory.
type Config struct {
	// Listen is the address to bind. Default "127.0.0.1:0" (a free port).
	Listen string
	// DataDir keeps topics and committed offsets across restarts; "" keeps them in memory only.
	DataDir string
	// Partitions is the partition count of auto-created topics. Default 4.
	Partitions int
	// Logger; nil means silent.
	Logger *slog.Logger
}

// Broker is a running single-node Kafka-protocol broker.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// Start starts a broker.
func Start(cfg Config) (*Broker, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 4
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", cfg.Listen, err)
	}
	used := false
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.ClusterID("livepulse"),
		// kfake listens once per broker; hand it the socket bound above so the address is exact.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			if used {
				return nil, fmt.Errorf("broker: only one listener")
			}
			used = true
			return ln, nil
		}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(filepath.Clean(cfg.DataDir)))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot start the Kafka broker: %w", err)
	}
	if cfg.Logger != nil {
		cfg.Logger.Info("kafka broker listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	}
	return &Broker{c: c, addr: ln.Addr().String()}, nil
}

// Addr is the bootstrap address, host:port.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker (persisting its state when it has a DataDir).
func (b *Broker) Close() { b.c.Close() }
