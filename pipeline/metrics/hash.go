package metrics

// Distinct counting and session keys use 64-bit hashes of ids instead of the ids themselves: a
// fixed-size key keeps maps and sets small and allocation-free. The hash must be the same in every
// process and every run (rows are compared across replays and restarts), so it is FNV-1a, whose
// constants are fixed, followed by the murmur3 finalizer to spread FNV's weak high bits, which
// the HyperLogLog uses for its register index. Two different ids collide with probability 2⁻⁶⁴:
// "exact" counts are exact unless that happens.

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Hash domains: the same string as a session id and as a viewer id must not share a key.
const (
	domainID      = 0x9e3779b97f4a7c15
	domainSession = 0xc2b2ae3d27d4eb4f
	domainViewer  = 0x165667b19e3779f9
)

// hashString returns the 64-bit hash of s in the given domain.
func hashString(domain uint64, s string) uint64 {
	h := uint64(fnvOffset64) ^ domain
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return mix64(h ^ uint64(len(s)))
}

// mix64 is murmur3's fmix64: every input bit affects every output bit.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
