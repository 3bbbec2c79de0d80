package httpcache

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cuttle/store"
)

// diskProxy is a proxy whose store is a small memory tier over a real
// disk tier, so that larger objects are disk hits.
func diskProxy(t *testing.T, o *origin, c *clock) (*hfProxy, string) {
	t.Helper()
	dir := t.TempDir()
	disk, err := store.OpenDisk(store.DiskOptions{Dir: dir, MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { disk.Close() })
	<-disk.Ready()
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20, MaxObjectSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	p := hfNewProxy(t, o, c, mem, func(opts *Options) { opts.Store = store.NewTiered(mem, disk) })
	return p, dir
}

// bigBody is a deterministic body of n bytes.
func bigBody(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%07d\n", i)
	}
	return b.String()[:n]
}

// TestDiskHitsAndRevalidation: objects larger than the memory tier's limit
// are served from disk (TCP_HIT), revalidated with their stored validator
// and served again from disk with the refreshed header.
func TestDiskHitsAndRevalidation(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	body := bigBody(200 << 10)
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=10")
		rw.Header().Set("ETag", `"v1"`)
		rw.Header().Set("X-Fetch", fmt.Sprint(n))
		if req.Header.Get("If-None-Match") == `"v1"` {
			rw.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(rw, body)
	})
	p, _ := diskProxy(t, o, c)
	for i := range 2 {
		res, got, _ := p.do(t, get("/big"))
		if res.StatusCode != 200 || got != body {
			t.Fatalf("request %d: status %d, %d bytes; want 200 and the origin's body", i+1, res.StatusCode, len(got))
		}
	}
	c.advance(20 * time.Second)
	res, got, _ := p.do(t, get("/big"))
	if res.StatusCode != 200 || got != body || res.Header.Get("X-Fetch") != "2" {
		t.Fatalf("revalidated: status %d, %d bytes, X-Fetch %q; want 200, the body, the 304's X-Fetch 2", res.StatusCode, len(got), res.Header.Get("X-Fetch"))
	}
	res, got, _ = p.do(t, get("/big"))
	if res.StatusCode != 200 || got != body || res.Header.Get("X-Fetch") != "2" {
		t.Fatalf("after revalidation: status %d, %d bytes, X-Fetch %q", res.StatusCode, len(got), res.Header.Get("X-Fetch"))
	}
	hfWantOrigin(t, o, 2)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_HIT/200", "TCP_REFRESH_UNMODIFIED/200", "TCP_HIT/200")
}

// objectFile returns the one object file under a cache_dir.
func objectFile(t *testing.T, dir string) string {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(dir, "cuttle"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == 16 {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("object files %q, want one", files)
	}
	return files[0]
}

// flip inverts one byte of a file.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestDiskCorruptObject: a stored object with a damaged byte is never
// served. Damage in its first 64 KiB makes it a miss (TCP_SWAPFAIL_MISS);
// damage further in breaks the response off before the bad block, so the
// client sees a truncated message, never a wrong byte. Either way the
// object is removed and fetched again.
func TestDiskCorruptObject(t *testing.T) {
	t.Parallel()
	body := bigBody(300 << 10)
	for _, tt := range []struct {
		name   string
		offset int64 // into the body
	}{
		{"first block", 10},
		{"later block", 200 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, hfStatic("max-age=600", body))
			p, dir := diskProxy(t, o, c)
			p.do(t, get("/big"))
			path := objectFile(t, dir)
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			// The body ends where the trailer (block sums, sum, end magic)
			// begins.
			blocks := int64((len(body) + 65535) / 65536)
			bodyStart := info.Size() - 16 - 8*blocks - int64(len(body))
			flip(t, path, bodyStart+tt.offset)

			conn, err := net.Dial("tcp", p.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, get("/big"))
			res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			got, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case rerr == nil && string(got) != body:
				t.Fatalf("a complete %d-byte body that differs from the origin's was served", len(got))
			case rerr != nil && !strings.HasPrefix(body, string(got)):
				t.Fatalf("a truncated body with wrong bytes was served")
			case tt.offset < 64<<10 && (rerr != nil || string(got) != body):
				t.Fatalf("first-block damage: got %d bytes, err %v; want the origin's body (a miss)", len(got), rerr)
			case tt.offset >= 64<<10 && rerr == nil:
				t.Fatalf("later-block damage: the response was complete; want it broken off")
			}
			res, got2, _ := p.do(t, get("/big"))
			if res.StatusCode != 200 || got2 != body {
				t.Fatalf("after the damage: status %d, %d bytes; want the origin's body", res.StatusCode, len(got2))
			}
			// First-block damage is found before the response starts: the
			// object is fetched again and stored, so the next request is a
			// hit. Later damage aborts the hit; the next request fetches it.
			if tt.offset < 64<<10 {
				hfWantResults(t, p, "TCP_MISS/200", "TCP_SWAPFAIL_MISS/200", "TCP_HIT/200")
			} else {
				hfWantResults(t, p, "TCP_MISS/200", "TCP_HIT_ABORTED/200", "TCP_MISS/200")
			}
			hfWantOrigin(t, o, 2)
		})
	}
}
