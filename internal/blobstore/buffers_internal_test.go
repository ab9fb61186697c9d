package blobstore

import "testing"

// TestUploadBuffers: whatever the size, an upload fits the service's part
// limit, and its buffers stay bounded.
func TestUploadBuffers(t *testing.T) {
	for _, c := range []struct {
		b        Backend
		maxParts int64
		maxSize  int64
	}{
		{BackendS3, 10000, 5 << 40},     // S3's largest object: 5 TiB
		{BackendAzure, 50000, 40 << 40}, // (Azure allows 190 TiB, in 4000 MiB blocks)
	} {
		for _, size := range []int64{-1, 0, 1, 5 << 20, 100 << 30, 1 << 40, c.maxSize} {
			part, conc := uploadBuffers(c.b, size)
			if part < 5<<20 || part%(1<<20) != 0 || conc < 1 {
				t.Fatalf("%s, %d bytes: part %d, %d in flight", c.b, size, part, conc)
			}
			if size > 0 && (size+int64(part)-1)/int64(part) > c.maxParts {
				t.Fatalf("%s, %d bytes: %d-byte parts are too many", c.b, size, part)
			}
			if int64(part)*int64(conc) > 1<<30 {
				t.Fatalf("%s, %d bytes: %d MiB of buffers", c.b, size, int64(part)*int64(conc)>>20)
			}
		}
	}
	if part, conc := uploadBuffers(BackendS3, -1); part != 16<<20 || conc != 4 {
		t.Fatalf("S3 stream of unknown length: part %d, %d in flight", part, conc)
	}
	if part, _ := uploadBuffers(BackendLocal, 1<<40); part != 0 {
		t.Fatal("the local backend has no parts")
	}
}
