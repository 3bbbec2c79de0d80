package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

func TestStoreInfo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ufs, rock, aufs := filepath.Join(dir, "ufs"), filepath.Join(dir, "rock"), filepath.Join(dir, "aufs")
	conf := fmt.Sprintf(`cache_mem 1 MB
maximum_object_size_in_memory 64 KB
maximum_object_size 2 MB
cache_dir ufs %s 10 4 16
cache_dir rock %s 5 max-size=65536
cache_dir aufs %s 20 4 16
`, ufs, rock, aufs)
	cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: cfg.CacheMem, MaxObjectSize: cfg.MaximumObjectSizeInMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	var disks []*store.Disk
	for i, o := range diskOptions(cfg, io.Discard, nil, nil) {
		if i == 1 {
			disks = append(disks, nil) // this cache_dir did not open
			continue
		}
		d, err := store.OpenDisk(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		<-d.Ready()
		disks = append(disks, d)
	}

	ctx := context.Background()
	body := strings.Repeat("x", 5000)
	meta := store.Meta{Header: []byte("h"), Size: int64(len(body))}
	for _, key := range []string{"http://a/1", "http://a/2"} {
		if err := mem.Put(ctx, key, meta, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	mem.Wait()
	if err := disks[0].Put(ctx, "http://a/1", meta, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}

	got := storeInfo(mem, disks, cfg)()
	want := []httpcache.TierInfo{
		{Tier: "memory", Objects: 2, Bytes: mem.Bytes(), MaxBytes: 1 << 20, MaxObjectSize: 64 << 10},
		{Tier: "disk", Type: "ufs", Path: ufs, Objects: 1, Bytes: disks[0].Bytes(), MaxBytes: 10 << 20, MaxObjectSize: 2 << 20},
		{Tier: "disk", Type: "aufs", Path: aufs, Objects: 0, Bytes: disks[2].Bytes(), MaxBytes: 20 << 20, MaxObjectSize: 2 << 20},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("storeInfo() =\n%+v\nwant\n%+v", got, want)
	}
	if got[0].Bytes <= 2*5000 || got[1].Bytes < 8192 {
		t.Errorf("storeInfo() bytes memory %d, disk %d: want the objects counted", got[0].Bytes, got[1].Bytes)
	}

	// Only a memory tier.
	if got := storeInfo(mem, nil, &squidconf.Config{}); len(got()) != 1 || got()[0].Tier != "memory" {
		t.Errorf("storeInfo(no cache_dir) = %+v, want the memory tier only", got())
	}
}
