package main

import (
	"io"

	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// storeInfo returns what the cache manager's info and storedir pages and
// the metrics report of the store (httpcache.Options.StoreInfo): the
// memory tier (cache_mem, maximum_object_size_in_memory) and each
// cache_dir that opened, with its type, path and size as squid.conf gives
// them. dirs[i] is the Disk of cfg.CacheDirs[i], nil when that cache_dir
// did not open; mem may be nil when there is no memory tier. The returned
// function reads the tiers anew at each call and is safe for concurrent
// use.
func storeInfo(mem *store.Memory, dirs []*store.Disk, cfg *squidconf.Config) func() []httpcache.TierInfo {
	type dirInfo struct {
		disk             *store.Disk
		typ, path        string
		maxBytes, maxObj int64
	}
	// The limits the disks were opened with (cache_dir size, max-size=,
	// maximum_object_size); notes about options were printed at start.
	opts := diskOptions(cfg, io.Discard, nil, nil)
	var opened []dirInfo
	for i, d := range dirs {
		if d == nil || i >= len(cfg.CacheDirs) || i >= len(opts) {
			continue
		}
		cd := cfg.CacheDirs[i]
		opened = append(opened, dirInfo{disk: d, typ: cd.Type, path: cd.Path, maxBytes: opts[i].MaxBytes, maxObj: opts[i].MaxObjectSize})
	}
	return func() []httpcache.TierInfo {
		out := make([]httpcache.TierInfo, 0, 1+len(opened))
		if mem != nil {
			out = append(out, httpcache.TierInfo{
				Tier:          "memory",
				Objects:       int64(mem.Len()),
				Bytes:         mem.Bytes(),
				MaxBytes:      mem.MaxBytes(),
				MaxObjectSize: mem.MaxObjectSize(),
			})
		}
		for _, d := range opened {
			out = append(out, httpcache.TierInfo{
				Tier:          "disk",
				Type:          d.typ,
				Path:          d.path,
				Objects:       int64(d.disk.Len()),
				Bytes:         d.disk.Bytes(),
				MaxBytes:      d.maxBytes,
				MaxObjectSize: d.maxObj,
			})
		}
		return out
	}
}
