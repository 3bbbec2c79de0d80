// Package store is cuttle's object store: bytes, sizes, times and keys.
//
// It knows nothing of HTTP. A [Store] keeps bodies with opaque metadata
// ([Meta]) under a full key string; the key is compared on every lookup, so a
// hash collision can never return a foreign object.
//
// The memory tier ([Memory]) is a ristretto v2 cache whose byte budget is
// squid.conf's cache_mem and whose per-object limit is
// maximum_object_size_in_memory. [Tiered] puts the tiers together; the disk
// tier (cache_dir) takes the slot left for it there.
//
// Package [cuttle/store/storetest] is the conformance suite that every tier
// passes.
package store
