package queue

import (
	"io/fs"
	"log/slog"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fitDisk lowers MaxBytes (and the embedded MaxStore) when the data
// directory's file system cannot hold them: the stream may use at most half
// of what it has now plus the free space, leaving the rest to the store and
// the system. The stream then refuses new messages ("maximum bytes
// exceeded", a 503) while the disk still has room, instead of JetStream
// running the disk full and disabling itself.
func (c *Config) fitDisk(log *slog.Logger) {
	var st unix.Statfs_t
	if err := unix.Statfs(c.Embedded.DataDir, &st); err != nil {
		return
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	room := (free + dirBytes(filepath.Join(c.Embedded.DataDir, StoreDir))) / 2
	if c.MaxBytes <= room {
		return
	}
	log.Warn("queue cap lowered to fit the disk", "configured_bytes", c.MaxBytes, "cap_bytes", room, "free_bytes", free, "dir", c.Embedded.DataDir)
	c.MaxBytes = room
	c.Embedded.MaxStore = room + room/2
}

func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
