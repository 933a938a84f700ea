// Package idhash hashes the contract's ids (viewers, sessions, devices, networks, buyers, orders)
// to 64 bits. Metrics and detectors key their state by these hashes instead of the ids: a
// fixed-size key keeps maps and sets small and the hot path free of allocations.
//
// The hash must be the same in every process and every run (rows and flags are compared across
// replays and restarts), so it is FNV-1a, whose constants are fixed, followed by the murmur3
// finalizer to spread FNV's weak high bits (a HyperLogLog takes its register index from them).
// Domains keep the same text apart as a session id and as a viewer id. Two different ids
// collide with probability 2⁻⁶⁴: "exact" counts are exact unless that happens.
package idhash

// Domains.
const (
	ID      = 0x9e3779b97f4a7c15 // buyers and orders (ids that never share a set)
	Session = 0xc2b2ae3d27d4eb4f
	Viewer  = 0x165667b19e3779f9
	Device  = 0x27d4eb2f165667c5
	Net     = 0x85ebca77c2b2ae63 // /24 (IPv6 /48) networks
)

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// String returns the 64-bit hash of s in domain.
func String(domain uint64, s string) uint64 {
	h := uint64(fnvOffset64) ^ domain
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return Mix64(h ^ uint64(len(s)))
}

// Mix64 is murmur3's fmix64: every input bit affects every output bit.
func Mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
