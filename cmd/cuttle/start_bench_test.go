package main

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"cuttle/httpcache"
	"cuttle/store"
)

// BenchmarkStartPhases measures, warm, each step serve takes before it
// answers: a cold start pays these plus page faults (see
// testdata/bench/startup for the exec-to-first-response time).
func BenchmarkStartPhases(b *testing.B) {
	dir := b.TempDir()
	conf := filepath.Join(dir, "squid.conf")
	body := "http_port 127.0.0.1:3128 accel defaultsite=example.com\n" +
		"cache_peer 127.0.0.1 parent 8080 0 no-query originserver\n" +
		"http_access allow localhost\nhttp_access deny all\n" +
		"cache_mem 256 MB\n" +
		"cache_dir ufs " + filepath.Join(dir, "cache") + " 1000 16 256\n" +
		"access_log stdio:" + filepath.Join(dir, "access.log") + " squid\n" +
		"cache_log " + filepath.Join(dir, "cache.log") + "\npid_filename none\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	sf := &squidFlags{configFile: conf}
	cfg, err := loadConfig(sf, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	quiet := log.New(io.Discard, "", 0)
	b.Run("loadConfig", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := loadConfig(sf, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("buildOptions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := buildOptions(cfg, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("NewMemory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := store.NewMemory(store.MemoryOptions{MaxBytes: cfg.CacheMem, MaxObjectSize: cfg.MaximumObjectSizeInMemory})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			m.Close()
			b.StartTimer()
		}
	})
	b.Run("openDisks", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dirs, _ := openDisks(cfg, quiet, nil)
			b.StopTimer()
			if dirs == nil {
				b.Fatal("no cache_dir opened")
			}
			dirs.Close()
			b.StartTimer()
		}
	})
	b.Run("newGeneration", func(b *testing.B) {
		s, err := buildOptions(cfg, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: cfg.CacheMem})
		if err != nil {
			b.Fatal(err)
		}
		defer mem.Close()
		p := &process{sf: sf, cf: &cuttleFlags{}, cfg: cfg, cacheLog: quiet,
			stats: httpcache.NewStats(nil), conns: new(httpcache.ConnTable), store: store.NewTiered(mem, nil)}
		b.ReportAllocs()
		for b.Loop() {
			g, err := p.newGeneration(s)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			g.handler.Close()
			b.StartTimer()
		}
		p.closeWriters()
	})
}
